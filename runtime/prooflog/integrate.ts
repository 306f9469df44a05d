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
import { decompose } from "./compact.js";
import { type Hash, EMPTY_ROOT, HASH_SIZE, leafHash, nodeHash, nodeHashInto, nodeHashWords } from "./rfc6962.js";
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

/** The largest tree size the integrator keeps exact (2^53 - 1: JavaScript's safe integers). */
const MAX_LEVELS = 53;

export class Integrator {
  private size_: number;
  /**
   * The compact range in place: rangeBuf[32·l, 32·l + 32) is the root of the perfect subtree of height l when bit
   * l of the size is set (C2SP/RFC 9162 decomposition, largest leftmost). One buffer, updated in place: an append
   * allocates nothing.
   */
  private readonly rangeBuf = new Uint8Array(MAX_LEVELS * HASH_SIZE);
  /** rangeBuf, the carry and the partial tiles as words: the hot path moves hashes 4 bytes at a time. */
  private readonly rangeW = new Int32Array(this.rangeBuf.buffer);
  private readonly carryW = new Int32Array(HASH_SIZE / 4);
  /** A generic `append`'s leaf hash, copied to word alignment. */
  private readonly leafW = new Int32Array(HASH_SIZE / 4);
  private readonly leafB = new Uint8Array(this.leafW.buffer);
  /** Partial tile buffers, one per tile level, each 8,192 bytes; `widths[L]` hashes are valid. */
  private readonly bufs: Uint8Array[] = [];
  private readonly bufsW: Int32Array[] = [];
  private readonly widths: number[] = [];
  private entries: Uint8Array[];
  private completedTiles: FullTile[] = [];
  private completedBundles: FullBundle[] = [];

  private constructor(edge: Edge) {
    this.entries = [...edge.entries];
    edge.tiles.forEach((t, L) => {
      this.tileBuf(L).set(t);
      this.widths[L] = t.length / HASH_SIZE;
    });
    this.size_ = edge.size;
    const levels = decompose(edge.size);
    Integrator.subtreesFromEdge(edge).forEach((h, i) => this.rangeBuf.set(h, levels[i]! * HASH_SIZE));
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

  /** The subtree roots implied by the edge tiles (largest first): each level's partial tile decomposes into perfect subtrees. */
  private static subtreesFromEdge(edge: Edge): Hash[] {
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
    const want = decompose(edge.size).length;
    if (hashes.length !== want) throw new Error(`size ${edge.size} needs ${want} subtree hashes, got ${hashes.length}`);
    return hashes;
  }

  get size(): number {
    return this.size_;
  }

  /** Merkle Tree Hash of [0, size): the subtree roots folded right to left. */
  root(): Hash {
    const n = this.size_;
    if (n === 0) return EMPTY_ROOT;
    const out = new Uint8Array(HASH_SIZE);
    let have = false;
    for (let l = 0, rest = n; rest > 0; l++, rest = Math.floor(rest / 2)) {
      if (rest % 2 === 0) continue;
      if (!have) {
        out.set(this.rangeBuf.subarray(l * HASH_SIZE, (l + 1) * HASH_SIZE));
        have = true;
      } else nodeHashInto(this.rangeBuf, l * HASH_SIZE, out, 0, out, 0);
    }
    return out;
  }

  /** Tile level L's partial tile buffer (allocated empty the first time). */
  private tileBuf(L: number): Uint8Array {
    let buf = this.bufs[L];
    if (!buf) {
      buf = this.bufs[L] = new Uint8Array(TILE_WIDTH * HASH_SIZE);
      this.bufsW[L] = new Int32Array(buf.buffer);
      this.widths[L] = 0;
    }
    return buf;
  }

  /** Record hash words h[hw, hw + 8), a node at tree level 8·L and index `index`, as the next hash of tile level L. */
  private toTile(L: number, index: number, h: Int32Array, hw: number): void {
    const buf = this.tileBuf(L);
    const bw = this.bufsW[L]!;
    const w = this.widths[L]!;
    for (let i = 0, o = w * 8; i < 8; i++) bw[o + i] = h[hw + i]!;
    if (w + 1 === TILE_WIDTH) {
      this.completedTiles.push({ level: L, index: Math.floor(index / TILE_WIDTH), data: buf.slice() });
      this.widths[L] = 0;
    } else this.widths[L] = w + 1;
  }

  /** Append one entry whose leaf hash the caller already computed, at leaf[at, at + 32). */
  append(entry: Uint8Array, leaf: Hash, at = 0): void {
    for (let i = 0; i < HASH_SIZE; i++) this.leafB[i] = leaf[at + i]!;
    this.appendWords(entry, this.leafW, 0);
  }

  /**
   * `append` for a leaf hash at words lw…lw + 7 of `leaf` (the sequencer's packed batch; hashes are only ever moved
   * whole words at a time, so the platform's byte order does not matter). The new leaf merges with every subtree of equal
   * height (binary carry), one node hash each; the nodes landing on a tile boundary level (8·L) are the next hashes
   * of tile level L. The carry is hashed in place; nothing is allocated.
   */
  appendWords(entry: Uint8Array, leaf: Int32Array, lw: number): void {
    const index = this.size_;
    if (index >= Number.MAX_SAFE_INTEGER) throw new RangeError("the log is full (2^53 - 1 entries)");
    const l0 = this.bufsW[0];
    const w0 = this.widths[0] ?? 0;
    if (l0 !== undefined && w0 + 1 < TILE_WIDTH) {
      // The common case: the leaf's tile is not completing.
      for (let i = 0, o = w0 * 8; i < 8; i++) l0[o + i] = leaf[lw + i]!;
      this.widths[0] = w0 + 1;
    } else this.toTile(0, index, leaf, lw);
    const r = this.rangeW;
    // Trailing one bits of the old size: the subtrees the new leaf merges with, lowest first.
    let carries = 0;
    for (let rest = index; rest % 2 === 1; rest = (rest - 1) / 2) carries++;
    if (carries === 0) for (let i = 0; i < 8; i++) r[i] = leaf[lw + i]!;
    else {
      // The carry climbs: H(slot 0, leaf) at level 1, then H(slot l, carry) at level l + 1, hashed in place.
      const c = this.carryW;
      nodeHashWords(r, 0, leaf, lw, c, 0);
      for (let l = 1; ; l++) {
        if (l % TILE_HEIGHT === 0) this.toTile(l / TILE_HEIGHT, Math.floor(index / 2 ** l), c, 0);
        if (l === carries) break;
        nodeHashWords(r, l * 8, c, 0, c, 0);
      }
      for (let i = 0, o = carries * 8; i < 8; i++) r[o + i] = c[i]!;
    }
    this.size_ = index + 1;
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
