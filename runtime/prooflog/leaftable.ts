/**
 * Leaf hash → index in an open-addressing table held in typed arrays: no per-entry objects, nothing for the GC
 * to walk, 24 bytes a slot at load ≤ 1/2. Keys are the first 128 bits of the leaf hash: finding two entries
 * whose leaf hashes collide on 128 bits of SHA-256 costs about 2^64 work (2^108 to hit a given one), so a hit
 * needs no confirming read. Fixed tables (the duplicate window's generations) refuse nothing and are dropped
 * whole; growable ones (the memory store's index) double when half full.
 */
import type { Hash } from "./rfc6962.js";

/** Big-endian u32 at `o` (inlined by hand: the hot path allocates nothing). */
export const u32 = (h: Hash, o: number) => ((h[o]! << 24) | (h[o + 1]! << 16) | (h[o + 2]! << 8) | h[o + 3]!) >>> 0;

export class LeafTable {
  private keys: Uint32Array;
  private indices: Float64Array;
  private mask: number;
  count = 0;

  /** Room for `capacity` keys at load ≤ 1/2; with `growable`, more are taken by doubling. */
  constructor(
    readonly capacity = 16,
    private readonly growable = false,
  ) {
    let slots = 16;
    while (slots < capacity * 2) slots *= 2;
    this.mask = slots - 1;
    this.keys = new Uint32Array(slots * 4);
    this.indices = new Float64Array(slots).fill(-1);
  }

  /** Slot holding the key (the leaf hash's first 128 bits), or the empty slot where it would go. */
  private slot(w0: number, w1: number, w2: number, w3: number): number {
    let s = (w0 ^ Math.imul(w1, 0x9e3779b1)) & this.mask;
    const keys = this.keys;
    const indices = this.indices;
    for (;;) {
      if (indices[s] === -1) return s;
      const k = s * 4;
      if (keys[k] === w0 && keys[k + 1] === w1 && keys[k + 2] === w2 && keys[k + 3] === w3) return s;
      s = (s + 1) & this.mask;
    }
  }

  get(leaf: Hash): number | undefined {
    return this.getKey(u32(leaf, 0), u32(leaf, 4), u32(leaf, 8), u32(leaf, 12));
  }

  /** `get` by the key's four words (callers probing several tables split the hash once). */
  getKey(w0: number, w1: number, w2: number, w3: number): number | undefined {
    const i = this.indices[this.slot(w0, w1, w2, w3)]!;
    return i === -1 ? undefined : i;
  }

  /** Record `leaf` → `index` (replacing an earlier index for the same leaf). */
  set(leaf: Hash, index: number): void {
    this.put(u32(leaf, 0), u32(leaf, 4), u32(leaf, 8), u32(leaf, 12), index);
  }

  put(w0: number, w1: number, w2: number, w3: number, index: number): void {
    if (this.growable && (this.count + 1) * 2 > this.indices.length) this.grow();
    const s = this.slot(w0, w1, w2, w3);
    if (this.indices[s] === -1) this.count++;
    const k = s * 4;
    this.keys[k] = w0;
    this.keys[k + 1] = w1;
    this.keys[k + 2] = w2;
    this.keys[k + 3] = w3;
    this.indices[s] = index;
  }

  private grow(): void {
    const { keys, indices } = this;
    this.keys = new Uint32Array(keys.length * 2);
    this.indices = new Float64Array(indices.length * 2).fill(-1);
    this.mask = indices.length * 2 - 1;
    this.count = 0;
    for (let s = 0; s < indices.length; s++) {
      if (indices[s] !== -1) this.put(keys[s * 4]!, keys[s * 4 + 1]!, keys[s * 4 + 2]!, keys[s * 4 + 3]!, indices[s]!);
    }
  }
}
