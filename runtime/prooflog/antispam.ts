/**
 * Duplicate detection's in-memory window (Tessera's "antispam"): the index of each of the last `capacity` entries
 * the sequencer numbered, by leaf hash — exactly: every one of them is found, nothing older or absent is.
 *
 * Two typed arrays, nothing per entry for the GC to walk, one random cache line touched per new entry:
 *  - a ring of the entries' leaf hashes, entry i's at (i mod capacity) · 32: written in index order (sequential);
 *  - a table of buckets of one 64-byte cache line each: 7 slots of (fingerprint, tag) and an overflow tag. The
 *    bucket is taken from the leaf hash's first 32 bits, the fingerprint is its next 32, the tag is the index
 *    (mod 2^32 − 1, plus 1: 0 is an empty slot). A claim reads the leaf's bucket, compares fingerprints and, on a
 *    match, the ring's 32 bytes — so a fingerprint collision costs a compare, never a wrong answer — and writes the
 *    new entry into a free slot of that same line.
 * Eviction is O(1) and implicit: a slot whose tag decodes to an index that has left the window is free. A bucket
 * with no free slot passes the entry to the next bucket and records its tag as the overflow tag; a lookup goes on
 * to the next bucket only while that tag is inside the window. Tags only grow, so every bucket between a live
 * entry's home and its slot keeps an overflow tag at least as new as it: the walk reaches it. With buckets for 3
 * entries each on average (of 7 slots) a full bucket is rare; an old tag that aliases into the window (2^32 − 1
 * entries later) costs at most a walk or a compare, never a wrong answer.
 *
 * This is the bounded front of the store's persistent duplicate index (storage/store.ts `findLeaves`): it starts
 * empty at every restart and holds what this process numbered; a miss asks the membership filter, then (on its
 * "maybe") the store (dedupe.ts). So restart costs nothing and detection covers the whole log.
 */
import { u32 } from "./leaftable.js";
import { type Hash, HASH_SIZE } from "./rfc6962.js";

/** Words in a bucket: 7 slots of two words, the overflow tag, one spare (a 64-byte line). */
const BW = 16;
const SLOTS = 7;
const OVERFLOW = 14;
/** Tags are index mod TAG_MOD, plus 1. */
const TAG_MOD = 2 ** 32 - 1;
/** Most entries a window holds (its ages must stay below TAG_MOD). */
const MAX_CAPACITY = 2 ** 30;

export class Antispam {
  /** Allocated at the first claim (a start allocates nothing: restart time does not grow with the window). */
  private table = new Uint32Array(0);
  /**
   * The ring: capacity + 1 slots of 32 bytes, entry i's leaf hash at (i mod (capacity + 1)) · 32. The slot after the
   * latest entry belongs to no entry in the window: the next entry's hash is written there before its claim (the
   * sequencer hashes straight into it, `stage`), and a duplicate's leaves it unused.
   */
  ring = new Uint8Array(0);
  /** The ring as words (the sequencer hashes into it and copies out of it a word at a time). */
  ringWords = new Int32Array(0);
  /** Word offsets: buckets·16 − 1. */
  private wordMask = 0;
  /** The next index to number. */
  private next = 0;
  /** Entries held, min(capacity, entries numbered since the start): ages below this are inside the window. */
  private span = 0;
  /** Tag of the latest entry (next − 1). */
  private lastTag = 0;

  /** `capacity` 0 turns duplicate detection off. */
  constructor(readonly capacity: number) {
    if (!(Number.isSafeInteger(capacity) && capacity >= 0 && capacity <= MAX_CAPACITY)) throw new RangeError(`window of ${capacity} entries: at most 2^30`);
  }

  /** The table and the ring, allocated once. */
  private allocate(): void {
    let buckets = 1;
    while (buckets * 3 < this.capacity) buckets *= 2;
    this.table = new Uint32Array(buckets * BW);
    this.ring = new Uint8Array((this.capacity + 1) * HASH_SIZE);
    this.ringWords = new Int32Array(this.ring.buffer);
    this.wordMask = buckets * BW - 1;
  }

  get enabled(): boolean {
    return this.capacity > 0;
  }

  /** Entries held. */
  get size(): number {
    return this.span;
  }

  /** The index a tag stands for, or −1 when it is empty or outside the window. */
  private live(tag: number): number {
    if (tag === 0) return -1;
    let age = this.lastTag - tag;
    if (age < 0) age += TAG_MOD;
    return age < this.span ? this.next - 1 - age : -1;
  }

