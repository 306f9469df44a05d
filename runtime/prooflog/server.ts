/**
 * HTTP transport of the log (fastify). Writes: `POST /add` (body = entry bytes) answers `{"index": n}` once the
 * entry is durable. Reads follow C2SP tlog-tiles: `GET /checkpoint`, `GET /tile/<L>/<N>[.p/<W>]`,
 * `GET /tile/entries/<N>[.p/<W>]` (tiles are immutable: a given width of a given tile never changes), plus JSON
 * proofs `GET /proof/inclusion?index=&size=` and `GET /proof/consistency?old=&new=` for clients that do not
 * want to assemble proofs from tiles. Errors are `{error, detail}` with a 4xx status.
 */
import Fastify, { type FastifyInstance } from "fastify";
import { z } from "zod";
import { HttpError, installErrorHandler, parseInput } from "../common/http.js";
import { LogUnavailableError, type TransparencyLog } from "./log.js";
import { toBase64 } from "./rfc6962.js";
import { encodeEntryBundle, parseTilePath, TILE_HEIGHT, TILE_WIDTH, TilePathError } from "./tiles.js";

export interface LogServerOptions {
  log: TransparencyLog;
  /** How often a new checkpoint is signed (only when the tree grew). */
  checkpointIntervalMs: number;
  logger?: boolean;
  /** Close the log (and its store) when the server closes, after the final checkpoint. */
  closeLog?: boolean;
}

const IMMUTABLE = "public, max-age=31536000, immutable";
const decimal = z.string().regex(/^(0|[1-9][0-9]{0,15})$/, "must be a decimal integer").transform(Number);
const inclusionQuery = z.object({ index: decimal, size: decimal });
const consistencyQuery = z.object({ old: decimal, new: decimal });

export async function buildLogServer(opts: LogServerOptions): Promise<FastifyInstance> {
  const { log } = opts;
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: log.maxEntrySize });
  installErrorHandler(app);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  const timer = setInterval(() => {
    log.publishCheckpoint().catch((e: unknown) => app.log.error(e));
  }, opts.checkpointIntervalMs);
  app.addHook("onClose", async () => {
    clearInterval(timer);
    await log.drain();
    await log.publishCheckpoint();
    if (opts.closeLog) await log.close();
  });

  app.post("/add", async (req, reply) => {
    const body = req.body;
    if (!Buffer.isBuffer(body) || body.length === 0) throw new HttpError(400, "empty entry", "POST /add needs the entry bytes as the request body");
    try {
      const r = log.append(body);
      await r.durable; // acknowledge only what is durable
      return reply.send(r.duplicate ? { index: r.index, duplicate: true } : { index: r.index });
    } catch (e) {
      if (e instanceof LogUnavailableError) throw new HttpError(503, "log unavailable", e.message);
      if (e instanceof RangeError) throw new HttpError(413, "entry too large", e.message);
      throw e;
    }
  });

  app.get("/checkpoint", async (_req, reply) => {
    return reply.header("content-type", "text/plain; charset=utf-8").header("cache-control", "no-cache").send(log.checkpoint().note);
  });

  app.get("/tile/*", async (req, reply) => {
    let ref;
    try {
      ref = parseTilePath((req.params as { "*": string })["*"]);
    } catch (e) {
      if (e instanceof TilePathError) throw new HttpError(400, "bad tile path", e.message);
      throw e;
    }
    const size = log.size;
    const from = ref.index * TILE_WIDTH;
    const to = from + ref.width;
    let body: Uint8Array;
    if (ref.level === "entries") {
      if (to > size) throw new HttpError(404, "no such entry bundle", `entries [${from}, ${to}) are beyond the tree size ${size}`);
      body = encodeEntryBundle(await log.readEntries(from, to));
    } else {
      const have = log.tree.nodesAt(ref.level * TILE_HEIGHT);
      if (to > have) throw new HttpError(404, "no such tile", `level ${ref.level} has ${have} hashes; tile needs [${from}, ${to})`);
      body = log.tree.nodes(ref.level * TILE_HEIGHT, from, to);
    }
    return reply.header("content-type", "application/octet-stream").header("cache-control", IMMUTABLE).send(Buffer.from(body));
  });

  app.get("/proof/inclusion", async (req) => {
    const q = parseInput(inclusionQuery, req.query, "query");
    if (q.size > log.size) throw new HttpError(400, "size beyond tree", `size ${q.size} exceeds the tree size ${log.size}`);
    if (q.index >= q.size) throw new HttpError(400, "index beyond size", `index ${q.index} must be below size ${q.size}`);
    const proof = log.tree.inclusionProof(q.index, q.size);
    return { index: q.index, size: q.size, leafHash: toBase64(log.tree.leafHash(q.index)), proof: proof.map(toBase64) };
  });

  app.get("/proof/consistency", async (req) => {
    const q = parseInput(consistencyQuery, req.query, "query");
    if (q.new > log.size) throw new HttpError(400, "size beyond tree", `new size ${q.new} exceeds the tree size ${log.size}`);
    if (q.old === 0 || q.old > q.new) throw new HttpError(400, "bad sizes", `need 0 < old (${q.old}) ≤ new (${q.new})`);
    return { old: q.old, new: q.new, proof: log.tree.consistencyProof(q.old, q.new).map(toBase64) };
  });

  return app;
}
