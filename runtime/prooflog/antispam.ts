/**
 * Duplicate detection (Tessera's "antispam"): leaf hash → index for the most recent `capacity` entries, in a few
 * generations of open-addressing tables held in typed arrays (no per-entry objects, nothing for the GC to walk).
 * New entries go into the newest generation; when it is full the oldest generation is dropped whole — O(1)
 * eviction, where a FIFO over a Map walks deleted slots — so the window holds between (G-1)/G and all of the
 * last `capacity` entries. Memory is fixed by the capacity: 24 bytes a slot at load ≤ 1/2.
 *
 * Each generation is a LeafTable (leaftable.ts): keys are the first 128 bits of the leaf hash, so a hit needs no
 * confirming read.
 *
 * This is the bounded front of the store's persistent duplicate index (storage/store.ts `findLeaves`): it starts
 * empty at every restart, holds what this process appended or looked up, and a miss asks the membership filter,
 * then (on its "maybe") the store (dedupe.ts). So restart costs nothing and detection covers the whole log.
 */
import { LeafTable, u32 } from "./leaftable.js";
import type { Hash } from "./rfc6962.js";

const GENERATIONS = 4;

export class Antispam {
  private gens: LeafTable[] = [];
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

  /**
   * The index of an entry with the leaf hash at leaf[at, at + 32) if the window holds one; else remember `index`
   * for it. One pass over the hash.
   */
  claim(leaf: Hash, index: number, at = 0): number | undefined {
    if (!this.enabled) return undefined;
    const w0 = u32(leaf, at);
    const w1 = u32(leaf, at + 4);
    const w2 = u32(leaf, at + 8);
    const w3 = u32(leaf, at + 12);
    for (let g = this.gens.length - 1; g >= 0; g--) {
      const i = this.gens[g]!.getKey(w0, w1, w2, w3);
      if (i !== undefined) return i;
    }
    this.newest().put(w0, w1, w2, w3, index);
    return undefined;
  }

  private newest(): LeafTable {
    let g = this.gens[this.gens.length - 1];
    if (!g || g.count >= this.perGeneration) {
      g = new LeafTable(this.perGeneration);
      this.gens.push(g);
      if (this.gens.length > GENERATIONS) this.gens.shift(); // O(1): the oldest generation goes whole
    }
    return g;
  }

  /** Remember a new entry's index, its leaf hash at leaf[at, at + 32) (the caller has checked it is not a duplicate). */
  remember(leaf: Hash, index: number, at = 0): void {
    if (!this.enabled) return;
    this.newest().set(leaf, index, at);
  }

  /** Entries remembered (for metrics and tests). */
  get size(): number {
    return this.gens.reduce((n, g) => n + g.count, 0);
  }
}
