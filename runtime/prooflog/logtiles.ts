/**
 * Reads of the log's own tree, for proofs and for serving tlog-tiles: full tiles and bundles come from the store
 * (through a bounded LRU cache), partial ones from the in-memory edge or as prefixes of full ones. Nothing read
 * from storage is trusted: a full tile must hash to its hash in the tile above (checked up to the edge, which is
 * checked against the signed root at startup), and a bundle's entries must hash to its level-0 tile — so a
 * flipped byte anywhere in the store is reported as corruption instead of being served or built into a proof.
 */
import { hashesAtLevel, tileSubtreeHash, type FullTile, type Integrator } from "./integrate.js";
import { batchInclusionProof } from "./proof/batch.js";
import { consistencyProof, inclusionProof, rangeHash, type NodeReader } from "./proof/generate.js";
import { type Hash, HASH_SIZE, hashEquals, leafHash, nodeHash } from "./rfc6962.js";

/** A full tile with its interior nodes: levels[s] holds the 256 >> s subtree hashes of height s. */
type TileNodes = Uint8Array[];

function interiorNodes(tile: Uint8Array): TileNodes {
  const levels: Uint8Array[] = [tile];
  for (let s = 1; s <= TILE_HEIGHT; s++) {
    const below = levels[s - 1]!;
    const n = below.length / HASH_SIZE / 2;
    const out = new Uint8Array(n * HASH_SIZE);
    for (let i = 0; i < n; i++) out.set(nodeHash(below.subarray(2 * i * HASH_SIZE, (2 * i + 1) * HASH_SIZE), below.subarray((2 * i + 1) * HASH_SIZE, (2 * i + 2) * HASH_SIZE)), i * HASH_SIZE);
    levels.push(out);
  }
  return levels;
}
import type { TileStore } from "./storage/store.js";
import { decodeEntryBundle, TILE_HEIGHT, TILE_WIDTH, tilePath } from "./tiles.js";
import { CorruptStoreError } from "./storage/journal.js";
import { PrunedError } from "./errors.js";

export class LogTiles {
  private readonly cache = new Map<string, TileNodes>();
  /** Full tiles integrated but whose commit has not finished: readable before the store has them. */
  readonly inflight = new Map<string, Uint8Array>();

  constructor(
    private readonly store: TileStore,
    private readonly edge: Integrator,
    /** The minimum index the store was pruned to: a bundle ending at or below it may be gone (PrunedError). */
    private readonly prunedTo: () => number = () => 0,
    private readonly cacheTiles = 4096,
  ) {}

  private remember(key: string, t: TileNodes): void {
    this.cache.set(key, t);
    if (this.cache.size > this.cacheTiles) this.cache.delete(this.cache.keys().next().value!);
  }

  addInflight(tiles: readonly FullTile[]): void {
    for (const t of tiles) this.inflight.set(`${t.level}/${t.index}`, t.data);
  }

  clearInflight(tiles: readonly FullTile[]): void {
    for (const t of tiles) this.inflight.delete(`${t.level}/${t.index}`);
  }

  /** Hash tile (level, index) at `width` hashes for any size up to the integrated one. */
  async tile(level: number, index: number, width: number): Promise<Uint8Array> {
    const have = hashesAtLevel(this.edge.size, level);
    if (index * TILE_WIDTH + width > have) throw new RangeError(`tile ${level}/${index} width ${width} is beyond the tree (level ${level} has ${have} hashes)`);
    if (index === Math.floor(have / TILE_WIDTH)) return this.edge.partialTile(level).slice(0, width * HASH_SIZE);
    const full = (await this.fullTile(level, index))[0]!;
    return width === TILE_WIDTH ? full : full.slice(0, width * HASH_SIZE);
  }

