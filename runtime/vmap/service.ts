/**
 * The verifiable map service (kit): named maps over HTTP, every write batch recorded in the proof log before it
 * is acknowledged or shown, so each root a reader is shown is one the log holds: a batch is staged (its root
 * computed without changing the map), logged, recorded in the store, and only then published to readers, revision,
 * root and log index together. Concurrent writers share batches (group-commit.ts): each request is checked on its
 * own (writer, keys, values, size), then joins the next batch, and is answered with that batch's revision and root. With a state store (`store: {dir}`,
 * `{postgres}` or `{s3}`) each batch is also recorded there, and a restart restores every map from it and replays only the
 * log entries after its head (recover.ts); without one, it rebuilds every map from the whole log.
 *
 *   POST /v1/maps/:map/writes   {writes: [{key, value: base64 | null}]} → {map, revision, root, logIndex}
 *   GET  /v1/maps/:map/root     → {map, revision, root, logIndex}
 *   GET  /v1/maps/:map/keys/:key            → {key, value, revision, root, proof}   (inclusion or exclusion)
 *   POST /v1/maps/:map/proofs   {keys}      → {keys, values, revision, root, proof} (one shared batch proof)
 *   GET  /v1/maps/:map/range?prefix=… | ?from=…&to=…  → {entries, outside, lo, hi, revision, root}
 *
 * Writes need one of the map's own writers (`writers.<map>`: SPIFFE IDs and/or a JWT scope; default: the kit's
 * operators), so a writer of one map cannot write another (403 naming the map); reads are public.
 */
import { Counter, Gauge } from "prom-client";
import { z } from "zod";
import { defineService, HttpError, parseInput, type Identity } from "../kit/index.js";
import { LogClient } from "../prooflog/index.js";
import { GroupCommitter, Overloaded, TooLargeForBatch } from "./group-commit.js";
import { encodeMapEntry, entryBytesOf, entryOverheadOf, MapError, prefixBounds, treeKey, validateWrites, type MapEntry, type MapWrite } from "./map.js";
import { recoverMaps, type HeldMap } from "./recover.js";
import { FileMapStore } from "./store/file.js";
import { PostgresMapStore } from "./store/postgres.js";
import { S3MapStore } from "./store/s3.js";
import type { MapStore } from "./store/port.js";

const mapWriters = z
  .object({ spiffe: z.array(z.string().startsWith("spiffe://")).min(1).optional(), scope: z.string().min(1).optional() })
  .strict()
  .refine((w) => w.spiffe !== undefined || w.scope !== undefined, "name spiffe IDs, a scope, or both");
type MapWriters = z.output<typeof mapWriters>;

const mapConfigSchema = z
  .object({
    /** The maps this service holds. */
    maps: z.array(z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, "map names are lowercase letters, digits, . _ -")).min(1),
    /** Base URL of the proof log that records every write batch (and is replayed at start). */
    log: z.string().url().optional(),
    /** A file holding a bearer token for the log's appends, read at each append (renewed by its writer): where no mesh names this service to the log (`meridian local`). */
    logTokenFile: z.string().min(1).optional(),
    /**
     * How long the start waits for a checkpoint covering its resume record (ms) before it refuses to serve: a log whose
     * witnesses are slow to cosign (a loaded machine) publishes late, not never.
     */
    logCheckpointWaitMs: z.number().int().min(1000).max(600_000).default(10_000),
    /** Where map state persists: a directory, or a PostgreSQL URL. Default: memory (rebuilt from the log). */
    store: z
      .union([
        z
          .object({
            dir: z.string().min(1),
            /** How long to wait for another process to let go of the directory (ms); then exit. */
            lockWaitMs: z.number().int().min(0).max(600_000).optional(),
          })
          .strict(),
        z
          .object({
            postgres: z.string().min(1),
            /** The schema holding the maps' tables (one writer per schema: a PostgreSQL advisory lock). Default meridian_vmap. */
            schema: z
              .string()
              .regex(/^[a-z_][a-z0-9_]{0,62}$/, "a lower-case SQL identifier")
              .optional(),
            /** How long to wait for another writer to let go of the schema (ms); then exit. */
            lockWaitMs: z.number().int().min(0).max(600_000).optional(),
          })
          .strict(),
        z
          .object({
            s3: z.string().url(),
            /** How long the writer lease on the bucket prefix lasts unrenewed (ms); a dead writer's is taken over after it. */
            leaseMs: z.number().int().min(100).max(600_000).optional(),
            /** How long to wait for another writer's lease (ms); then exit. */
            lockWaitMs: z.number().int().min(0).max(600_000).optional(),
          })
          .strict(),
      ])
      .optional(),
    /**
     * Who may write each map: SPIFFE IDs (the mesh peer), a JWT scope, or both. Per map, so one map's writer cannot
     * write another's (quota's state and escrow's balances). A map not named here: the kit's operators only.
     */
    writers: z.record(z.string(), mapWriters).optional(),
    /**
     * Group commit (group-commit.ts): writes arriving while a batch is logged and stored join the next one. Bounds
     * per map: writes in a batch, bytes of its log entry (the log's maxEntrySize), and writes waiting (more get 503).
     */
    batch: z
      .object({
        maxWrites: z.number().int().min(1000).max(100_000).default(1000),
        maxEntryBytes: z.number().int().min(4096).max(65_535).default(65_535),
        maxQueuedWrites: z.number().int().min(1000).max(1_000_000).default(20_000),
      })
      .strict()
      .default({ maxWrites: 1000, maxEntryBytes: 65_535, maxQueuedWrites: 20_000 }),
  })
  .strict()
  .superRefine((c, ctx) => {
    for (const name of Object.keys(c.writers ?? {}))
      if (!c.maps.includes(name)) ctx.addIssue({ code: "custom", path: ["writers", name], message: `names map ${name}, which is not in maps (${c.maps.join(", ")})` });
  });

