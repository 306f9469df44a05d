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
import { trackRoutes } from "../common/route-table.js";
import { LogUnavailableError, type TransparencyLog } from "./log.js";
import { toBase64 } from "./rfc6962.js";
import { encodeEntryBundle, parseTilePath, TILE_WIDTH, TilePathError } from "./tiles.js";
import { CorruptStoreError } from "./storage/journal.js";
import { promisify } from "node:util";
import { gzip } from "node:zlib";

const gz = promisify(gzip);

export interface LogServerOptions {
  log: TransparencyLog;
  /** How often a new checkpoint is signed (only when the tree grew). */
  checkpointIntervalMs: number;
  logger?: boolean;
  /** Close the log (and its store) when the server closes, after the final checkpoint. */
  closeLog?: boolean;
  /**
   * Re-sign the checkpoint at least this often even when the log is idle (ms; 0: only when it grows), so that
   * witnesses and monitors can tell a live idle log from a frozen one.
   */
  republishIntervalMs?: number;
  /** C2SP tlog-tiles pruning: full tiles and bundles whose end index is ≤ this are refused (404). */
  minIndex?: number;
  /** Sign a final checkpoint on close (default true); off when witnesses cosign, so shutdown never waits on them. */
  publishOnClose?: boolean;
  /** Runs first when the server closes (e.g. abort requests in flight to witnesses). */
  beforeClose?: () => void;
}

const IMMUTABLE = "public, max-age=31536000, immutable";
const decimal = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,15})$/, "must be a decimal integer")
  .transform(Number);
const inclusionQuery = z.object({ index: decimal, size: decimal });
const consistencyQuery = z.object({ old: decimal, new: decimal });

export async function buildLogServer(opts: LogServerOptions): Promise<FastifyInstance> {
  const { log } = opts;
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: log.maxEntrySize });
  trackRoutes(app);
  installErrorHandler(app);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  let lastSigned = Date.now();
  let inFlight = false;
  const timer = setInterval(() => {
    if (inFlight) return; // never queue publications behind a slow witness round
    inFlight = true;
    const force = (opts.republishIntervalMs ?? 0) > 0 && Date.now() - lastSigned >= opts.republishIntervalMs!;
    let before = "";
    try {
      before = log.checkpoint().note;
    } catch {
      // none published yet
    }
    log
      .publishCheckpoint(force)
      .then((note) => {
        if (note !== before) lastSigned = Date.now();
      })
      .catch((e: unknown) => app.log.error(e))
      .finally(() => (inFlight = false));
  }, opts.checkpointIntervalMs);
  timer.unref();
  app.addHook("onClose", async () => {
    clearInterval(timer);
    opts.beforeClose?.();
    await log.drain();
    if (!log.failed && opts.publishOnClose !== false) await log.publishCheckpoint().catch(() => undefined);
    if (opts.closeLog) await log.close();
  });

  app.post("/add", async (req, reply) => {
    const body = req.body;
    if (!Buffer.isBuffer(body) || body.length === 0) throw new HttpError(400, "empty entry", "POST /add needs the entry bytes as the request body");
    try {
      const r = await log.submit(body);
      await r.durable; // acknowledge only what is durable
      return reply.send(r.duplicate ? { index: r.index, duplicate: true } : { index: r.index });
    } catch (e) {
      if (e instanceof LogUnavailableError) throw new HttpError(503, "log unavailable", e.message);
      if (e instanceof RangeError) throw new HttpError(413, "entry too large", e.message);
      throw e;
    }
  });

  app.get("/checkpoint", async (_req, reply) => {
    let note: string;
    try {
      note = log.checkpoint().note;
    } catch (e) {
      if (e instanceof LogUnavailableError) throw new HttpError(503, "no checkpoint yet", e.message);
      throw e;
    }
    return reply.header("content-type", "text/plain; charset=utf-8").header("cache-control", "no-cache").send(note);
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
    const unit = ref.level === "entries" ? 1 : TILE_WIDTH ** ref.level;
    const end = (ref.index * TILE_WIDTH + ref.width) * unit;
    if (end > size) throw new HttpError(404, ref.level === "entries" ? "no such entry bundle" : "no such tile", `${req.url} needs ${end} entries; the tree has ${size}`);
    if (ref.width === TILE_WIDTH && end <= (opts.minIndex ?? 0)) throw new HttpError(404, "pruned", `${req.url} ends at ${end}, at or below the log's minimum index ${opts.minIndex}`);
    try {
      if (ref.level === "entries") {
        const body = encodeEntryBundle(await log.tiles.bundle(ref.index, ref.width));
        // tlog-tiles: bundles SHOULD be compressed at the HTTP layer; gzip when the client takes it.
        const gzipOk = /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
        reply.header("content-type", "application/octet-stream").header("cache-control", IMMUTABLE);
        return gzipOk ? reply.header("content-encoding", "gzip").send(await gz(body)) : reply.send(body);
      }
      const body = await log.tiles.tile(ref.level, ref.index, ref.width);
      return reply.header("content-type", "application/octet-stream").header("cache-control", IMMUTABLE).send(Buffer.from(body));
    } catch (e) {
      if (e instanceof CorruptStoreError) throw new HttpError(500, "store corrupt", e.message);
      throw e;
    }
  });

  app.get("/proof/inclusion", async (req) => {
    const q = parseInput(inclusionQuery, req.query, "query");
    if (q.size > log.size) throw new HttpError(400, "size beyond tree", `size ${q.size} exceeds the tree size ${log.size}`);
    if (q.index >= q.size) throw new HttpError(400, "index beyond size", `index ${q.index} must be below size ${q.size}`);
    const proof = await log.inclusionProof(q.index, q.size);
    const [leaf] = await log.tiles.run(q.index + 1, (read) => [read(0, q.index)]);
    return { index: q.index, size: q.size, leafHash: toBase64(leaf!), proof: proof.map(toBase64) };
  });

  app.get("/proof/consistency", async (req) => {
    const q = parseInput(consistencyQuery, req.query, "query");
    if (q.new > log.size) throw new HttpError(400, "size beyond tree", `new size ${q.new} exceeds the tree size ${log.size}`);
    if (q.old === 0 || q.old > q.new) throw new HttpError(400, "bad sizes", `need 0 < old (${q.old}) ≤ new (${q.new})`);
    return { old: q.old, new: q.new, proof: (await log.consistencyProof(q.old, q.new)).map(toBase64) };
  });

  return app;
}
