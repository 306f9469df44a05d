/**
 * Where `mpt serve` keeps its trie so that a restart (or kill -9) comes back to the same root: the entries of a
 * snapshot plus, for journaling stores, every change after it. Each change carries the root it produced, so
 * recovery (recover.ts) checks every step and a store whose contents do not hash to what it recorded stops the
 * start instead of serving a root no writer was ever answered with.
 *
 * Contract: `record` resolves only once the change is durable (the PUT is acknowledged after it); changes are
 * recorded in revision order, each fenced on the previous revision; one process writes a store at a time (a
 * directory lock, a PostgreSQL advisory lock).
 */
import type { TrieEntry } from "../trie.js";

/** One acknowledged PUT or DELETE: the trie key (hashed in a secure trie), the value (null: deleted), the new root. */
export interface MptChange {
  revision: number;
  trieKey: Uint8Array;
  value: Uint8Array | null;
  root: Uint8Array;
}

/** What a store holds at rest: the trie it was started from, a snapshot, and the changes after the snapshot. */
export interface StoredTrie {
  secure: boolean;
  /** The root of the trie the store was started from (a TrieTests case, or the empty trie). */
  seedRoot: Uint8Array;
  revision: number;
  root: Uint8Array;
  entries: TrieEntry[];
  changes: MptChange[];
  /** Something recovery set aside (never deleted) and the operator should know of, e.g. a torn journal tail. */
  notice?: string;
}

export interface MptStore {
  readonly description: string;
  /** The stored trie, or null when the store has never held one. */
  load(): Promise<StoredTrie | null>;
  /** Start an empty store from `seed` at revision 0. */
  init(seed: { secure: boolean; root: Uint8Array; entries: Iterable<TrieEntry> }): Promise<void>;
  /** Record one change durably; `current` yields the trie's entries after it (for stores that snapshot). */
  record(change: MptChange, current: () => Iterable<TrieEntry>): Promise<void>;
  close(): Promise<void>;
}

/** The store cannot be used as it is (held by another process, a different trie, fenced out); nothing was changed. */
export class MptStoreError extends Error {
  override name = "MptStoreError";
}
