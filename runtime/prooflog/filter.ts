/**
 * A membership filter over the leaf hashes of the whole log (a Bloom filter): "certainly not in the log" lets a
 * new entry be sequenced without reading the store's persistent duplicate index, which is what every new entry
 * would otherwise cost (a bucket file read, a PostgreSQL query, an S3 GET). "Maybe" still asks the store.
 *
 * Blocked (one 512-bit block, a 64-byte cache line, per leaf): the four probes of a leaf fall in one block, so
 * adding or testing a leaf touches one line of memory, not four scattered over a filter of megabytes — the
 * sequencer does it for every new entry. Leaf hashes are SHA-256 outputs, so the block and the probe positions are
 * taken straight from their last 128 bits (the window's tables key on the first 128): no hashing here. The
 * sequencer sizes the filter to about 16 bits an entry (a false "maybe" about once in 350 new entries; blocking
 * costs a little over the unblocked 1 in 400) up to its cap, beyond which the false-maybe rate rises with the log
 * and duplicate detection degrades towards a store read per entry, never to a missed duplicate. It has no false
 * "no": every leaf added is found.
 */
import { createHash } from "node:crypto";
import { u32 } from "./leaftable.js";
import type { Hash } from "./rfc6962.js";

/** Version 2: blocked probes (version 1 images, unblocked, are not read: the filter is rebuilt from the tiles). */
const IMAGE_MAGIC = Buffer.from("MLFILTR2");
/** Bits in a block (a cache line); a filter smaller than one block is one block. */
const BLOCK_BITS = 512;
const IMAGE_HEADER = IMAGE_MAGIC.length + 24;

export class LeafFilter {
  private readonly words: Uint32Array;
  /** Blocks − 1, and bits in a block − 1 (both powers of two less one). */
  private readonly blockMask: number;
  private readonly bitMask: number;
  /** log2 of the words in a block. */
  private readonly blockShift: number;
  count = 0;

  /** `bits`: a power of two from 2^5 to 2^32. */
  constructor(
    readonly bits: number,
    words?: Uint32Array,
  ) {
    if (!(bits >= 32 && bits <= 2 ** 32 && Number.isInteger(Math.log2(bits)))) throw new RangeError(`filter size ${bits} is not a power of two in [2^5, 2^32]`);
    this.words = words ?? new Uint32Array(bits / 32);
    const block = Math.min(BLOCK_BITS, bits);
    this.blockMask = bits / block - 1;
    this.bitMask = block - 1;
    this.blockShift = Math.log2(block / 32);
  }

  /**
   * The filter as saved beside the log state: it holds (at least) every leaf of the log's first `size` entries.
   *   image = "MLFILTR2" ‖ u64 size ‖ u64 bits ‖ u64 count ‖ the bit words (little-endian u32) ‖ SHA-256 of all before
   */
  toImage(size: number): Buffer {
    const words = Buffer.from(this.words.buffer, this.words.byteOffset, this.words.byteLength);
    const head = Buffer.alloc(IMAGE_HEADER);
    IMAGE_MAGIC.copy(head);
    head.writeBigUInt64BE(BigInt(size), 8);
    head.writeBigUInt64BE(BigInt(this.bits), 16);
    head.writeBigUInt64BE(BigInt(this.count), 24);
    const digest = createHash("sha256").update(head).update(words).digest();
    return Buffer.concat([head, words, digest]);
  }

  /** A saved filter and the log size it covers, or null if the image is not one (wrong format, truncated, corrupt). */
  static fromImage(image: Uint8Array): { filter: LeafFilter; size: number } | null {
    const b = Buffer.from(image.buffer, image.byteOffset, image.byteLength);
    if (b.length < IMAGE_HEADER + 32 || !b.subarray(0, IMAGE_MAGIC.length).equals(IMAGE_MAGIC)) return null;
    const bits = Number(b.readBigUInt64BE(16));
    if (!(bits >= 32 && bits <= 2 ** 32 && Number.isInteger(Math.log2(bits))) || b.length !== IMAGE_HEADER + bits / 8 + 32) return null;
    const body = b.subarray(0, b.length - 32);
    if (
      !createHash("sha256")
        .update(body)
        .digest()
        .equals(b.subarray(b.length - 32))
    )
      return null;
    const words = new Uint32Array(bits / 32);
    Buffer.from(words.buffer).set(b.subarray(IMAGE_HEADER, IMAGE_HEADER + bits / 8));
    const filter = new LeafFilter(bits, words);
    filter.count = Number(b.readBigUInt64BE(24));
    return { filter, size: Number(b.readBigUInt64BE(8)) };
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

  /** First word of the leaf's block (the leaf hash at leaf[at, at + 32)). */
  private base(leaf: Hash, at: number): number {
    return (u32(leaf, at + 16) & this.blockMask) << this.blockShift;
  }

  /** Read the first word of the block of each of `count` packed leaf hashes (to have their lines in cache for the adds). */
  touch(leaves: Uint8Array, count: number): void {
    const w = this.words;
    let x = 0;
    for (let i = 0; i < count; i++) x ^= w[this.base(leaves, i * 32)]!;
    this.touched = x;
  }

  /** What `touch` read, kept so its loads are not optimised away. */
  private touched = 0;

  /** Add the leaf hash at leaf[at, at + 32). */
  add(leaf: Hash, at = 0): void {
    this.addAndTest(leaf, at);
  }

  /**
   * `add`, answering what `mayHave` would have answered before it (one pass over the same bits). The four probe
   * positions in the block: 9-bit fields of the hash's words at 20, 24 and 28 (a block of 512 bits).
   */
  addAndTest(leaf: Hash, at = 0): boolean {
    const w = this.words;
    const base = this.base(leaf, at);
    const m = this.bitMask;
    const x = u32(leaf, at + 20);
    const y = u32(leaf, at + 24);
    let had = true;
    for (let k = 0; k < 4; k++) {
      const b = (k === 0 ? x : k === 1 ? x >>> 9 : k === 2 ? y : y >>> 9) & m;
      const i = base + (b >>> 5);
      const bit = 1 << (b & 31);
      const word = w[i]!;
      if ((word & bit) === 0) {
        had = false;
        w[i] = word | bit;
      }
    }
    this.count++;
    return had;
  }

  /** False: no leaf with this hash (at leaf[at, at + 32)) was added. True: maybe. */
  mayHave(leaf: Hash, at = 0): boolean {
    const w = this.words;
    const base = this.base(leaf, at);
    const m = this.bitMask;
    const x = u32(leaf, at + 20);
    const y = u32(leaf, at + 24);
    for (let k = 0; k < 4; k++) {
      const b = (k === 0 ? x : k === 1 ? x >>> 9 : k === 2 ? y : y >>> 9) & m;
      if ((w[base + (b >>> 5)]! & (1 << (b & 31))) === 0) return false;
    }
    return true;
  }
}
