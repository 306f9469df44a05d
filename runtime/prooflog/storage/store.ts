/**
 * The storage port of the log, tile-native (Tessera's model): what is stored is exactly what C2SP tlog-tiles
 * serves — full hash tiles, full entry bundles, the partial tiles and bundle of every published checkpoint, and
 * the checkpoint itself — plus one private record, the tree state (size, root, right edge), that is the commit
 * point. Restart reads the state and nothing proportional to the log's size.
 *
 * Beside them each store keeps the persistent duplicate index (Tessera's antispam): leaf hash → index, written
 * by the same commit as the entries it indexes, so it never names an entry that is not durable and, once a
 * commit resolves, covers every entry in it. Lookups read it on demand; nothing is loaded at start.
 *
 * Contract: `commit` resolves only when the batch's entries are durable (an index may then be acknowledged) and
 * is all-or-nothing across a crash; commits are applied in index order; `publish` makes the partial tiles of a
 * size and then the checkpoint durable, and the checkpoint's size never exceeds what is durable in tile form.
 */
import type { Edge, FullBundle, FullTile } from "../integrate.js";
import { type Hash, HASH_SIZE } from "../rfc6962.js";
import { LeafTable } from "../leaftable.js";
import { TILE_WIDTH } from "../tiles.js";
import type { TreeState } from "./state.js";

export type { TreeState } from "./state.js";

export interface Commit {
  firstIndex: number;
  /** The batch's entries (journaling stores write these; others rely on the bundles and the edge). */
  entries: readonly Uint8Array[];
  tiles: readonly FullTile[];
  bundles: readonly FullBundle[];
  /**
   * The batch's leaf hashes packed 32 bytes each (entry firstIndex + i's at [32·i, 32·i + 32)), to index for
   * duplicate detection (absent: detection is off). Packed, so the sequencer allocates nothing per entry;
   * `leafList` gives them one by one.
   */
  leafHashes?: Uint8Array;
  /** The state after the batch. */
  state: TreeState;
  /** The entries are already durable (a journal replay at startup): do not journal them again. */
  journaled?: boolean;
}

/** A commit's leaf hashes as an array of 32-byte views (empty when it has none). */
export function leafList(c: Pick<Commit, "leafHashes">): Hash[] {
  const b = c.leafHashes;
  const out: Hash[] = [];
  if (b) for (let at = 0; at < b.length; at += HASH_SIZE) out.push(b.subarray(at, at + HASH_SIZE));
  return out;
}

/** A checkpoint to publish: its note and the edge at its size (the partial tiles and bundle clients will fetch). */
export interface Publication {
  note: string;
  edge: Edge;
}

export interface Recovered {
  /** The last durable state, or null for a new log. */
  state: TreeState | null;
  /** Durable entries past the state (journaling stores), to integrate again, in index order. */
  pending: Uint8Array[];
  /** The checkpoint the store last published, if any. */
  checkpoint: string | null;
  /** Entry bundles ending at or below this index may have been deleted by `prune` (0: none). */
  pruned?: number;
}

export interface TileStore {
  /** Where the store is, for messages ("file store /var/lib/log", "PostgreSQL origin example.com/log"). */
  readonly description: string;
  /**
   * The store accepts a commit while the previous one is still in flight (the sequencer then keeps two), and
   * resolves them in order: a commit resolves only once it and every commit before it are durable.
   */
  readonly pipelined?: boolean;
  /** Take the single-writer lock and read what survives. */
  open(): Promise<Recovered>;
  commit(c: Commit): Promise<void>;
  /** Make everything committed so far durable in tile form (journaling stores); a no-op elsewhere. */
  sync(): Promise<void>;
  publish(p: Publication): Promise<void>;
  /** A full hash tile (8,192 bytes) or null. */
  readTile(level: number, index: number): Promise<Uint8Array | null>;
  /** A full entry bundle, uncompressed, or null. */
  readBundle(index: number): Promise<Uint8Array | null>;
  /**
   * The membership filter's saved image (filter.ts, dedupe.ts), kept beside the state so a restart reads only
   * the tiles past the size it covers. Optional: a store without them has the filter rebuilt from every tile.
   */
  loadFilter?(): Promise<Uint8Array | null>;
  saveFilter?(image: Uint8Array): Promise<void>;
  /**
   * C2SP tlog-tiles pruning: delete the full entry bundles that end at or below `minIndex` (the caller has checked
   * it against the integrated size). Hash tiles, partial tiles, the state and the checkpoint stay: recovery, the
   * duplicate index and every proof for an entry at or above `minIndex` read them. The minimum index is recorded
   * before anything is deleted, so a prune cut short leaves a store that opens (and a rerun finishes it).
   * Resolves to the number of bundles deleted.
   */
  prune?(minIndex: number): Promise<number>;
  /** The duplicate index: for each leaf hash, the index of a committed entry with it (the latest recorded), or undefined. */
  findLeaves(leaves: readonly Hash[]): Promise<(number | undefined)[]>;
  close(): Promise<void>;
}

