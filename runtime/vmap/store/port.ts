/**
 * The map service's state store: each map's values and head (revision, root, and the proof-log index that
 * recorded that revision), so a restart restores the map from the store and asks the log only for what came after
 * the head — not the whole log. The log stays the source of truth: a head the log does not hold stops the start.
 *
 * Contract: `record` resolves once the batch is durable, batches are recorded in revision order (a store fences
 * on the previous revision), and `load` returns a snapshot plus, for journaling stores, the batches after it.
 */
import type { Hash } from "../../prooflog/index.js";
import type { MapEntry } from "../map.js";

export interface MapHead {
  revision: number;
  root: Hash;
  /** The proof-log index of this revision's entry; null when no log recorded it. */
  logIndex: number | null;
}

export interface LoggedBatch {
  entry: MapEntry;
  logIndex: number | null;
}

export interface StoredMap {
  head: MapHead;
  values: { key: Buffer; value: Uint8Array }[];
  /** Batches after the snapshot, in revision order (replayed, each checked against its recorded root). */
  batches: LoggedBatch[];
}

export interface MapStore {
  readonly description: string;
  /** The stored map, or null when the store has never held it. */
  load(map: string): Promise<StoredMap | null>;
  /** Record a batch durably. `current` yields the map's entries after it (for stores that snapshot). */
  record(batch: LoggedBatch, current: () => Iterable<{ key: Buffer; value: Uint8Array }>): Promise<void>;
  /** Why the store already knows it cannot write (checked before a batch is logged), or null. */
  refusal?(): string | null;
  /** For /readyz, where the store can tell: true, or why it cannot write. */
  ping?(): Promise<true | string>;
  close(): Promise<void>;
}

export class MapStoreError extends Error {
  override name = "MapStoreError";
}
