/**
 * Integration, the pure core of the sequencer (Tessera's model): appending leaves to the tree produces the C2SP
 * tlog-tiles the log persists. Only the tree's right edge lives in memory — the compact range and, per tile
 * level, the partial tile still growing, plus the partial entry bundle — so memory is O(log n) whatever the
 * log's size, and the edge alone restores the whole append state after a restart.
 *
 * Invariant: at size n, edge tile level L holds exactly floor(n / 256^L) mod 256 hashes (the partial tile of
 * that level, C2SP tlog-tiles), the edge bundle holds n mod 256 entries, and the compact range is the one the
 * edge tiles decompose into. Full tiles and bundles leave memory the moment they complete.
 */
import { CompactRange } from "./compact.js";
import { type Hash, HASH_SIZE, leafHash, nodeHash } from "./rfc6962.js";
import { encodeEntryBundle, TILE_HEIGHT, TILE_WIDTH } from "./tiles.js";

export interface FullTile {
  level: number;
  index: number;
  /** 256 hashes, 8,192 bytes. */
  data: Uint8Array;
}

export interface FullBundle {
  index: number;
  /** The encoded entry bundle (uint16 length-prefixed entries), uncompressed. */
  data: Uint8Array;
}

/** The right edge of the tree at `size`: everything needed to keep appending. */
export interface Edge {
  size: number;
  /** Per tile level, the partial tile's hashes (width·32 bytes; empty when the level has no partial tile). */
  tiles: Uint8Array[];
  /** The partial entry bundle's entries (size mod 256 of them). */
  entries: Uint8Array[];
}

export class EdgeError extends Error {
  override name = "EdgeError";
}

/** Hashes at tile level `level` in a tree of `size` leaves. */
export function hashesAtLevel(size: number, level: number): number {
  return Math.floor(size / TILE_WIDTH ** level);
}

/** Merkle hash of `count` (a power of two ≤ 256) consecutive tile hashes starting at `from`. */
export function tileSubtreeHash(tile: Uint8Array, from: number, count: number): Hash {
  let row: Hash[] = [];
  for (let i = 0; i < count; i++) row.push(tile.subarray((from + i) * HASH_SIZE, (from + i + 1) * HASH_SIZE));
  while (row.length > 1) {
    const next: Hash[] = [];
    for (let i = 0; i < row.length; i += 2) next.push(nodeHash(row[i]!, row[i + 1]!));
    row = next;
  }
  return row[0]!;
}

export class Integrator {
  private range: CompactRange;
  /** Partial tile buffers, one per tile level, each 8,192 bytes; `widths[L]` hashes are valid. */
  private readonly bufs: Uint8Array[] = [];
  private readonly widths: number[] = [];
  private entries: Uint8Array[];
  private completedTiles: FullTile[] = [];
  private completedBundles: FullBundle[] = [];

  private constructor(edge: Edge) {
    this.entries = [...edge.entries];
    edge.tiles.forEach((t, L) => {
      const buf = new Uint8Array(TILE_WIDTH * HASH_SIZE);
      buf.set(t);
      this.bufs[L] = buf;
      this.widths[L] = t.length / HASH_SIZE;
    });
    this.range = Integrator.rangeFromEdge(edge);
  }

  static empty(): Integrator {
    return new Integrator({ size: 0, tiles: [], entries: [] });
  }

