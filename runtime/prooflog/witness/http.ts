/**
 * tlog-witness over HTTP: `POST /add-checkpoint` on the witness (fastify), and the log-side client that asks
 * witnesses to cosign a new checkpoint. Status codes are the protocol's: 404 unknown origin, 403 bad log
 * signature, 400 malformed, 409 stale old size (body: the witness's size, `text/x.tlog.size`), 422 bad proof.
 */
import Fastify, { type FastifyInstance } from "fastify";
import type { Hash } from "../rfc6962.js";
import { formatAddCheckpoint, parseAddCheckpoint, WitnessError, type Witness } from "./witness.js";

export async function buildWitnessServer(witness: Witness): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "string" }, (_req, body, done) => done(null, body));
  app.post("/add-checkpoint", async (req, reply) => {
    try {
      const lines = await witness.addCheckpoint(parseAddCheckpoint(String(req.body ?? "")));
      return reply.header("content-type", "text/plain; charset=utf-8").send(lines);
    } catch (e) {
      if (!(e instanceof WitnessError)) throw e;
      if (e.status === 409 && e.knownSize !== undefined) return reply.status(409).header("content-type", "text/x.tlog.size").send(`${e.knownSize}\n`);
      return reply.status(e.status).header("content-type", "text/plain; charset=utf-8").send(`${e.message}\n`);
    }
  });
  return app;
}

export class WitnessRefusal extends Error {
  override name = "WitnessRefusal";
  constructor(
    readonly status: number,
    message: string,
    readonly knownSize?: number,
  ) {
    super(message);
  }
}

/** Ask a witness to cosign `note`, proving consistency from `oldSize`; resolves with its signature lines. */
export async function requestCosignature(witnessUrl: string, oldSize: number, proof: readonly Hash[], note: string): Promise<string> {
  const res = await fetch(`${witnessUrl.replace(/\/+$/, "")}/add-checkpoint`, { method: "POST", body: formatAddCheckpoint(oldSize, proof, note) });
  const text = await res.text();
  if (res.ok) return text;
  const known = res.status === 409 && res.headers.get("content-type")?.startsWith("text/x.tlog.size") ? Number(text.trim()) : undefined;
  throw new WitnessRefusal(res.status, `witness ${witnessUrl} refused (HTTP ${res.status}): ${text.trim()}`, known);
}
