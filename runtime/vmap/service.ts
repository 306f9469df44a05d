/**
 * The verifiable map service (kit): named maps over HTTP, every write batch recorded in the proof log before it
 * is acknowledged, so each root a reader is shown is one the log holds — and a restarted service rebuilds every
 * map by replaying its entries from the log, checking each recorded root on the way.
 *
 *   POST /v1/maps/:map/writes   {writes: [{key, value: base64 | null}]} → {map, revision, root, logIndex}
 *   GET  /v1/maps/:map/root     → {map, revision, root, logIndex}
 *   GET  /v1/maps/:map/keys/:key            → {key, value, revision, root, proof}   (inclusion or exclusion)
 *   POST /v1/maps/:map/proofs   {keys}      → {keys, values, revision, root, proof} (one shared batch proof)
 *   GET  /v1/maps/:map/range?prefix=… | ?from=…&to=…  → {entries, outside, lo, hi, revision, root}
 *
 * Writes need the configured writer identity (SPIFFE IDs or a JWT scope; default: operators); reads are public.
 */
import { z } from "zod";
import { defineService, HttpError, parseInput } from "../kit/index.js";
import { LogClient, parseCheckpoint, parseSignedNote } from "../prooflog/index.js";
import { decodeMapEntry, encodeMapEntry, MapError, prefixBounds, treeKey, VerifiableMap, type MapWrite } from "./map.js";

export const mapConfigSchema = z
  .object({
    /** The maps this service holds. */
    maps: z.array(z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, "map names are lowercase letters, digits, . _ -")).min(1),
    /** Base URL of the proof log that records every write batch (and is replayed at start). */
    log: z.string().url().optional(),
    /** Who may write: SPIFFE IDs, or a JWT scope. Default: the kit's operators. */
    writers: z.object({ spiffe: z.array(z.string().startsWith("spiffe://")).min(1).optional(), scope: z.string().min(1).optional() }).strict().optional(),
  })
  .strict();

const b64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, "must be base64");
const writesBody = z.object({ writes: z.array(z.object({ key: z.string(), value: b64.nullable() }).strict()).min(1).max(1000) }).strict();
const keysBody = z.object({ keys: z.array(z.string()).min(1).max(1000) }).strict();
const rangeQuery = z.union([z.object({ prefix: z.string().max(32) }).strict(), z.object({ from: z.string(), to: z.string() }).strict()]);
const enc = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString("base64") : null);

export const mapService = defineService({
  name: "vmap",
  config: mapConfigSchema,
  async start({ config, log }) {
    const maps = new Map(config.maps.map((m) => [m, { map: new VerifiableMap(m), logIndex: null as number | null }]));
    const client = config.log ? new LogClient(config.log) : null;
    if (client) {
      // Rebuild from the log: every recorded batch, in order, must reproduce its recorded root.
      const size = parseCheckpoint(parseSignedNote(await client.checkpoint()).text).size;
      const entries = await client.entries(0, size, size);
      entries.forEach((e, index) => {
        const m = decodeMapEntry(e);
        const held = m && maps.get(m.map);
        if (!m || !held) return;
        held.map.replay(m);
        held.logIndex = index;
      });
      log.info({ maps: [...maps.values()].map((h) => ({ map: h.map.name, revision: h.map.revision })) }, "replayed the map log");
    }
    let queue: Promise<unknown> = Promise.resolve();
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
    const writeAuth = config.writers?.spiffe ? { spiffe: config.writers.spiffe } : config.writers?.scope ? { scope: config.writers.scope } : ("operator" as const);
    return {
      maps,
      routes(app) {
        app.post("/v1/maps/:map/writes", { config: { auth: writeAuth } }, async (req) => {
          const h = held((req.params as { map: string }).map);
          const body = parseInput(writesBody, req.body, "body");
          const writes: MapWrite[] = body.writes.map((w) => [w.key, w.value === null ? null : Buffer.from(w.value, "base64")]);
          guard(() => writes.forEach(([k]) => treeKey(k)));
          // One batch at a time: the log records batches in the order they change the root.
          const run = queue.then(async () => {
            const before = writes.map(([k]) => [k, h.map.get(k) ?? null] as MapWrite);
            const entry = guard(() => h.map.apply(writes));
            if (client) {
              try {
                h.logIndex = (await client.add(encodeMapEntry(entry))).index;
              } catch (e) {
                h.map.revert(before);
                throw new HttpError(503, "proof log unavailable", `the write was not recorded, so it was not applied: ${(e as Error).message}`);
              }
            }
            return { map: h.map.name, revision: entry.revision, root: enc(entry.root), logIndex: h.logIndex };
          });
          queue = run.catch(() => undefined);
          return run;
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
          return { lo: enc(lo), hi: enc(hi), entries: r.entries.map((e) => ({ key: enc(e.key), value: enc(e.value) })), outside: r.outside.map(enc), revision: h.map.revision, root: enc(h.map.root()) };
        });
      },
    };
  },
});