  /**
   * Restore from a stored edge, checking it is the edge of a tree of that size: widths match, and the partial
   * bundle's entries hash to the partial level-0 tile. (The root is checked by the caller against what was signed.)
   */
  static fromEdge(edge: Edge): Integrator {
    for (let L = 0; L < Math.max(edge.tiles.length, 1); L++) {
      const want = hashesAtLevel(edge.size, L) % TILE_WIDTH;
      const got = (edge.tiles[L]?.length ?? 0) / HASH_SIZE;
      if (got !== want) throw new EdgeError(`edge tile at level ${L} has ${got} hashes; a tree of ${edge.size} leaves has ${want}`);
    }
    if (hashesAtLevel(edge.size, edge.tiles.length) !== 0) throw new EdgeError(`edge has ${edge.tiles.length} tile levels; a tree of ${edge.size} leaves needs more`);
    if (edge.entries.length !== edge.size % TILE_WIDTH) throw new EdgeError(`edge bundle has ${edge.entries.length} entries; a tree of ${edge.size} leaves has ${edge.size % TILE_WIDTH}`);
    const l0 = edge.tiles[0] ?? new Uint8Array(0);
    edge.entries.forEach((e, i) => {
      const h = leafHash(e);
      if (Buffer.compare(Buffer.from(h), Buffer.from(l0.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE))) !== 0) {
        throw new EdgeError(`edge bundle entry ${edge.size - edge.entries.length + i} does not hash to its level-0 tile hash`);
      }
    });
    return new Integrator(edge);
  }

  /** The compact range implied by the edge tiles: each level's partial tile decomposes into perfect subtrees. */
  private static rangeFromEdge(edge: Edge): CompactRange {
    const hashes: Hash[] = [];
    for (let L = edge.tiles.length - 1; L >= 0; L--) {
      const tile = edge.tiles[L]!;
      const width = tile.length / HASH_SIZE;
      let at = 0;
      for (let sub = TILE_HEIGHT - 1; sub >= 0; sub--) {
        if (width & (1 << sub)) {
          hashes.push(tileSubtreeHash(tile, at, 1 << sub));
          at += 1 << sub;
        }
      }
    }
    return CompactRange.fromSubtrees(edge.size, hashes);
  }

  get size(): number {
    return this.range.size;
  }

  root(): Hash {
    return this.range.root();
  }

  // Every node the compact range creates at a tile boundary level (8·L) is the next hash of tile level L.
  private readonly visit = (level: number, _index: number, h: Hash): void => {
    if (level % TILE_HEIGHT !== 0) return;
    const L = level / TILE_HEIGHT;
    let buf = this.bufs[L];
    if (!buf) {
      buf = this.bufs[L] = new Uint8Array(TILE_WIDTH * HASH_SIZE);
      this.widths[L] = 0;
    }
    const w = this.widths[L]!;
    buf.set(h, w * HASH_SIZE);
    if (w + 1 === TILE_WIDTH) {
      const index = Math.floor(_index / TILE_WIDTH);
      this.completedTiles.push({ level: L, index, data: buf.slice() });
      this.widths[L] = 0;
    } else this.widths[L] = w + 1;
  };

  /** Append one entry whose leaf hash the caller already computed (the sequencer hashes at enqueue). */
  append(entry: Uint8Array, leaf: Hash): void {
    const index = this.range.size;
    this.range.append(leaf, this.visit);
    this.entries.push(entry);
    if (this.entries.length === TILE_WIDTH) {
      this.completedBundles.push({ index: Math.floor(index / TILE_WIDTH), data: encodeEntryBundle(this.entries) });
      this.entries = [];
    }
  }

  /** Full tiles and bundles completed since the last call (the caller persists them). */
  takeCompleted(): { tiles: FullTile[]; bundles: FullBundle[] } {
    const out = { tiles: this.completedTiles, bundles: this.completedBundles };
    this.completedTiles = [];
    this.completedBundles = [];
    return out;
  }

  /** A copy of the current edge (what a store keeps so a restart needs nothing else). */
  edge(): Edge {
    const levels = this.levelCount();
    const tiles: Uint8Array[] = [];
    for (let L = 0; L < levels; L++) tiles.push((this.bufs[L] ?? new Uint8Array(0)).slice(0, (this.widths[L] ?? 0) * HASH_SIZE));
    return { size: this.size, tiles, entries: [...this.entries] };
  }

  /** Tile levels that exist at this size: the lowest level whose hash count is zero is the first not needed. */
  private levelCount(): number {
    let L = 0;
    while (hashesAtLevel(this.size, L) > 0) L++;
    return Math.max(L, 1);
  }

  /** The partial tile at level L (width·32 bytes), a view valid until the next append. */
  partialTile(level: number): Uint8Array {
    return (this.bufs[level] ?? new Uint8Array(0)).subarray(0, (this.widths[level] ?? 0) * HASH_SIZE);
  }

  partialEntries(): readonly Uint8Array[] {
    return this.entries;
  }
}
