/**
 * tlog-witness over HTTP: `POST /add-checkpoint` on the witness (routes for the service kit, see
 * service.ts), and the log-side client that asks witnesses to cosign a new checkpoint. Status codes are the
 * protocol's: 404 unknown origin, 403 bad log signature, 400 malformed, 409 stale old size (body: the
 * witness's size, `text/x.tlog.size`), 422 bad proof, a size-0 checkpoint without the empty root, or a second
 * root for a cosigned size. Also `POST /sign-subtree` and the monitoring read `GET /<hex SHA-256 of origin>/
 * checkpoint`. The routes are public at the transport: the protocol authenticates the log by its signature.
 */
import type { FastifyInstance } from "fastify";
import type { Hash } from "../rfc6962.js";
import { formatAddCheckpoint, parseAddCheckpoint, parseSignSubtree, WitnessError, type Witness } from "./witness.js";

/** A request is "old N", at most 63 proof hashes and a checkpoint: 64 KiB is generous. */
const MAX_REQUEST_BYTES = 64 * 1024;

export function witnessRoutes(app: FastifyInstance, witness: Witness): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "string" }, (_req, body, done) => done(null, body));
  app.post("/add-checkpoint", { bodyLimit: MAX_REQUEST_BYTES, config: { auth: "public" } }, async (req, reply) => {
    try {
      const lines = await witness.addCheckpoint(parseAddCheckpoint(String(req.body ?? "")));
      return reply.header("content-type", "text/plain; charset=utf-8").send(lines);
    } catch (e) {
      if (!(e instanceof WitnessError)) throw e;
      if (e.status === 409 && e.knownSize !== undefined) return reply.status(409).header("content-type", "text/x.tlog.size").send(`${e.knownSize}\n`);
      return reply.status(e.status).header("content-type", "text/plain; charset=utf-8").send(`${e.message}\n`);
    }
  });
  app.post("/sign-subtree", { bodyLimit: MAX_REQUEST_BYTES, config: { auth: "public" } }, async (req, reply) => {
    try {
      const lines = await witness.signSubtree(parseSignSubtree(String(req.body ?? "")));
      return reply.header("content-type", "text/plain; charset=utf-8").send(lines);
    } catch (e) {
      if (!(e instanceof WitnessError)) throw e;
      return reply.status(e.status).header("content-type", "text/plain; charset=utf-8").send(`${e.message}\n`);
    }
  });
  // Monitoring (C2SP tlog-witness): the latest cosigned checkpoint per log, by the hex SHA-256 of its origin.
  app.get("/:originHash/checkpoint", { config: { auth: "public" } }, async (req, reply) => {
    const { originHash } = req.params as { originHash: string };
    if (!/^[0-9a-f]{64}$/.test(originHash)) return reply.status(404).type("text/plain; charset=utf-8").send("not a lowercase hex SHA-256 origin hash\n");
    const note = await witness.latest(originHash);
    if (note === null) return reply.status(404).type("text/plain; charset=utf-8").send("this witness has not cosigned a checkpoint of that log\n");
    return reply.type("text/plain; charset=utf-8").header("cache-control", "no-cache").send(note);
  });
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
export async function requestCosignature(witnessUrl: string, oldSize: number, proof: readonly Hash[], note: string, signal?: AbortSignal): Promise<string> {
  let res: Response;
  let text: string;
  try {
    res = await fetch(`${witnessUrl.replace(/\/+$/, "")}/add-checkpoint`, { method: "POST", body: formatAddCheckpoint(oldSize, proof, note), signal });
    text = await res.text();
  } catch (e) {
    // fetch rejects with a DOMException when the signal fires: its name is the platform's type tag.
    // eslint-disable-next-line no-restricted-syntax -- DOMException kinds have no classes of their own
    if (e instanceof DOMException && (e.name === "TimeoutError" || e.name === "AbortError")) throw new Error(`witness ${witnessUrl} did not answer in time`, { cause: e });
    throw new Error(`witness ${witnessUrl} unreachable: ${String((e as Error).cause ?? (e as Error).message)}`, { cause: e });
  }
  if (res.ok) return text;
  const known = res.status === 409 && res.headers.get("content-type")?.startsWith("text/x.tlog.size") ? Number(text.trim()) : undefined;
  throw new WitnessRefusal(res.status, `witness ${witnessUrl} refused (HTTP ${res.status}): ${text.trim()}`, known);
}
