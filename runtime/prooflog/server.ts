/**
 * HTTP routes of the log, registered on the service kit's app (serve.ts). Writes: `POST /add` (body = entry bytes)
 * answers `{"index": n}` once the entry is durable. Reads follow C2SP tlog-tiles: `GET /checkpoint`,
 * `GET /tile/<L>/<N>[.p/<W>]`, `GET /tile/entries/<N>[.p/<W>]` (tiles are immutable: a given width of a given tile
 * never changes), plus JSON proofs `GET /proof/inclusion?index=&size=`, `GET /proof/inclusion-batch?indices=i,j,…&size=`
 * (one multi-leaf proof with shared paths compressed, proof/batch.ts) and `GET /proof/consistency?old=&new=` for
 * clients that do not want to assemble proofs from tiles. Errors are the kit's `{error, detail}` with a 4xx status.
 * Reads are public: entries and proofs are public by design. Appends are the mesh's rule (model/security/routes.ts)
 * and, with `submitters`, the log's own: `POST /add` only from those SPIFFE IDs (the verified credential; no
 * credential 401, another ID 403), or — where a submitter is also named by a JWT scope (no mesh: `meridian local`) —
 * a verified bearer token carrying that scope, as that submitter; and an entry claiming an actor only as an audit
 * event naming one its submitter may name (submitters.ts: 403 naming both). Without `submitters`, anyone who reaches
 * the route may append anything.
 *
 * CheckpointPublisher signs checkpoints on an interval (and re-signs an idle log's) once the service is bound, and
 * on close drains the log and signs a final checkpoint.
 */
import type { FastifyInstance, FastifyReply } from "fastify";
import { z } from "zod";
import type { Clock } from "../common/clock.js";
import { CONSISTENCY_HEADER, consistencyTokenOf, HttpError, parseInput, type RouteAuth } from "../kit/index.js";
import { LogUnavailableError, type Appended, type TransparencyLog } from "./log.js";
import { toBase64 } from "./rfc6962.js";
import { encodeEntryBundle, parseTilePath, TILE_WIDTH, TilePathError } from "./tiles.js";
import type { AppendTokens } from "./tokens.js";
import { CorruptStoreError } from "./storage/journal.js";
import { MIN_INDEX_HEADER, PrunedError } from "./errors.js";
import { parseSpiffeId } from "../identity/index.js";
import { entryRefusal, submitterOf, type Submitter } from "./submitters.js";
import { promisify } from "node:util";
import { gzip } from "node:zlib";

const gz = promisify(gzip);

export interface PublisherOptions {
  /** How often a new checkpoint is signed (only when the tree grew). */
  intervalMs: number;
  /**
   * Re-sign the checkpoint at least this often even when the log is idle (ms; 0: only when it grows), so that
   * witnesses and monitors can tell a live idle log from a frozen one.
   */
  republishIntervalMs: number;
  clock: Clock;
  onError(e: unknown): void;
}

/** The publication loop: one round at a time (never queued behind a slow witness round). */
export class CheckpointPublisher {
  private timer: NodeJS.Timeout | undefined;
  private lastSigned: number;
  private inFlight = false;

  constructor(
    private readonly log: TransparencyLog,
    private readonly o: PublisherOptions,
  ) {
    this.lastSigned = o.clock.now();
  }

  start(): void {
    this.timer = setInterval(() => this.round(), this.o.intervalMs);
    this.timer.unref();
  }

  private round(): void {
    if (this.inFlight) return;
    this.inFlight = true;
    const force = this.o.republishIntervalMs > 0 && this.o.clock.now() - this.lastSigned >= this.o.republishIntervalMs;
    let before = "";
    try {
      before = this.log.checkpoint().note;
    } catch {
      // none published yet
    }
    this.log
      .publishCheckpoint(force)
      .then((note) => {
        if (note !== before) this.lastSigned = this.o.clock.now();
      })
      .catch((e: unknown) => this.o.onError(e))
      .finally(() => (this.inFlight = false));
  }

  /** Stop the loop, let appends in flight finish, and (unless `publish` is false) sign a final checkpoint. */
  async close(publish: boolean): Promise<void> {
    clearInterval(this.timer);
    await this.log.drain();
    if (!this.log.failed && publish) await this.log.publishCheckpoint().catch(() => undefined);
  }
}

