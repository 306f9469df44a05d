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
 * The table is rebuilt at startup from the level-0 tiles of the last `capacity` entries (the leaf hashes are
 * stored there already), so it persists across restarts at a cost bounded by the window, not the log.
 */
import type { Hash } from "./rfc6962.js";

const GENERATIONS = 4;

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

  /** Slot of `leaf`, or of the empty slot where it would go. */
  private slot(w0: number, w1: number, w2: number, w3: number): number {
    let s = (w0 ^ Math.imul(w1, 0x9e3779b1)) & this.mask;
    for (;;) {
      if (this.indices[s] === -1) return s;
      const k = s * 4;
      if (this.keys[k] === w0 && this.keys[k + 1] === w1 && this.keys[k + 2] === w2 && this.keys[k + 3] === w3) return s;
      s = (s + 1) & this.mask;
    }
  }

  get(w: readonly [number, number, number, number]): number | undefined {
    const i = this.indices[this.slot(w[0], w[1], w[2], w[3])]!;
    return i === -1 ? undefined : i;
  }

  set(w: readonly [number, number, number, number], index: number): void {
    const s = this.slot(w[0], w[1], w[2], w[3]);
    if (this.indices[s] === -1) this.count++;
    this.keys.set(w, s * 4);
    this.indices[s] = index;
  }
}

function words(leaf: Hash): [number, number, number, number] {
  const r = (o: number) => ((leaf[o]! << 24) | (leaf[o + 1]! << 16) | (leaf[o + 2]! << 8) | leaf[o + 3]!) >>> 0;
  return [r(0), r(4), r(8), r(12)];
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
    const w = words(leaf);
    for (let g = this.gens.length - 1; g >= 0; g--) {
      const i = this.gens[g]!.get(w);
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
    g.set(words(leaf), index);
  }

  /** Entries remembered (for metrics and tests). */
  get size(): number {
    return this.gens.reduce((n, g) => n + g.count, 0);
  }
}