/** The configured state store; S3 credentials come from the environment, as for `log serve --s3`. */
function openStore(s: z.output<typeof mapConfigSchema>["store"]): MapStore | null {
  if (!s) return null;
  if ("dir" in s) return new FileMapStore(s.dir, { lockWaitMs: s.lockWaitMs });
  if ("postgres" in s) return new PostgresMapStore(s.postgres, { schema: s.schema, lockWaitMs: s.lockWaitMs });
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken, AWS_REGION: region } = process.env;
  if (!accessKeyId || !secretAccessKey) throw new MapError("store.s3 needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment");
  return new S3MapStore({ url: s.s3, accessKeyId, secretAccessKey, sessionToken, region, leaseMs: s.leaseMs, lockWaitMs: s.lockWaitMs });
}

const b64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, "must be base64");
const writesBody = z
  .object({
    writes: z
      .array(z.object({ key: z.string(), value: b64.nullable() }).strict())
      .min(1)
      .max(1000),
    /** Answer with a batch proof of this request's keys against the batch's root, too. */
    proof: z.boolean().optional(),
  })
  .strict();
const keysBody = z.object({ keys: z.array(z.string()).min(1).max(1000) }).strict();
const rangeQuery = z.union([z.object({ prefix: z.string().max(32) }).strict(), z.object({ from: z.string(), to: z.string() }).strict()]);
const enc = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString("base64") : null);

/** An append the log never answered (the connection lost mid-request, not refused; no HTTP status): the log may hold the entry. */
const unanswered = (e: unknown) => (e instanceof TypeError || e instanceof SyntaxError) && (e.cause as { code?: string } | undefined)?.code !== "ECONNREFUSED"; // fetch's network errors, a cut-off answer

