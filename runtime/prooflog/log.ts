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

export class LogUnavailableError extends Error {
  override name = "LogUnavailableError";
}

interface Pending {
  entry: Uint8Array;
  leaf: Hash;
  resolve: (r: AddResult) => void;
  reject: (e: unknown) => void;
}

export class TransparencyLog {
  readonly tree = new MerkleTree();
  readonly maxEntrySize: number;
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;
  /**
   * First 48 bits of a leaf hash → index, including queued entries (indices are assigned at enqueue). A number key
   * keeps the hot path free of string building; a hit is confirmed against the full leaf hash before it counts, and
   * a (rare) key collision only costs the older entry its duplicate detection (best effort).
   */
  private readonly seen = new Map<number, number>();
  /** Index the next queued entry gets: tree.size + queue length (indices are assigned at enqueue time). */
  private nextIndex = 0;
  /** Duplicates of entries that are not durable yet wait here for their original's batch. */
  private durableWaiters: { index: number; entry: Uint8Array; leaf: Hash; resolve: (r: AddResult) => void; reject: (e: unknown) => void }[] = [];
  private failure: unknown = null;
  private latest: { note: string; checkpoint: Checkpoint } | null = null;
  private readonly dedupeCapacity: number;

  private constructor(private readonly opts: LogOptions) {
    this.maxEntrySize = opts.maxEntrySize ?? 65_535;
    this.dedupeCapacity = opts.dedupeCapacity ?? 1_000_000;
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
    return ((leaf[0]! * 256 + leaf[1]!) * 65536 + (leaf[2]! * 256 + leaf[3]!)) * 65536 + (leaf[4]! * 256 + leaf[5]!);
  }

  private remember(leaf: Hash, index: number): void {
    if (this.dedupeCapacity <= 0) return;
    this.seen.set(TransparencyLog.key(leaf), index);
    if (this.seen.size > this.dedupeCapacity) this.seen.delete(this.seen.keys().next().value!);
  }

  /** Index of an entry by its leaf hash, while it is durable and inside the duplicate-detection window. */
  indexOf(leaf: Hash): number | undefined {
    const i = this.seen.get(TransparencyLog.key(leaf));
    return i !== undefined && i < this.tree.size && hashEquals(this.tree.leafHash(i), leaf) ? i : undefined;
  }

  /**
   * Sequence an entry; resolves with its index once it is durable. The log keeps a reference to `entry` until it
   * is written: callers must not modify it meanwhile (HTTP bodies are fresh buffers).
   */
  add(entry: Uint8Array): Promise<AddResult> {
    if (this.failure) return Promise.reject(new LogUnavailableError(`log storage failed earlier: ${String(this.failure)}`));
    if (entry.length === 0) return Promise.reject(new RangeError("entry is empty"));
    if (entry.length > this.maxEntrySize) return Promise.reject(new RangeError(`entry is ${entry.length} bytes; the limit is ${this.maxEntrySize}`));
    const leaf = leafHash(entry);
    if (this.dedupeCapacity > 0) {
      const known = this.seen.get(TransparencyLog.key(leaf));
      if (known !== undefined) {
        if (known < this.tree.size) {
          if (hashEquals(this.tree.leafHash(known), leaf)) return Promise.resolve({ index: known, duplicate: true });
        } else {
          // Queued: answer once its batch is durable (and confirm it really is the same entry then).
          return new Promise((resolve, reject) => this.durableWaiters.push({ index: known, entry, leaf, resolve, reject }));
        }
      }
    }
    return this.enqueue(entry, leaf);
  }

  private enqueue(entry: Uint8Array, leaf: Hash): Promise<AddResult> {
    if (this.dedupeCapacity > 0) this.remember(leaf, this.nextIndex);
    this.nextIndex++;
    const p = new Promise<AddResult>((resolve, reject) => {
      this.queue.push({ entry, leaf, resolve, reject });
    });
    this.kick();
    return p;
  }

  private kick(): void {
    if (this.flushing) return;
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = null;
      if (this.queue.length > 0 && !this.failure) this.kick();
    });
  }

  /** Group commit: everything queued while the previous batch was syncing goes out in the next single write. */
  private async flushLoop(): Promise<void> {
    const maxBatch = this.opts.maxBatch ?? 8192;
    while (this.queue.length > 0 && !this.failure) {
      const batch = this.queue.length <= maxBatch ? this.queue : this.queue.slice(0, maxBatch);
      this.queue = batch === this.queue ? [] : this.queue.slice(maxBatch);
      const entries = new Array<Uint8Array>(batch.length);
      for (let i = 0; i < batch.length; i++) entries[i] = batch[i]!.entry;
      try {
        await this.opts.store.append(entries, this.tree.size);
      } catch (e) {
        this.fail(e, batch);
        return;
      }
      for (const p of batch) p.resolve({ index: this.tree.appendLeafHash(p.leaf), duplicate: false });
      if (this.durableWaiters.length > 0) {
        const size = this.tree.size;
        const ready = this.durableWaiters.filter((w) => w.index < size);
        this.durableWaiters = this.durableWaiters.filter((w) => w.index >= size);
        for (const w of ready) {
          if (hashEquals(this.tree.leafHash(w.index), w.leaf)) w.resolve({ index: w.index, duplicate: true });
          else this.enqueue(w.entry, w.leaf).then(w.resolve, w.reject); // 48-bit key collision: a new entry after all
        }
      }
    }
  }

  /** A failed durable write leaves the log refusing writes: acknowledged state is intact, nothing else is promised. */
  private fail(e: unknown, batch: Pending[]): void {
    this.failure = e;
    const err = new LogUnavailableError(`storage failed: ${String(e)}`);
    for (const p of [...batch, ...this.queue]) p.reject(err);
    for (const w of this.durableWaiters) w.reject(err);
    this.queue = [];
    this.durableWaiters = [];
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
