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
import { leafHash, type Hash } from "./rfc6962.js";
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
  key: string;
  resolve: (r: AddResult) => void;
  reject: (e: unknown) => void;
}

export class TransparencyLog {
  readonly tree = new MerkleTree();
  readonly maxEntrySize: number;
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private readonly seen = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<AddResult>>();
  private failure: unknown = null;
  private latest: { note: string; checkpoint: Checkpoint } | null = null;

  private constructor(private readonly opts: LogOptions) {
    this.maxEntrySize = opts.maxEntrySize ?? 65_535;
  }

  /** Open (or create) a log: replay the store into the tree and sign a checkpoint at the recovered size. */
  static async open(opts: LogOptions): Promise<TransparencyLog> {
    const log = new TransparencyLog(opts);
    await opts.store.open((entry) => {
      const leaf = leafHash(entry);
      log.remember(leaf, log.tree.appendLeafHash(leaf));
    });
    await log.publishCheckpoint();
    return log;
  }

  get size(): number {
    return this.tree.size;
  }

  get origin(): string {
    return this.opts.origin;
  }

  private remember(leaf: Hash, index: number): void {
    const cap = this.opts.dedupeCapacity ?? 1_000_000;
    if (cap <= 0) return;
    this.seen.set(Buffer.from(leaf).toString("base64"), index);
    if (this.seen.size > cap) this.seen.delete(this.seen.keys().next().value!);
  }

  /** Sequence an entry; resolves with its index once it is durable. */
  add(entry: Uint8Array): Promise<AddResult> {
    if (this.failure) return Promise.reject(new LogUnavailableError(`log storage failed earlier: ${String(this.failure)}`));
    if (entry.length === 0) return Promise.reject(new RangeError("entry is empty"));
    if (entry.length > this.maxEntrySize) return Promise.reject(new RangeError(`entry is ${entry.length} bytes; the limit is ${this.maxEntrySize}`));
    const leaf = leafHash(entry);
    const key = Buffer.from(leaf).toString("base64");
    const dedupe = (this.opts.dedupeCapacity ?? 1_000_000) > 0;
    if (dedupe) {
      const known = this.seen.get(key);
      if (known !== undefined) return Promise.resolve({ index: known, duplicate: true });
      const flying = this.inFlight.get(key);
      if (flying) return flying.then((r) => ({ index: r.index, duplicate: true }));
    }
    const p = new Promise<AddResult>((resolve, reject) => {
      this.queue.push({ entry: Buffer.from(entry), leaf, key, resolve, reject });
    });
    if (dedupe) this.inFlight.set(key, p);
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
    const maxBatch = this.opts.maxBatch ?? 4096;
    while (this.queue.length > 0 && !this.failure) {
      const batch = this.queue.splice(0, maxBatch);
      const first = this.tree.size;
      try {
        await this.opts.store.append(
          batch.map((p) => p.entry),
          first,
        );
      } catch (e) {
        this.failure = e;
        const all = [...batch, ...this.queue.splice(0)];
        for (const p of all) {
          this.inFlight.delete(p.key);
          p.reject(new LogUnavailableError(`storage failed: ${String(e)}`));
        }
        return;
      }
      for (const p of batch) {
        const index = this.tree.appendLeafHash(p.leaf);
        this.remember(p.leaf, index);
        this.inFlight.delete(p.key);
        p.resolve({ index, duplicate: false });
      }
    }
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
    const note = signCheckpoint(checkpoint, [this.opts.signer]);
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