export const mapService = defineService({
  name: "vmap",
  config: mapConfigSchema,
  async start({ config, server, log, metrics }) {
    const client = config.log ? new LogClient(config.log, { tokenFile: config.logTokenFile }) : null;
    const store = openStore(config.store);
    let maps: Map<string, HeldMap>;
    try {
      maps = await recoverMaps(config.maps, store, client, config.logCheckpointWaitMs);
    } catch (e) {
      await store?.close();
      throw e;
    }
    log.info({ store: store?.description ?? "memory", maps: [...maps.values()].map((h) => ({ map: h.map.name, revision: h.map.revision, logIndex: h.logIndex })) }, "restored the maps");
    const held = (name: string) => {
      const h = maps.get(name);
      if (!h) throw new HttpError(404, "no such map", `this service holds ${config.maps.join(", ")}`);
      return h;
    };
    const guard = <T>(fn: () => T): T => {
      try {
        return fn();
      } catch (e) {
        if (e instanceof MapError) throw new HttpError(400, "bad map request", e.message);
        throw e;
      }
    };
    const operators: MapWriters = { spiffe: server.auth.operators.spiffe, scope: server.auth.operators.scope };
    /** Refuses (403, naming the map) a verified caller the map's own writers do not name. */
    const mayWrite = (name: string, identity: Identity | undefined) => {
      const w = config.writers?.[name] ?? operators;
      const ok = identity?.kind === "spiffe" ? (w.spiffe ?? []).includes(identity.id.uri) : identity?.kind === "jwt" && w.scope !== undefined && identity.scopes.includes(w.scope);
      if (ok) return;
      const who = identity?.kind === "spiffe" ? identity.id.uri : `a JWT without scope ${w.scope ?? "(none)"}`;
      const allowed = [...(w.spiffe ?? []), ...(w.scope ? [`a JWT with scope ${w.scope}`] : [])].join(" or ") || "nobody";
      throw new HttpError(403, "forbidden", `${who} may not write map ${name}: its writers are ${allowed}`);
    };
    /** Batches sent to the log that it never answered for, by map: it may hold them, so they are not dropped. */
    const uncertain = new Map<string, MapEntry>();
    /** Log, store, then publish a staged batch (one at a time, in the write queue); returns its log index. */
    const record = async (h: HeldMap, entry: MapEntry, again: boolean): Promise<number | null> => {
      let logIndex = h.logIndex;
      if (client) {
        try {
          logIndex = (await client.add(encodeMapEntry(entry))).index;
        } catch (e) {
          const why = (e as Error).message;
          if (!again && !unanswered(e)) throw new HttpError(503, "proof log unavailable", `the write was not recorded, so it was not applied: ${why}`);
          uncertain.set(h.map.name, entry);
          throw new HttpError(
            503,
            "proof log unavailable",
            `the log did not answer for ${h.map.name} revision ${entry.revision} (${why}), so it may hold it: readers are not shown it, and it is logged again before the next write`,
          );
        }
      }
      uncertain.delete(h.map.name);
      const publish = () => {
        h.map.commit(entry);
        h.logIndex = logIndex;
      };
      if (store) {
        try {
          await store.record({ entry, logIndex: client ? logIndex : null }, () => h.map.entriesAfter(entry));
        } catch (e) {
          if (!client) throw new HttpError(503, "map store unavailable", `the write was not recorded, so it was not applied: ${(e as Error).message}`);
          // The log holds the batch, so it stands; the store catches up from the log at the next start.
          publish();
          h.broken = `${store.description} failed to record revision ${entry.revision} (log entry ${logIndex}): ${(e as Error).message}; restart the service to catch up from the log`;
          throw new HttpError(503, "map store unavailable", h.broken);
        }
      }
      publish();
      return logIndex;
    };
    /** One batch: stage the merged writes, log, store, publish; every writer in it gets this answer. */
    const commitBatch = async (h: HeldMap, writes: MapWrite[]) => {
      if (h.broken) throw new HttpError(503, "map store unavailable", h.broken);
      // A store that has lost its writer lock refuses before anything reaches the log.
      const refused = store?.refusal?.();
      if (refused) throw new HttpError(503, "map store unavailable", refused);
      // A batch whose append went unanswered is logged again first (the log's duplicate check gives its index;
      // a second copy replays as a no-op): else this batch would take its revision with another root, forking the map.
      const pending = uncertain.get(h.map.name);
      if (pending) await record(h, pending, true);
      // Staged, not applied: readers keep the current revision (whose root the log holds) until the log and
      // the store have recorded this one, then see it in one step. A failed append leaves nothing to undo.
      const entry = guard(() => h.map.stage(writes));
      const logIndex = await record(h, entry, false);
      batches.inc({ map: h.map.name });
      batchedWrites.inc({ map: h.map.name }, writes.length);
      return { map: h.map.name, revision: entry.revision, root: enc(entry.root), logIndex };
    };
    // One committer per map: its batches are logged one at a time, in the order they change its root.
    const committers = new Map(
      [...maps.values()].map((h) => [
        h.map.name,
        new GroupCommitter((writes) => commitBatch(h, writes), {
          maxWrites: config.batch.maxWrites,
          maxBytes: config.batch.maxEntryBytes - entryOverheadOf(h.map.name),
          maxQueued: config.batch.maxQueuedWrites,
        }),
      ]),
    );
    const registers = [metrics];
    new Gauge({
      name: "meridian_vmap_queued_writes",
      help: "Writes waiting for the next batch of a map (group commit; past batch.maxQueuedWrites they get 503)",
      labelNames: ["map"],
      registers,
      collect() {
        for (const [map, c] of committers) this.set({ map }, c.depth);
      },
    });
    const batches = new Counter({ name: "meridian_vmap_batches_total", help: "Batches a map logged, stored and published", labelNames: ["map"], registers });
    const batchedWrites = new Counter({ name: "meridian_vmap_batched_writes_total", help: "Writes in those batches (÷ batches: the mean batch size)", labelNames: ["map"], registers });
    const overloaded = new Counter({ name: "meridian_vmap_overloaded_total", help: "Write requests refused with 503 because the map's write queue was full", labelNames: ["map"], registers });
    return {
      maps,
      ...(store?.ping ? { ready: { store: () => store.ping!() } } : {}),
      close: async () => {
        for (const c of committers.values()) await c.idle();
        await store?.close();
      },
      routes(app) {
        // Any verified caller reaches the handler; the map's own writers decide (a JWT, when presented, names the caller).
        app.post("/v1/maps/:map/writes", { config: { auth: "authenticated" } }, async (req) => {
          const h = held((req.params as { map: string }).map);
          mayWrite(h.map.name, req.identity);
          const body = parseInput(writesBody, req.body, "body");
          const writes: MapWrite[] = body.writes.map((w) => [w.key, w.value === null ? null : Buffer.from(w.value, "base64")]);
          // Checked per request, before it joins a batch: a bad write is refused alone, never failing its batch-mates.
          guard(() => validateWrites(writes));
          const bytes = entryBytesOf(writes);
          if (h.broken) throw new HttpError(503, "map store unavailable", h.broken);
          try {
            const committer = committers.get(h.map.name)!;
            if (!body.proof) return await committer.submit(writes, bytes);
            // Made the moment the batch is published, before the next can be: the proof is against this batch's root.
            const keys = [...new Set(writes.map(([k]) => k))];
            return await committer.submit(writes, bytes, (a) => {
              const p = h.map.proveBatch(keys);
              return { ...a, keys, values: p.values.map(enc), proof: p.proof.map(enc) };
            });
          } catch (e) {
            if (e instanceof Overloaded) {
              overloaded.inc({ map: h.map.name });
              throw new HttpError(503, "map busy", `${e.message}; retry`, { "retry-after": String(Math.ceil(e.retryAfterMs / 1000)) });
            }
            if (e instanceof TooLargeForBatch) throw new HttpError(413, "batch too large", `${e.message}: the batch must fit one proof-log entry; split it`);
            throw e;
          }
        });
        app.get("/v1/maps/:map/root", { config: { auth: "public" } }, async (req) => {
          const h = held((req.params as { map: string }).map);
          return { map: h.map.name, revision: h.map.revision, root: enc(h.map.root()), logIndex: h.logIndex };
        });
        app.get("/v1/maps/:map/keys/:key", { config: { auth: "public" } }, async (req) => {
          const { map, key } = req.params as { map: string; key: string };
          const h = held(map);
          const r = guard(() => h.map.prove(key));
          return { key, value: enc(r.value), revision: h.map.revision, root: enc(h.map.root()), proof: r.proof.map(enc) };
        });
        app.post("/v1/maps/:map/proofs", { config: { auth: "public" } }, async (req) => {
          const h = held((req.params as { map: string }).map);
          const { keys } = parseInput(keysBody, req.body, "body");
          const r = guard(() => h.map.proveBatch(keys));
          return { keys, values: r.values.map(enc), revision: h.map.revision, root: enc(h.map.root()), proof: r.proof.map(enc) };
        });
        app.get("/v1/maps/:map/range", { config: { auth: "public" } }, async (req) => {
          const h = held((req.params as { map: string }).map);
          const q = parseInput(rangeQuery, req.query, "query");
          const [lo, hi] = guard(() => ("prefix" in q ? prefixBounds(q.prefix) : [treeKey(q.from), treeKey(q.to)]));
          const r = guard(() => h.map.proveRange(lo, hi));
          return {
            lo: enc(lo),
            hi: enc(hi),
            entries: r.entries.map((e) => ({ key: enc(e.key), value: enc(e.value) })),
            outside: r.outside.map(enc),
            revision: h.map.revision,
            root: enc(h.map.root()),
          };
        });
      },
    };
  },
});
