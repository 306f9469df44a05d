/**
 * Duplicate detection (Tessera's "antispam"): leaf hash → index for the most recent `capacity` entries, in a few
 * generations of open-addressing tables held in typed arrays (no per-entry objects, nothing for the GC to walk).
 * New entries go into the newest generation; when it is full the oldest generation is dropped whole — O(1)
 * eviction, where a FIFO over a Map walks deleted slots — so the window holds between (G-1)/G and all of the
 * last `capacity` entries. Memory is fixed by the capacity: 24 bytes a slot at load ≤ 1/2.
 *
 * Keys are the first 128 bits of the leaf hash: finding an entry that collides with another on 128 bits of
 * SHA-256 costs about 2^108 work even against a full window, so a hit needs no confirming read.
 *
 * This is the bounded front of the store's persistent duplicate index (storage/store.ts `findLeaves`): it starts
 * empty at every restart, holds what this process appended or looked up, and a miss asks the store. So restart
 * costs nothing and detection covers the whole log, not just the window.
 */
import type { Hash } from "./rfc6962.js";

const GENERATIONS = 4;

/** Big-endian u32 at `o` (inlined by hand: the hot path allocates nothing). */
const u32 = (h: Hash, o: number) => ((h[o]! << 24) | (h[o + 1]! << 16) | (h[o + 2]! << 8) | h[o + 3]!) >>> 0;

class Generation {
  readonly keys: Uint32Array;
  readonly indices: Float64Array;
  count = 0;
  private readonly mask: number;

  constructor(readonly capacity: number) {
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
    for (;;) {
      if (this.indices[s] === -1) return s;
      const k = s * 4;
      if (keys[k] === w0 && keys[k + 1] === w1 && keys[k + 2] === w2 && keys[k + 3] === w3) return s;
      s = (s + 1) & this.mask;
    }
  }

  get(leaf: Hash): number | undefined {
    const i = this.indices[this.slot(u32(leaf, 0), u32(leaf, 4), u32(leaf, 8), u32(leaf, 12))]!;
    return i === -1 ? undefined : i;
  }

  set(leaf: Hash, index: number): void {
    const w0 = u32(leaf, 0);
    const w1 = u32(leaf, 4);
    const w2 = u32(leaf, 8);
    const w3 = u32(leaf, 12);
    const s = this.slot(w0, w1, w2, w3);
    if (this.indices[s] === -1) this.count++;
    const k = s * 4;
    this.keys[k] = w0;
    this.keys[k + 1] = w1;
    this.keys[k + 2] = w2;
    this.keys[k + 3] = w3;
    this.indices[s] = index;
  }
}

export class Antispam {
  private gens: Generation[] = [];
  private readonly perGeneration: number;

  /** `capacity` 0 turns duplicate detection off. */
  constructor(readonly capacity: number) {
    this.perGeneration = Math.max(1, Math.ceil(capacity / GENERATIONS));
  }

  get enabled(): boolean {
    return this.capacity > 0;
  }

  /** Index of an entry with this leaf hash, if it is inside the window. */
  lookup(leaf: Hash): number | undefined {
    if (!this.enabled) return undefined;
    for (let g = this.gens.length - 1; g >= 0; g--) {
      const i = this.gens[g]!.get(leaf);
      if (i !== undefined) return i;
    }
    return undefined;
  }

  /** Remember a new entry's index (the caller has checked it is not a duplicate). */
  remember(leaf: Hash, index: number): void {
    if (!this.enabled) return;
    let g = this.gens[this.gens.length - 1];
    if (!g || g.count >= this.perGeneration) {
      g = new Generation(this.perGeneration);
      this.gens.push(g);
      if (this.gens.length > GENERATIONS) this.gens.shift(); // O(1): the oldest generation goes whole
    }
    g.set(leaf, index);
  }

  /** Entries remembered (for metrics and tests). */
  get size(): number {
    return this.gens.reduce((n, g) => n + g.count, 0);
  }
}