  /** Whether the ring holds the leaf hash at leaf[at, at + 32) for (live) index i. */
  private holds(i: number, leaf: Hash, at: number): boolean {
    const r = this.ring;
    const o = (i % (this.capacity + 1)) * HASH_SIZE;
    for (let k = 0; k < HASH_SIZE; k++) if (r[o + k] !== leaf[at + k]) return false;
    return true;
  }

  /** Index of the entry with the leaf hash at leaf[at, at + 32), if it is inside the window. */
  lookup(leaf: Hash, at = 0): number | undefined {
    if (this.span === 0) return undefined;
    const t = this.table;
    const fp = u32(leaf, at + 4);
    let b = (u32(leaf, at) * BW) & this.wordMask;
    for (let walked = 0; walked <= this.wordMask; walked += BW) {
      for (let s = b; s < b + 2 * SLOTS; s += 2) {
        if (t[s] === fp) {
          const i = this.live(t[s + 1]!);
          if (i >= 0 && this.holds(i, leaf, at)) return i;
        }
      }
      if (this.live(t[b + OVERFLOW]!) < 0) return undefined;
      b = (b + BW) & this.wordMask;
    }
    return undefined;
  }

  /**
   * The index of an entry with the leaf hash at leaf[at, at + 32) if the window holds one; else number it `index`
   * (the sequencer's next: indices come in order; any other starts the window afresh at `index`).
   */
  claim(leaf: Hash, index: number, at = 0): number | undefined {
    if (!this.enabled) return undefined;
    this.restart(index);
    this.ring.set(leaf.subarray(at, at + HASH_SIZE), this.stage);
    return this.claimStaged(leaf, index, at);
  }

  /**
   * `claim` for a leaf hash already written at `ring[stage]` (for `index` === the next index: after `restart`).
   * The sequencer hashes into both its batch and the ring, so the ring costs no copy of its own.
   */
  claimStaged(leaf: Hash, index: number, at = 0): number | undefined {
    const t = this.table;
    const mask = this.wordMask;
    const fp = u32(leaf, at + 4);
    const home = (u32(leaf, at) * BW) & mask;
    const last = this.lastTag;
    const span = this.span;
    let b = home;
    /** The first free slot on the walk, and the bucket it is in. */
    let free = -1;
    let freeBucket = -1;
    let walking = span > 0;
    for (let walked = 0; walked <= mask; walked += BW) {
      for (let s = b; s < b + 2 * SLOTS; s += 2) {
        const tag = t[s + 1]!;
        let age = last - tag;
        if (age < 0) age += TAG_MOD;
        if (tag === 0 || age >= span) {
          if (free < 0) {
            free = s;
            freeBucket = b;
          }
        } else if (t[s] === fp && this.holds(this.next - 1 - age, leaf, at)) return this.next - 1 - age;
      }
      if (!walking || this.live(t[b + OVERFLOW]!) < 0) {
        if (free >= 0) break;
        walking = false; // past the walk: on to the first bucket with room
      }
      b = (b + BW) & mask;
    }
    if (free < 0) throw new Error("duplicate window: no free slot"); // cannot happen: 7 slots a bucket, at most 3 live on average
    // Not held: number it. Every full bucket from its home to its slot records it as passed over.
    const tag = last === TAG_MOD || span === 0 ? (index % TAG_MOD) + 1 : last + 1;
    for (let p = home; p !== freeBucket; p = (p + BW) & mask) t[p + OVERFLOW] = tag;
    t[free] = fp;
    t[free + 1] = tag;
    const o = this.stage;
    this.stage = o + HASH_SIZE === this.ring.length ? 0 : o + HASH_SIZE;
    this.next = index + 1;
    this.lastTag = tag;
    if (span < this.capacity) this.span = span + 1;
    return undefined;
  }

  /** Byte offset in `ring` of the slot the next entry's leaf hash is staged in: (next mod (capacity + 1)) · 32. */
  stage = 0;

  /** Start empty at `index` (the first claim after a start), unless `index` is already the next. */
  restart(index: number): void {
    if (this.table.length === 0 && this.enabled) this.allocate();
    if (index === this.next) return;
    if (this.span > 0) this.table.fill(0);
    this.next = index;
    this.span = 0;
    this.stage = (index % (this.capacity + 1)) * HASH_SIZE;
  }
}
