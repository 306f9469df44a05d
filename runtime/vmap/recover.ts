/**
 * Restart of the map service: each map comes back from its store (snapshot + journaled batches, every root
 * checked), then the proof log is asked only for what came after the stored head — the entries past the head's log
 * index, up to a resume record the service appends first, replayed in revision order and recorded in the store.
 * The log is the source of truth: a stored head that is not the entry the log holds at its index (a store from
 * another log, or ahead of it) stops the start.
 * Without a store, every map is rebuilt from the whole log, as before.
 */
import { LogClient, parseCheckpoint, parseSignedNote, hashEquals } from "../prooflog/index.js";
import { randomBytes } from "node:crypto";
import { decodeMapEntry, encodeResumeEntry, MapError, VerifiableMap } from "./map.js";
import type { MapStore } from "./store/port.js";

export interface HeldMap {
  map: VerifiableMap;
  /** Log index of the entry that recorded the current revision (null: none). */
  logIndex: number | null;
  /** Set once the store failed to record a batch the log holds: writes are refused until a restart catches up. */
  broken: string | null;
}

export async function recoverMaps(names: readonly string[], store: MapStore | null, client: LogClient | null, checkpointWaitMs = 10_000): Promise<Map<string, HeldMap>> {
  const held = new Map<string, HeldMap>();
  for (const name of names) {
    const stored = store ? await store.load(name) : null;
    const map = stored ? VerifiableMap.restore(name, stored.head.revision, stored.values, stored.head.revision === 0 ? null : stored.head.root) : new VerifiableMap(name);
    let logIndex = stored?.head.logIndex ?? null;
    for (const b of stored?.batches ?? []) {
      map.replay(b.entry);
      logIndex = b.logIndex ?? logIndex;
    }
    held.set(name, { map, logIndex, broken: null });
  }
  if (!client) return held;

  // The log acknowledges an entry before a checkpoint covers it, so the newest checkpoint may miss batches this
  // service wrote just before it stopped; serving without them would fork the map at their revisions. Append a
  // resume record and wait (boundedly) for a checkpoint that covers it: that one covers every acknowledged batch.
  const heads = [...held.values()].map((h) => ({ map: h.map.name, revision: h.map.revision, root: h.map.root() }));
  const barrier = (await client.add(encodeResumeEntry(heads, randomBytes(12).toString("hex")))).index;
  let size: number;
  for (const deadline = Date.now() + checkpointWaitMs; ; await new Promise((r) => setTimeout(r, 50))) {
    size = parseCheckpoint(parseSignedNote(await client.checkpoint()).text).size;
    if (size > barrier) break;
    if (Date.now() >= deadline)
      throw new MapError(
        `the log has not published a checkpoint covering this service's resume record (entry ${barrier}) within ${checkpointWaitMs} ms: refusing to serve maps that may miss acknowledged batches`,
      );
  }
  for (const h of held.values()) {
    if (h.logIndex === null) continue;
    const at = `${store?.description ?? "the store"} says map ${h.map.name} revision ${h.map.revision} is log entry ${h.logIndex}`;
    if (h.logIndex >= size) throw new MapError(`${at}, but the log holds ${size} entries: refusing to serve a root the log does not hold`);
    const e = decodeMapEntry(await client.entry(h.logIndex, size));
    if (!e || e.map !== h.map.name || e.revision !== h.map.revision || !hashEquals(e.root, h.map.root()))
      throw new MapError(`${at}, but the log holds a different entry there: the store does not belong to this log`);
  }
  const from = Math.min(...[...held.values()].map((h) => (h.logIndex === null ? 0 : h.logIndex + 1)));
  if (from >= size) return held;
  const entries = await client.entries(from, size, size);
  for (let i = from; i < size; i++) {
    const e = decodeMapEntry(entries[i - from]!);
    const h = e && held.get(e.map);
    if (!e || !h || e.revision <= h.map.revision) continue;
    h.map.replay(e); // the next revision, reproducing the recorded root, or the start stops
    h.logIndex = i;
    await store?.record({ entry: e, logIndex: i }, () => h.map.entries());
  }
  return held;
}