const IMMUTABLE = "public, max-age=31536000, immutable";
const JSON_TYPE = "application/json; charset=utf-8";
const decimal = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,15})$/, "must be a decimal integer")
  .transform(Number);
const inclusionQuery = z.object({ index: decimal, size: decimal });
const consistencyQuery = z.object({ old: decimal, new: decimal });
/** A batch is answered in one request; past this many leaves, ask in several. */
const MAX_BATCH_LEAVES = 1024;
const batchQuery = z.object({
  indices: z
    .string()
    .regex(/^(0|[1-9][0-9]{0,15})(,(0|[1-9][0-9]{0,15}))*$/, "must be comma-separated decimal indices")
    .transform((s) => s.split(",").map(Number))
    .refine((a) => a.length <= MAX_BATCH_LEAVES, `at most ${MAX_BATCH_LEAVES} indices per request`),
  size: decimal,
});

/** The log's routes, on an encapsulated plugin of the kit's app (its content-type parsers stay here). */
export interface LogRouteOptions {
  minIndex: number;
  /** Consistency tokens (tokens.ts): `POST /add` answers one; `GET /checkpoint` with one waits up to `tokenWaitMs` to cover it. */
  tokens?: AppendTokens;
  tokenWaitMs?: number;
  /** Who may append, by verified SPIFFE ID (submitters.ts); absent: anyone who reaches the route. */
  submitters?: readonly Submitter[];
}

