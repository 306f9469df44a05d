/**
 * The sequencer: assigns indices, makes entries durable in batches (group commit), grows the Merkle tree and
 * publishes signed checkpoints. An index is acknowledged only after the store has made its batch durable, and a
 * checkpoint only ever covers acknowledged entries, so after any crash the recovered tree extends every
 * checkpoint published before it (append-only, hence consistent).
 *
 * Duplicate suppression (antispam) is best-effort: a bounded map from leaf hash to index answers a resubmitted
 * entry with its existing index instead of logging it twice.
 */
import { signCheckpoint, type Checkpoint } from "./checkpoint.js";
import type { Signer } from "./note.js";
import { hashEquals, leafHash, type Hash } from "./rfc6962.js";
import type { LogStore } from "./storage/store.js";
import { MerkleTree } from "./tree.js";

export interface LogOptions {
  origin: string;
  signer: Signer;
  store: LogStore;
  /** Largest entry accepted, in bytes (tlog-tiles entry bundles frame entries with a uint16 length). */
  maxEntrySize?: number;
  /** Entries per durable write. */
  maxBatch?: number;
  /** Remember this many leaf hashes for duplicate detection; 0 turns it off. */
  dedupeCapacity?: number;
  /** Extension lines added to every checkpoint. */
  extensions?: string[];
  /** Gather witness cosignatures for a freshly signed checkpoint (see witness/pool.ts). */
  cosign?: (note: string, size: number, proof: (oldSize: number) => Hash[]) => Promise<string>;
}

export interface AddResult {
  index: number;
  duplicate: boolean;
}

/** What `append` answers at once: the assigned index, and a promise that settles when that index is durable. */
export interface Appended extends AddResult {
  durable: Promise<void>;
}

export class LogUnavailableError extends Error {
  override name = "LogUnavailableError";
}

/** One group-commit unit: consecutive indices first … first + leaves.length - 1, made durable by one write. */
interface Batch {
  first: number;
  entries: Uint8Array[];
  leaves: Hash[];
  durable: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

const DURABLE: Promise<void> = Promise.resolve();

export class TransparencyLog {
  readonly tree = new MerkleTree();
  readonly maxEntrySize: number;
  /** Batches not yet durable, in index order; the first is being written, the last takes new entries. */
  private batches: Batch[] = [];
  private flushing: Promise<void> | null = null;
  /**
   * Duplicate detection: the first 30 bits of a leaf hash (a small integer, so the hot path allocates nothing) →
   * index, including queued entries (indices are assigned at enqueue). A hit is confirmed against the full leaf
   * hash; the rare entry whose 30 bits are taken goes to `overflow`, keyed by the whole hash.
   */
  private readonly seen = new Map<number, number>();
  private readonly overflow = new Map<string, number>();
  /** Index the next entry gets (indices are assigned when an entry is queued). */
  private nextIndex = 0;
  private failure: unknown = null;
  private latest: { note: string; checkpoint: Checkpoint } | null = null;
  private readonly dedupeCapacity: number;
  private readonly maxBatch: number;

  private constructor(private readonly opts: LogOptions) {
    this.maxEntrySize = opts.maxEntrySize ?? 65_535;
    this.dedupeCapacity = opts.dedupeCapacity ?? 1_000_000;
    this.maxBatch = opts.maxBatch ?? 8192;
  }

  /** Open (or create) a log: replay the store into the tree and sign a checkpoint at the recovered size. */
  static async open(opts: LogOptions): Promise<TransparencyLog> {
    const log = new TransparencyLog(opts);
    await opts.store.open((entry) => {
      const leaf = leafHash(entry);
      log.remember(leaf, log.tree.appendLeafHash(leaf));
    });
    log.nextIndex = log.tree.size;
    await log.publishCheckpoint();
    return log;
  }

  get size(): number {
    return this.tree.size;
  }

  get origin(): string {
    return this.opts.origin;
  }

  private static key(leaf: Hash): number {
    return ((leaf[0]! & 0x3f) << 24) | (leaf[1]! << 16) | (leaf[2]! << 8) | leaf[3]!;
  }

  private static fullKey(leaf: Hash): string {
    return Buffer.from(leaf.buffer, leaf.byteOffset, leaf.byteLength).toString("latin1");
  }

  private remember(leaf: Hash, index: number): void {
    if (this.dedupeCapacity <= 0) return;
    const k = TransparencyLog.key(leaf);
    if (!this.seen.has(k)) {
      this.seen.set(k, index);
      if (this.seen.size > this.dedupeCapacity) this.seen.delete(this.seen.keys().next().value!);
    } else {
      this.overflow.set(TransparencyLog.fullKey(leaf), index);
      if (this.overflow.size > this.dedupeCapacity) this.overflow.delete(this.overflow.keys().next().value!);
    }
  }

  private batchOf(i: number): Batch | undefined {
    for (const b of this.batches) if (i >= b.first && i < b.first + b.leaves.length) return b;
    return undefined;
  }

  /** Leaf hash at an index, durable or still queued. */
  private leafAt(i: number): Hash | undefined {
    if (i < this.tree.size) return this.tree.leafHash(i);
    const b = this.batchOf(i);
    return b?.leaves[i - b.first];
  }

