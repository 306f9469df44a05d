/**
 * Leaf hash → index in an open-addressing table held in one typed array: no per-entry objects, nothing for the GC
 * to walk, 24 bytes a slot at load ≤ 1/2. A slot is six u32 words side by side — the key's four, then index + 1 in
 * two (0: empty) — so a probe touches one place in memory, not a key array and an index array apart (one cache
 * miss instead of two: the tables are far bigger than the caches). Keys are the first 128 bits of the leaf hash:
 * finding two entries whose leaf hashes collide on 128 bits of SHA-256 costs about 2^64 work (2^108 to hit a given
 * one), so a hit needs no confirming read. Fixed tables (the duplicate window's generations) refuse nothing and are
 * dropped whole; growable ones (the memory store's index) double when half full.
 */
import type { Hash } from "./rfc6962.js";

/** Big-endian u32 at `o` (inlined by hand: the hot path allocates nothing). */
export const u32 = (h: Hash, o: number) => ((h[o]! << 24) | (h[o + 1]! << 16) | (h[o + 2]! << 8) | h[o + 3]!) >>> 0;

const W = 6;
const TWO32 = 2 ** 32;

export class LeafTable {
  private slots: Uint32Array;
  private mask: number;
  count = 0;

  /** Room for `capacity` keys at load ≤ 1/2; with `growable`, more are taken by doubling. */
  constructor(
    readonly capacity = 16,
    private readonly growable = false,
  ) {
    let n = 16;
    while (n < capacity * 2) n *= 2;
    this.mask = n - 1;
    this.slots = new Uint32Array(n * W);
  }

  /** Word offset of the slot holding the key (the leaf hash's first 128 bits), or of the empty slot where it would go. */
  private slot(w0: number, w1: number, w2: number, w3: number): number {
    let s = (w0 ^ Math.imul(w1, 0x9e3779b1)) & this.mask;
    const t = this.slots;
    for (;;) {
      const k = s * W;
      if (t[k + 4] === 0 && t[k + 5] === 0) return k;
      if (t[k] === w0 && t[k + 1] === w1 && t[k + 2] === w2 && t[k + 3] === w3) return k;
      s = (s + 1) & this.mask;
    }
  }

  /** The index recorded for the leaf hash at leaf[at, at + 32). */
  get(leaf: Hash, at = 0): number | undefined {
    return this.getKey(u32(leaf, at), u32(leaf, at + 4), u32(leaf, at + 8), u32(leaf, at + 12));
  }

  /** `get` by the key's four words (callers probing several tables split the hash once). */
  getKey(w0: number, w1: number, w2: number, w3: number): number | undefined {
    const k = this.slot(w0, w1, w2, w3);
    const t = this.slots;
    const stored = t[k + 4]! * TWO32 + t[k + 5]!;
    return stored === 0 ? undefined : stored - 1;
  }

  /** Record the leaf hash at leaf[at, at + 32) → `index` (replacing an earlier index for the same leaf). */
  set(leaf: Hash, index: number, at = 0): void {
    this.put(u32(leaf, at), u32(leaf, at + 4), u32(leaf, at + 8), u32(leaf, at + 12), index);
  }

  /**
   * `set` for `count` packed leaf hashes from leaves[at], the first getting index `first`, the next first + 1, …
   * (at most the room left in a fixed table). The home slots are read in a first pass: independent loads the CPU
   * overlaps, so the inserts then find their lines in cache instead of waiting for one miss after another (the
   * tables are far bigger than the caches; a batch's lines are not).
   */
  setMany(leaves: Uint8Array, at: number, count: number, first: number): void {
    const t = this.slots;
    const mask = this.mask;
    let touched = 0;
    for (let i = 0, o = at; i < count; i++, o += 32) touched ^= t[((u32(leaves, o) ^ Math.imul(u32(leaves, o + 4), 0x9e3779b1)) & mask) * W + 4]!;
    this.touched = touched;
    for (let i = 0, o = at; i < count; i++, o += 32) this.put(u32(leaves, o), u32(leaves, o + 4), u32(leaves, o + 8), u32(leaves, o + 12), first + i);
  }

  /** The first pass's loads, kept so they are not optimised away. */
  private touched = 0;

  put(w0: number, w1: number, w2: number, w3: number, index: number): void {
    if (this.growable && (this.count + 1) * 2 > this.mask + 1) this.grow();
    const k = this.slot(w0, w1, w2, w3);
    const t = this.slots;
    if (t[k + 4] === 0 && t[k + 5] === 0) this.count++;
    t[k] = w0;
    t[k + 1] = w1;
    t[k + 2] = w2;
    t[k + 3] = w3;
    const stored = index + 1;
    t[k + 4] = Math.floor(stored / TWO32);
    t[k + 5] = stored >>> 0;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Uint32Array(old.length * 2);
    this.mask = (old.length / W) * 2 - 1;
    this.count = 0;
    for (let k = 0; k < old.length; k += W) {
      if (old[k + 4] !== 0 || old[k + 5] !== 0) this.put(old[k]!, old[k + 1]!, old[k + 2]!, old[k + 3]!, old[k + 4]! * TWO32 + old[k + 5]! - 1);
    }
  }
}
