/**
 * A map read a reader need not take on the map service's word (`meridian map get`): the value (or its absence) is
 * proven against a root that the proof log holds — the map's head entry, included in a checkpoint signed by the
 * log's key — not just against the root the service answers with.
 *
 *   1. the map's head names its revision and the log index of that revision's entry;
 *   2. a checkpoint covering that index, its signature checked with the log's verifier key (its origin is the key's name);
 *   3. the entry at that index, its inclusion proven against the checkpoint's root, decoded: this map, this revision;
 *   4. the key read and proven against the entry's root (the service must answer at exactly that root).
 *
 * If the map moves on between 1 and 4 the read starts again (a few times), so a busy map still yields a proven
 * answer; nothing unproven is ever returned. A head whose entry is not that revision is refused, not retried.
 */
import { leafHash, LogClient, newVerifier, openCheckpoint, verifyInclusion } from "../prooflog/index.js";
import { MapClient } from "./client.js";
import { decodeMapEntry, MapError } from "./map.js";

export interface LoggedRead {
  map: string;
  key: string;
  value: Buffer | null;
  revision: number;
  /** The map root (base64) the value is proven against, as the log recorded it. */
  root: string;
  logIndex: number;
  /** The signed checkpoint that includes the map's entry. */
  checkpoint: { origin: string; size: number; root: string };
}

export interface LoggedReadOptions {
  mapUrl: string;
  logUrl: string;
  /** The log's verifier key (`<origin>+<key id>+<key>`). */
  verifierKey: string;
  /** How long to wait for a checkpoint covering the map's head (ms). */
  waitMs?: number;
  headers?: Record<string, string>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ATTEMPTS = 10;

export async function readLogged(o: LoggedReadOptions, map: string, key: string): Promise<LoggedRead> {
  const maps = new MapClient(o.mapUrl, { headers: o.headers });
  const log = new LogClient(o.logUrl);
  const verifier = newVerifier(o.verifierKey);
  for (let attempt = 1; ; attempt++) {
    const head = await maps.root(map);
    if (head.logIndex === null) throw new MapError(`map ${map} at revision ${head.revision} names no proof-log entry: its service records in no log, so nothing can be proven against one`);
    const deadline = Date.now() + (o.waitMs ?? 10_000);
    let cp = openCheckpoint(await log.checkpoint(), [verifier], verifier.name).checkpoint;
    while (cp.size <= head.logIndex) {
      if (Date.now() > deadline) throw new MapError(`no checkpoint signed by ${verifier.name} covers map ${map}'s entry ${head.logIndex} yet (latest size ${cp.size})`);
      await sleep(100);
      cp = openCheckpoint(await log.checkpoint(), [verifier], verifier.name).checkpoint;
    }
    const entry = await log.entry(head.logIndex, cp.size);
    verifyInclusion(head.logIndex, cp.size, leafHash(entry), await log.inclusionProof(head.logIndex, cp.size), cp.root);
    const logged = decodeMapEntry(entry);
    // The service publishes a revision only once the log holds it, with its entry's index: anything else is a lie.
    if (!logged || logged.map !== map || logged.revision !== head.revision)
      throw new MapError(`log entry ${head.logIndex} is not map ${map}'s revision ${head.revision}: the map service named the wrong entry`);
    const root = Buffer.from(logged.root).toString("base64");
    try {
      const r = await maps.read(map, key, root);
      return { map, key, value: r.value, revision: logged.revision, root, logIndex: head.logIndex, checkpoint: { origin: cp.origin, size: cp.size, root: Buffer.from(cp.root).toString("base64") } };
    } catch (e) {
      // The map moved on between its head and the read: start again from its new head.
      if (attempt < ATTEMPTS && /not the trusted/.test((e as Error).message)) continue;
      throw e;
    }
  }
}