  /** Index of an entry (durable or queued) by its leaf hash, within the duplicate-detection window. */
  private lookup(leaf: Hash): number | undefined {
    const i = this.seen.get(TransparencyLog.key(leaf));
    if (i === undefined) return undefined;
    const at = this.leafAt(i);
    if (at && hashEquals(at, leaf)) return i;
    return this.overflow.size > 0 ? this.overflow.get(TransparencyLog.fullKey(leaf)) : undefined;
  }

  /** Index of an entry by its leaf hash, while it is durable and inside the duplicate-detection window. */
  indexOf(leaf: Hash): number | undefined {
    const i = this.lookup(leaf);
    return i !== undefined && i < this.tree.size ? i : undefined;
  }

  /**
   * Queue an entry: its index is assigned now, and `durable` resolves once the entry's batch is written and synced
   * (only then may the index be acknowledged to anyone). Entries queued together share one write and one promise,
   * which is what makes group commit cheap. The log keeps a reference to `entry` until it is written: callers
   * must not modify it meanwhile (HTTP bodies are fresh buffers). Throws RangeError for an empty or oversized
   * entry and LogUnavailableError after a storage failure.
   */
  append(entry: Uint8Array): Appended {
    if (this.failure) throw new LogUnavailableError(`log storage failed earlier: ${String(this.failure)}`);
    if (entry.length === 0) throw new RangeError("entry is empty");
    if (entry.length > this.maxEntrySize) throw new RangeError(`entry is ${entry.length} bytes; the limit is ${this.maxEntrySize}`);
    const leaf = leafHash(entry);
    if (this.dedupeCapacity > 0) {
      const known = this.lookup(leaf);
      if (known !== undefined) return { index: known, duplicate: true, durable: known < this.tree.size ? DURABLE : this.batchOf(known)!.durable };
      this.remember(leaf, this.nextIndex);
    }
    let b = this.batches[this.batches.length - 1];
    // A batch being written is closed; so is a full one.
    if (!b || b === this.writing || b.leaves.length >= this.maxBatch) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const durable = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      durable.catch(() => undefined); // failures reach whoever awaits; nobody awaiting is not an error
      b = { first: this.nextIndex, entries: [], leaves: [], durable, resolve, reject };
      this.batches.push(b);
    }
    b.entries.push(entry);
    b.leaves.push(leaf);
    const index = this.nextIndex++;
    this.kick();
    return { index, duplicate: false, durable: b.durable };
  }

  /** Sequence an entry; resolves with its index once it is durable. */
  async add(entry: Uint8Array): Promise<AddResult> {
    const r = this.append(entry);
    await r.durable;
    return { index: r.index, duplicate: r.duplicate };
  }

  private writing: Batch | null = null;

  private kick(): void {
    if (this.flushing) return;
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = null;
      if (this.batches.length > 0 && !this.failure) this.kick();
    });
  }

  /** Group commit: everything queued while the previous batch was syncing goes out in the next single write. */
  private async flushLoop(): Promise<void> {
    while (this.batches.length > 0 && !this.failure) {
      const b = this.batches[0]!;
      this.writing = b;
      try {
        await this.opts.store.append(b.entries, b.first);
      } catch (e) {
        this.fail(e);
        return;
      }
      for (const leaf of b.leaves) this.tree.appendLeafHash(leaf);
      this.batches.shift();
      this.writing = null;
      b.resolve();
    }
  }

  /** A failed durable write leaves the log refusing writes: acknowledged state is intact, nothing else is promised. */
  private fail(e: unknown): void {
    this.failure = e;
    this.writing = null;
    const err = new LogUnavailableError(`storage failed: ${String(e)}`);
    for (const b of this.batches) b.reject(err);
    this.batches = [];
  }

  /** Wait until everything queued so far is durable. */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private publishing: Promise<string> = Promise.resolve("");

  /** Sign a checkpoint for the current durable size if it moved, persist it, and make it the served one. */
  publishCheckpoint(): Promise<string> {
    // Serialised: two overlapping saves must never let an older checkpoint land last.
    this.publishing = this.publishing.catch(() => "").then(() => this.publishNow());
    return this.publishing;
  }

  private async publishNow(): Promise<string> {
    const size = this.tree.size;
    if (this.latest && this.latest.checkpoint.size === size) return this.latest.note;
    const checkpoint: Checkpoint = { origin: this.opts.origin, size, root: this.tree.rootAt(size), extensions: this.opts.extensions ?? [] };
    let note = signCheckpoint(checkpoint, [this.opts.signer]);
    if (this.opts.cosign) note = await this.opts.cosign(note, size, (old) => this.tree.consistencyProof(old, size)).catch(() => note);
    await this.opts.store.saveCheckpoint(note);
    if (!this.latest || this.latest.checkpoint.size < size) this.latest = { note, checkpoint };
    return this.latest.note;
  }

  /** The latest published signed checkpoint. */
  checkpoint(): { note: string; checkpoint: Checkpoint } {
    if (!this.latest) throw new Error("log is not open");
    return this.latest;
  }

  readEntries(start: number, end: number): Promise<Uint8Array[]> {
    return this.opts.store.readEntries(start, end);
  }

  async close(): Promise<void> {
    await this.drain();
    await this.opts.store.close();
  }
}
