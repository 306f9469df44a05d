/**
 * The log's durable history, as the sequencer (log.ts) leaves it: entries and proofs read through the tile reader
 * (logtiles.ts), lookups of an entry by its leaf hash (dedupe.ts), and pruning. Nothing here assigns an index or
 * commits; it reads only what is durable, so the sequencer extends it and keeps what is in flight to itself.
 */
import type { Dedupe } from "./dedupe.js";
import type { Integrator } from "./integrate.js";
import { LogTiles } from "./logtiles.js";
import { PruneRefusedError } from "./recover.js";
import type { Hash } from "./rfc6962.js";
import type { TileStore } from "./storage/store.js";

export abstract class LogHistory {
  /** Set once the store's tree is restored (log.ts `open`). */
  tiles!: LogTiles;

  /** The minimum index the store was pruned to: bundles ending at or below it may be gone (0: none). */
  prunedTo = 0;

  protected abstract readonly dedupe: Dedupe;

  constructor(protected readonly store: TileStore) {}

  /** Read the tree restored from the store (its full tiles and bundles there, the edge from `integrator`), pruned to `pruned`. */
  protected readFrom(integrator: Integrator, pruned: number): void {
    this.tiles = new LogTiles(this.store, integrator, () => this.prunedTo);
    this.prunedTo = pruned;
  }

  /** Entries durable in the store. */
  abstract get size(): number;

  /** Delete the bundles ending at or below `minIndex` (recover.ts `pruneStore` does this for a stopped log). */
  async prune(minIndex: number): Promise<number> {
    const store = this.store;
    if (!store.prune) throw new PruneRefusedError(`${store.description} does not support pruning`);
    if (!Number.isSafeInteger(minIndex) || minIndex < 0 || minIndex > this.size)
      throw new PruneRefusedError(`minimum index ${minIndex} is beyond the ${this.size} entries integrated in ${store.description}`);
    this.prunedTo = Math.max(this.prunedTo, minIndex); // stop serving them before they go
    return store.prune(minIndex);
  }

  /** Resolves once duplicate detection's filter is built (true) or its build failed (false: the store answers every miss). */
  dedupeReady(): Promise<boolean> {
    return this.dedupe.ready();
  }

  /** Lookups duplicate detection has made in the store's persistent index (for metrics and tests). */
  get dedupeStoreLookups(): number {
    return this.dedupe.storeLookups;
  }

  /** Index of a durable entry by its leaf hash: the in-memory window only (`find` asks the store too). */
  indexOf(leaf: Hash): number | undefined {
    const i = this.dedupe.recent(leaf);
    return i !== undefined && i < this.size ? i : undefined;
  }

  /** Index of a durable entry by its leaf hash, from the window or the store's persistent index. */
  async find(leaf: Hash): Promise<number | undefined> {
    if (!this.dedupe.enabled) return undefined;
    const known = this.indexOf(leaf);
    if (known !== undefined || !this.dedupe.mayBeStored(leaf)) return known;
    return this.dedupe.findStored(leaf);
  }

  readEntries(start: number, end: number): Promise<Uint8Array[]> {
    if (end > this.size) return Promise.reject(new RangeError(`entries [${start}, ${end}) beyond size ${this.size}`));
    return this.tiles.entries(start, end);
  }

  rootAt(size: number): Promise<Hash> {
    return this.tiles.rootAt(size);
  }

  inclusionProof(index: number, size: number): Promise<Hash[]> {
    return this.tiles.inclusionProof(index, size);
  }

  batchInclusionProof(indices: readonly number[], size: number): Promise<{ leafHashes: Hash[]; proof: Hash[] }> {
    return this.tiles.batchInclusionProof(indices, size);
  }

  consistencyProof(size1: number, size2: number): Promise<Hash[]> {
    return this.tiles.consistencyProof(size1, size2);
  }
}
