/**
 * A membership filter over the leaf hashes of the whole log (a Bloom filter): "certainly not in the log" lets a
 * new entry be sequenced without reading the store's persistent duplicate index, which is what every new entry
 * would otherwise cost (a bucket file read, a PostgreSQL query, an S3 GET). "Maybe" still asks the store.
 *
 * Leaf hashes are SHA-256 outputs, so the probe positions are taken straight from their last 128 bits (the
 * window's tables key on the first 128): no hashing here. Four probes; the sequencer sizes the filter to about
 * 16 bits an entry (a false "maybe" about once in 400 new entries) up to its cap, beyond which the false-maybe
 * rate rises with the log and duplicate detection degrades towards a store read per entry, never to a missed
 * duplicate. It has no false "no": every leaf added is found.
 */
import { u32 } from "./leaftable.js";
import type { Hash } from "./rfc6962.js";

export class LeafFilter {
  private readonly words: Uint32Array;
  private readonly mask: number;
  count = 0;

  /** `bits`: a power of two from 2^5 to 2^32. */
  constructor(readonly bits: number) {
    if (!(bits >= 32 && bits <= 2 ** 32 && Number.isInteger(Math.log2(bits)))) throw new RangeError(`filter size ${bits} is not a power of two in [2^5, 2^32]`);
    this.words = new Uint32Array(bits / 32);
    this.mask = bits - 1;
  }

  /** A filter with about 16 bits for each of `entries`, at least 2^16 and at most `maxBits` bits. */
  static sizedFor(entries: number, maxBits: number): LeafFilter {
    let bits = 2 ** 16;
    while (bits < entries * 16 && bits < maxBits) bits *= 2;
    return new LeafFilter(Math.min(bits, Math.max(32, maxBits)));
  }

  /** Past about 12 bits an entry the false-maybe rate climbs quickly: a bigger filter is worth building. */
  get crowded(): boolean {
    return this.count * 12 > this.bits;
  }

  add(leaf: Hash): void {
    const m = this.mask;
    const w = this.words;
    let b = u32(leaf, 16) & m;
    w[b >>> 5]! |= 1 << (b & 31);
    b = u32(leaf, 20) & m;
    w[b >>> 5]! |= 1 << (b & 31);
    b = u32(leaf, 24) & m;
    w[b >>> 5]! |= 1 << (b & 31);
    b = u32(leaf, 28) & m;
    w[b >>> 5]! |= 1 << (b & 31);
    this.count++;
  }

  /** False: no leaf with this hash was added. True: maybe. */
  mayHave(leaf: Hash): boolean {
    const m = this.mask;
    const w = this.words;
    let b = u32(leaf, 16) & m;
    if ((w[b >>> 5]! & (1 << (b & 31))) === 0) return false;
    b = u32(leaf, 20) & m;
    if ((w[b >>> 5]! & (1 << (b & 31))) === 0) return false;
    b = u32(leaf, 24) & m;
    if ((w[b >>> 5]! & (1 << (b & 31))) === 0) return false;
    b = u32(leaf, 28) & m;
    return (w[b >>> 5]! & (1 << (b & 31))) !== 0;
  }
}