  private async fullTile(level: number, index: number): Promise<TileNodes> {
    const key = `${level}/${index}`;
    const pending = this.inflight.get(key);
    if (pending) return interiorNodes(pending);
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key);
      this.cache.set(key, hit); // most recently used
      return hit;
    }
    const data = await this.store.readTile(level, index);
    const path = tilePath({ level, index, width: TILE_WIDTH });
    if (!data) throw new CorruptStoreError(`${this.store.description} is missing ${path}, which the tree of ${this.edge.size} entries needs`);
    if (data.length !== TILE_WIDTH * HASH_SIZE) throw new CorruptStoreError(`${this.store.description}: ${path} is ${data.length} bytes; a full tile is ${TILE_WIDTH * HASH_SIZE}`);
    // Its hash must be the one recorded one level up (verified the same way, up to the edge).
    const parent = await this.tile(level + 1, Math.floor(index / TILE_WIDTH), (index % TILE_WIDTH) + 1);
    const want = parent.subarray((index % TILE_WIDTH) * HASH_SIZE, ((index % TILE_WIDTH) + 1) * HASH_SIZE);
    const nodes = interiorNodes(data);
    if (!hashEquals(nodes[TILE_HEIGHT]!, want)) {
      throw new CorruptStoreError(`${this.store.description}: ${path} does not hash to its entry in the tile above: the stored tile is corrupt`);
    }
    this.remember(key, nodes);
    return nodes;
  }

  /** Entries of bundle `index`, the first `width` of them, verified against the level-0 tile. */
  async bundle(index: number, width: number): Promise<Uint8Array[]> {
    const size = this.edge.size;
    if (index * TILE_WIDTH + width > size) throw new RangeError(`entries [${index * TILE_WIDTH}, ${index * TILE_WIDTH + width}) are beyond the tree size ${size}`);
    if (index === Math.floor(size / TILE_WIDTH)) return this.edge.partialEntries().slice(0, width);
    const path = tilePath({ level: "entries", index, width: TILE_WIDTH });
    // Asked before the read: a prune deletes bundles only after raising the minimum (log.ts `prune`).
    if ((index + 1) * TILE_WIDTH <= this.prunedTo()) throw new PrunedError(path, (index + 1) * TILE_WIDTH, this.prunedTo());
    const raw = await this.store.readBundle(index);
    if (!raw) throw new CorruptStoreError(`${this.store.description} is missing ${path}, which the tree of ${size} entries needs`);
    let entries: Uint8Array[];
    try {
      entries = decodeEntryBundle(raw);
    } catch (e) {
      throw new CorruptStoreError(`${this.store.description}: ${path} is not a valid entry bundle: ${(e as Error).message}`);
    }
    const l0 = await this.tile(0, index, TILE_WIDTH);
    if (entries.length !== TILE_WIDTH || entries.some((e, i) => !hashEquals(leafHash(e), l0.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE)))) {
      throw new CorruptStoreError(`${this.store.description}: ${path} does not match the leaf hashes of its level-0 tile: the stored bundle is corrupt`);
    }
    return entries.slice(0, width);
  }

  /** Entries [start, end). */
  async entries(start: number, end: number): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for (let n = Math.floor(start / TILE_WIDTH); n * TILE_WIDTH < end; n++) {
      const from = n * TILE_WIDTH;
      const b = await this.bundle(n, Math.min(TILE_WIDTH, end - from));
      out.push(...b.slice(Math.max(0, start - from)));
    }
    return out;
  }

  /**
   * Run a proof generator at `size`: a first pass records which nodes it reads, their tiles are fetched, and a
   * second pass computes the proof synchronously over them.
   */
  async run<T>(size: number, gen: (read: NodeReader) => T): Promise<T> {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.edge.size) throw new RangeError(`tree size ${size} is not in 0..${this.edge.size}`);
    const wanted = new Set<string>();
    gen((level, index) => {
      const L = Math.floor(level / TILE_HEIGHT);
      wanted.add(`${L}/${Math.floor((index * 2 ** (level % TILE_HEIGHT)) / TILE_WIDTH)}`);
      return new Uint8Array(HASH_SIZE);
    });
    const tiles = new Map<string, { full: TileNodes | null; partial: Uint8Array | null }>();
    await Promise.all(
      [...wanted].map(async (k) => {
        const [L, n] = k.split("/").map(Number) as [number, number];
        const width = Math.min(TILE_WIDTH, hashesAtLevel(size, L) - n * TILE_WIDTH);
        const fullNow = (n + 1) * TILE_WIDTH <= hashesAtLevel(this.edge.size, L);
        // A tile full now serves any prefix of itself; its interior nodes are cached with it.
        tiles.set(k, fullNow ? { full: await this.fullTile(L, n), partial: null } : { full: null, partial: await this.tile(L, n, width) });
      }),
    );
    return gen((level, index) => {
      const L = Math.floor(level / TILE_HEIGHT);
      const sub = level % TILE_HEIGHT;
      const first = index * 2 ** sub;
      const t = tiles.get(`${L}/${Math.floor(first / TILE_WIDTH)}`)!;
      const at = (first % TILE_WIDTH) >> sub;
      if (t.full) return t.full[sub]!.subarray(at * HASH_SIZE, (at + 1) * HASH_SIZE);
      return tileSubtreeHash(t.partial!, first % TILE_WIDTH, 2 ** sub);
    });
  }

  rootAt(size: number): Promise<Hash> {
    return this.run(size, (read) => rangeHash(0, size, read));
  }

  inclusionProof(index: number, size: number): Promise<Hash[]> {
    return this.run(size, (read) => inclusionProof(index, size, read));
  }

  /** A batch inclusion proof (proof/batch.ts) and the batch's leaf hashes, all read from verified tiles. */
  batchInclusionProof(indices: readonly number[], size: number): Promise<{ leafHashes: Hash[]; proof: Hash[] }> {
    return this.run(size, (read) => ({ proof: batchInclusionProof(indices, size, read), leafHashes: indices.map((i) => read(0, i)) }));
  }

  consistencyProof(size1: number, size2: number): Promise<Hash[]> {
    return this.run(size2, (read) => consistencyProof(size1, size2, read));
  }

  /**
   * Leaf hashes [start, end) from the stored level-0 tiles as they are, unverified and uncached: only duplicate
   * detection uses them, which a corrupt hash can only make miss. Each is handed over as its tile and its offset
   * in it (tile[at, at + 32)): a filter rebuild reads every leaf of the log, so no view is made per leaf.
   */
  async rawLeafHashes(start: number, end: number, each: (tile: Uint8Array, at: number, index: number) => void, strict = false): Promise<void> {
    for (let n = Math.floor(start / TILE_WIDTH); n * TILE_WIDTH < end; n++) {
      const full = (n + 1) * TILE_WIDTH <= hashesAtLevel(this.edge.size, 0);
      const t = full ? (this.inflight.get(`0/${n}`) ?? (await this.store.readTile(0, n))) : this.edge.partialTile(0);
      if (!t) {
        if (strict) throw new Error(`${this.store.description} has no level-0 tile ${n}`);
        continue;
      }
      for (let i = Math.max(start, n * TILE_WIDTH); i < Math.min(end, n * TILE_WIDTH + t.length / HASH_SIZE); i++) {
        each(t, (i - n * TILE_WIDTH) * HASH_SIZE, i);
      }
    }
  }

  /** Leaf hashes [start, end) from verified level-0 tiles. */
  async leafHashes(start: number, end: number, each: (h: Hash, index: number) => void): Promise<void> {
    for (let n = Math.floor(start / TILE_WIDTH); n * TILE_WIDTH < end; n++) {
      const width = Math.min(TILE_WIDTH, this.edge.size - n * TILE_WIDTH);
      const t = await this.tile(0, n, width);
      for (let i = Math.max(start, n * TILE_WIDTH); i < Math.min(end, n * TILE_WIDTH + width); i++) {
        const at = (i - n * TILE_WIDTH) * HASH_SIZE;
        each(t.subarray(at, at + HASH_SIZE), i);
      }
    }
  }
}