/** Memory store: for tests, benchmarks and ephemeral logs. Nothing survives the process. */
export class MemoryStore implements TileStore {
  readonly description = "memory store";
  private state: TreeState | null = null;
  private checkpoint: string | null = null;
  readonly tiles = new Map<string, Uint8Array>();
  readonly bundles = new Map<number, Uint8Array>();
  /**
   * The duplicate index: fixed tables, each twice the size of the one before, the newest taking new leaves and
   * lookups asking the newest first (the latest index recorded wins). A full table is kept, not rehashed into a
   * bigger one: a growable table would stop the sequencer for a rehash of every leaf so far each time it doubles.
   * Committed leaf hashes are indexed when a lookup comes (in commit order, before it is answered), not in the
   * commit: the sequencer's window and filter answer nearly every submission, so most batches are indexed later
   * in one pass, off the append path.
   */
  private readonly leafIndex: LeafTable[] = [new LeafTable(1 << 16)];
  private unindexed: { first: number; leaves: Uint8Array }[] = [];
  private filterImage: Uint8Array | null = null;
  private pruned = 0;

  async open(): Promise<Recovered> {
    return { state: this.state, pending: [], checkpoint: this.checkpoint, pruned: this.pruned };
  }
  async prune(minIndex: number): Promise<number> {
    this.pruned = Math.max(this.pruned, minIndex);
    let n = 0;
    for (const i of this.bundles.keys()) if ((i + 1) * TILE_WIDTH <= minIndex && this.bundles.delete(i)) n++;
    return n;
  }
  async commit(c: Commit): Promise<void> {
    const have = this.state?.size ?? 0;
    if (c.firstIndex !== have) throw new Error(`commit at ${c.firstIndex} but the store holds ${have} entries`);
    for (const t of c.tiles) this.tiles.set(`${t.level}/${t.index}`, t.data);
    for (const b of c.bundles) this.bundles.set(b.index, b.data);
    if (c.leafHashes) this.unindexed.push({ first: c.firstIndex, leaves: c.leafHashes });
    this.state = c.state;
  }
  async sync(): Promise<void> {}
  async loadFilter(): Promise<Uint8Array | null> {
    return this.filterImage;
  }
  async saveFilter(image: Uint8Array): Promise<void> {
    this.filterImage = image;
  }
  async publish(p: Publication): Promise<void> {
    this.checkpoint = p.note;
  }
  async readTile(level: number, index: number): Promise<Uint8Array | null> {
    return this.tiles.get(`${level}/${index}`) ?? null;
  }
  async readBundle(index: number): Promise<Uint8Array | null> {
    return this.bundles.get(index) ?? null;
  }
  private index(): void {
    for (const { first, leaves: l } of this.unindexed) {
      let t = this.leafIndex[this.leafIndex.length - 1]!;
      for (let i = 0, n = l.length / HASH_SIZE; i < n;) {
        if (t.count >= t.capacity) this.leafIndex.push((t = new LeafTable(2 * t.capacity)));
        const k = Math.min(n - i, t.capacity - t.count);
        t.setMany(l, i * HASH_SIZE, k, first + i);
        i += k;
      }
    }
    this.unindexed = [];
  }
  async findLeaves(leaves: readonly Hash[]): Promise<(number | undefined)[]> {
    this.index();
    return leaves.map((h) => {
      for (let g = this.leafIndex.length - 1; g >= 0; g--) {
        const i = this.leafIndex[g]!.get(h);
        if (i !== undefined) return i;
      }
      return undefined;
    });
  }
  async close(): Promise<void> {}
}