/** Who the kit lets reach `POST /add`: the submitters' SPIFFE IDs, or also (no mesh) a token with one of their scopes. */
function submittersAuth(submitters: readonly Submitter[]): RouteAuth {
  const peers: RouteAuth = { spiffe: submitters.map((s) => s.spiffe) };
  const scopes = submitters.flatMap((s) => (s.scope === undefined ? [] : [{ scope: s.scope }]));
  return scopes.length ? { anyOf: [peers, ...scopes] } : peers;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function logRoutes(app: FastifyInstance, log: TransparencyLog, o: LogRouteOptions): void {
  const pub = { config: { auth: "public" as const } };
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  const refusal = (e: unknown): unknown => {
    if (e instanceof LogUnavailableError) return new HttpError(503, "log unavailable", e.message);
    if (e instanceof RangeError) return new HttpError(413, "entry too large", e.message);
    return e;
  };
  const refuse = (reply: FastifyReply, e: unknown): void => void reply.send(refusal(e));
  const answer = (reply: FastifyReply, r: Appended): void => {
    try {
      if (o.tokens) reply.header(CONSISTENCY_HEADER, o.tokens.issue(r.index + 1));
    } catch (e) {
      return refuse(reply, e);
    }
    // The answer written as text: two shapes, no serializer to look up or run per request.
    reply.header("content-type", JSON_TYPE).send(r.duplicate ? `{"index":${r.index},"duplicate":true}` : `{"index":${r.index}}`);
  };
  // Acknowledge only what is durable.
  const whenDurable = (reply: FastifyReply, r: Appended): void =>
    void r.durable.then(
      () => answer(reply, r),
      (e: unknown) => refuse(reply, e),
    );
  // Not an async handler: the common append is answered from the batch's promise alone, with no promise, await
  // or thenable wrapping of its own per request (fastify sends an error passed to reply.send through the kit's
  // handler). The helpers above are made once: per request only the two reactions to the batch's promise are
  // closures (a named closure per request also costs a defineProperty where the loader keeps names, as tsx does).
  // With submitters, the kit admits only their verified SPIFFE IDs (401 without a credential, 403 another ID), or
  // where some are also named by a JWT scope (no mesh: meridian local), a bearer token carrying one of those scopes.
  const submitters = o.submitters?.map((s) => ({ ...s, spiffe: parseSpiffeId(s.spiffe).uri, actors: s.actors ?? "self" }));
  const addAuth: { auth: RouteAuth } = submitters ? { auth: submittersAuth(submitters) } : pub.config;
  app.post("/add", { config: addAuth, bodyLimit: log.maxEntrySize }, (req, reply) => {
    const body = req.body;
    if (!Buffer.isBuffer(body) || body.length === 0) throw new HttpError(400, "empty entry", "POST /add needs the entry bytes as the request body");
    if (submitters) {
      const found = submitterOf(req.identity, submitters);
      if ("refusal" in found) throw new HttpError(found.refusal.status, found.refusal.error, found.refusal.detail);
      const refused = entryRefusal(body, found.submitter.spiffe, found.submitter.actors);
      if (refused) throw new HttpError(refused.status, refused.error, refused.detail);
    }
    let s;
    try {
      s = log.submitNow(body);
    } catch (e) {
      throw refusal(e);
    }
    if (s instanceof Promise)
      s.then(
        (r) => whenDurable(reply, r),
        (e: unknown) => refuse(reply, e),
      );
    else whenDurable(reply, s);
  });

  let unavailable = "";
  const published = () => {
    try {
      return log.checkpoint();
    } catch (e) {
      if (!(e instanceof LogUnavailableError)) throw e;
      unavailable = e.message;
      return null;
    }
  };
  app.get("/checkpoint", pub, async (req, reply) => {
    const token = o.tokens ? consistencyTokenOf(req) : undefined;
    // Read-your-writes: with a token, only a checkpoint covering every entry acknowledged at or before it.
    const needs = token === undefined ? 0 : o.tokens!.required(token);
    const waitMs = o.tokenWaitMs ?? 5000;
    let cp = published();
    for (const start = Date.now(); token !== undefined && (cp === null || cp.checkpoint.size < needs) && Date.now() - start < waitMs; cp = published()) await sleep(10);
    if (cp === null) throw new HttpError(503, "no checkpoint yet", unavailable);
    if (cp.checkpoint.size < needs)
      throw new HttpError(
        503,
        "checkpoint behind token",
        `the consistency token needs a checkpoint of at least ${needs} entries; the latest published covers ${cp.checkpoint.size} (waited ${waitMs} ms): retry`,
      );
    const note = cp.note;
    return reply.header("content-type", "text/plain; charset=utf-8").header("cache-control", "no-cache").send(note);
  });

  app.get("/tile/*", pub, async (req, reply) => {
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
    const minIndex = Math.max(o.minIndex, log.prunedTo);
    try {
      if (ref.width === TILE_WIDTH && end <= minIndex) throw new PrunedError(`tile/${(req.params as { "*": string })["*"]}`, end, minIndex);
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
      if (e instanceof PrunedError) throw new HttpError(404, "pruned", e.message, { [MIN_INDEX_HEADER]: String(e.minIndex) }); // the library's error for the same thing
      if (e instanceof CorruptStoreError) throw new HttpError(500, "store corrupt", e.message);
      throw e;
    }
  });

  app.get("/proof/inclusion", pub, async (req) => {
    const q = parseInput(inclusionQuery, req.query, "query");
    if (q.size > log.size) throw new HttpError(400, "size beyond tree", `size ${q.size} exceeds the tree size ${log.size}`);
    if (q.index >= q.size) throw new HttpError(400, "index beyond size", `index ${q.index} must be below size ${q.size}`);
    const proof = await log.inclusionProof(q.index, q.size);
    const [leaf] = await log.tiles.run(q.index + 1, (read) => [read(0, q.index)]);
    return { index: q.index, size: q.size, leafHash: toBase64(leaf!), proof: proof.map(toBase64) };
  });

  app.get("/proof/inclusion-batch", pub, async (req) => {
    const q = parseInput(batchQuery, req.query, "query");
    if (q.size > log.size) throw new HttpError(400, "size beyond tree", `size ${q.size} exceeds the tree size ${log.size}`);
    const indices = [...new Set(q.indices)].sort((a, b) => a - b);
    const beyond = indices.find((i) => i >= q.size);
    if (beyond !== undefined) throw new HttpError(400, "index beyond size", `index ${beyond} must be below size ${q.size}`);
    const { leafHashes, proof } = await log.batchInclusionProof(indices, q.size);
    return { size: q.size, indices, leafHashes: leafHashes.map(toBase64), proof: proof.map(toBase64) };
  });

  app.get("/proof/consistency", pub, async (req) => {
    const q = parseInput(consistencyQuery, req.query, "query");
    if (q.new > log.size) throw new HttpError(400, "size beyond tree", `new size ${q.new} exceeds the tree size ${log.size}`);
    if (q.old === 0 || q.old > q.new) throw new HttpError(400, "bad sizes", `need 0 < old (${q.old}) ≤ new (${q.new})`);
    return { old: q.old, new: q.new, proof: (await log.consistencyProof(q.old, q.new)).map(toBase64) };
  });
}
