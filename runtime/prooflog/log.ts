/**
 * The sequencer: assigns indices, integrates batches into tiles (integrate.ts), makes each batch durable in one
 * store commit (group commit), and publishes signed checkpoints. An index is acknowledged only once its commit
 * is durable, and a checkpoint only ever covers what is durable in tile form.
 *
 * It never forks. On open, the recovered tree must extend every checkpoint this log is known to have signed —
 * the one the store published, and those the caller holds apart from the store (a checkpoint file, the
 * witnesses' latest cosigned checkpoints) — or the log refuses to start and says why: a store restored from a
 * stale snapshot or failed over to a lagging replica would otherwise re-issue acknowledged indices and sign a
 * second root for a size already signed. Nothing acknowledged is ever re-indexed. What a start reads back from the
 * store (the restored edge, the journal tail, recent tiles) is recover.ts; reads of what is durable (entries, proofs,
 * lookups by leaf hash, pruning) are history.ts.
 */
import type { ClockNode } from "../clock/index.js";
import { CommitWaitRefusedError } from "./commit-wait.js";
import type { Checkpoint } from "./checkpoint.js";
import { Dedupe } from "./dedupe.js";
import { LogUnavailableError } from "./errors.js";
import { LogHistory } from "./history.js";
import { Integrator } from "./integrate.js";
import type { Signer, Verifier } from "./note.js";
import { Publisher } from "./publish.js";
import { type Hash, HASH_SIZE, hashingReady, leafHash, leafHashWords } from "./rfc6962.js";
import { restoreTree, treeState, verifyRecentTiles } from "./recover.js";
import { leafList, type TileStore, type TreeState } from "./storage/store.js";

export { ForkRefusedError, LogUnavailableError } from "./errors.js";

export interface LogOptions {
  origin: string;
  signer: Signer;
  /** The log's own verifier key, to check checkpoints offered from outside the store. */
  verifier?: Verifier;
  store: TileStore;
  maxEntrySize?: number;
  maxBatch?: number;
  /** Duplicate detection's in-memory window (in front of the store's persistent index); 0 turns detection off. */
  dedupeCapacity?: number;
  /** The cap on duplicate detection's membership filter over the whole log, in bits (a power of two; default 2^27, 16 MiB). */
  dedupeFilterBits?: number;
  extensions?: string[];
  /** Signed checkpoints held apart from the store; the recovered tree must extend each. */
  mustExtend?: { source: string; note: string }[];
  /** Gather witness cosignatures for a freshly signed checkpoint; resolves with the note to publish, or null to hold it back. */
  cosign?: (note: string, size: number, proof: (oldSize: number) => Promise<Hash[]>) => Promise<string | null>;
  /** Called with every checkpoint published (e.g. to keep a copy apart from the store). */
  onPublish?: (note: string) => Promise<void>;
  /** A clock measured against a time reference: checkpoints carry a time and are published after commit-wait (commit-wait.ts). */
  clock?: ClockNode;
}

export interface AddResult {
  index: number;
  duplicate: boolean;
}

export interface Appended extends AddResult {
  durable: Promise<void>;
}

interface Batch {
  first: number;
  entries: Uint8Array[];
  /**
   * The entries' leaf hashes packed 32 bytes each (entry i's at [32·i, 32·i + 32)), room for more past them: one
   * array per batch instead of one per entry, so an append allocates no hash and leaves nothing per entry for the
   * garbage collector to copy while it waits for its commit.
   */
  leaves: Uint8Array;
  /** The same array as words (hashes are moved a word at a time: `leaves` is always a fresh, aligned array). */
  leafWords: Int32Array;
  durable: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
  /** Handed to the store: later entries go into a new batch. */
  sealed?: boolean;
}

const DURABLE: Promise<void> = Promise.resolve();
/** A batch's packed leaf hashes start with room for this many and double up to the batch limit. */
const FIRST_LEAF_ROOM = 64;
/** The membership filter is saved beside the state every this many entries (and at close): see dedupe.ts. */
const FILTER_SAVE_STEP = 2 ** 20;

export class TransparencyLog extends LogHistory {
  private integrator: Integrator = Integrator.empty();
  readonly maxEntrySize: number;
  private batches: Batch[] = [];
  /** Batches handed to the store and not yet durable (the first `inflight` of `batches`). */
  private inflight = 0;
  /** Settles when the latest commit handed to the store has been acknowledged or failed. */
  private lastCommit: Promise<void> = Promise.resolve();
  /** Commits the store accepts at once: 2 for a pipelined store (storage/store.ts `pipelined`), else 1. */
  private readonly depth: number;
  protected readonly dedupe: Dedupe;
  private readonly publisher: Publisher;
  private nextIndex = 0;
  private durableSize = 0;
  /** The state of the last durable commit: checkpoints are signed over this, never over work in flight. */
  private committed: TreeState = { size: 0, root: Integrator.empty().root(), edge: Integrator.empty().edge() };
  private failure: unknown = null;
  private readonly maxBatch: number;

  private constructor(private readonly opts: LogOptions) {
    super(opts.store);
    this.maxEntrySize = opts.maxEntrySize ?? 65_535;
    this.maxBatch = opts.maxBatch ?? 1024;
    this.depth = opts.store.pipelined ? 2 : 1;
    this.dedupe = new Dedupe(opts.dedupeCapacity ?? 1_000_000, opts.dedupeFilterBits ?? 2 ** 27, {
      store: opts.store,
      tiles: () => this.tiles,
      durableSize: () => this.durableSize,
      inflightLeaves: () => this.batches.flatMap((b) => leafList({ leafHashes: b.leaves.subarray(0, b.entries.length * HASH_SIZE) })),
    });
    this.publisher = new Publisher(opts, () => this.tiles);
  }

  /** Open (or create) a log: restore the edge, replay the journal tail, check it extends every signed checkpoint. */
  static async open(opts: LogOptions): Promise<TransparencyLog> {
    await hashingReady; // the sequencer hashes in WebAssembly from its first entry (rfc6962.ts)
    const log = new TransparencyLog(opts);
    try {
      await log.recover();
    } catch (e) {
      await log.dedupe.close();
      await opts.store.close().catch(() => undefined);
      throw e;
    }
    return log;
  }

  private async recover(): Promise<void> {
    const opts = this.opts;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const log = this;
    const restored = await restoreTree(opts.store, log.dedupe.enabled);
    log.integrator = restored.integrator;
    log.readFrom(log.integrator, restored.pruned);
    log.nextIndex = log.durableSize = log.integrator.size;
    log.committed = treeState(log.integrator);
    await log.publisher.checkExtends(log.size, restored.checkpoint, opts.mustExtend ?? []);
    await verifyRecentTiles(log.tiles, log.size, log.prunedTo);
    await log.dedupe.start();
    // An unsynchronised clock holds checkpoints back (503 naming why) rather than keeping the log down.
    const held = (e: unknown) => {
      if (!(e instanceof CommitWaitRefusedError)) throw e;
    };
    if (!log.publisher.latest && log.size === 0) {
      // A new log: the empty tree is consistent with every tree, so its checkpoint needs no witness.
      await log.publishCheckpoint(false, false).catch(held);
      if (opts.cosign) void log.publishCheckpoint(true).catch(() => undefined);
    } else if (!log.publisher.latest) {
      await log.publishCheckpoint().catch(held); // bounded by the per-witness deadlines; may find no quorum (then 503 until one)
    } else if (log.publisher.latest.checkpoint.size < log.size) {
      // Catch the published checkpoint up; with witnesses, in the background (a slow one must not delay the start).
      if (opts.cosign) void log.publishCheckpoint().catch(() => undefined);
      else await log.publishCheckpoint().catch(held);
    }
  }

  override get size(): number {
    return this.durableSize;
  }

  get origin(): string {
    return this.opts.origin;
  }

  private batchOf(i: number): Batch | undefined {
    for (const b of this.batches) if (i >= b.first && i < b.first + b.entries.length) return b;
    return undefined;
  }

  private check(entry: Uint8Array): void {
    if (this.failure) throw new LogUnavailableError(`log storage failed earlier: ${String(this.failure)}`);
    if (entry.length === 0) throw new RangeError("entry is empty");
    if (entry.length > this.maxEntrySize) throw new RangeError(`entry is ${entry.length} bytes; the limit is ${this.maxEntrySize}`);
  }

  /**
   * Queue an entry, with duplicate detection over the whole log (dedupe.ts): the in-memory window, then the
   * membership filter, and only on its "maybe" the store's persistent index. A resubmitted entry gets the index it
   * was first given, even across restarts. Throws as `append`.
   */
  async submit(entry: Uint8Array): Promise<Appended> {
    return this.submitNow(entry);
  }

  /**
   * `submit` without a promise when the store need not be asked (the common case: the window or the membership
   * filter answers): the HTTP route takes the `Appended` at once, saving a promise and a microtask per request.
   */
  submitNow(entry: Uint8Array): Appended | Promise<Appended> {
    this.check(entry);
    const leaf = leafHash(entry);
    const d = this.dedupe;
    if (d.enabled && d.mustWait(leaf) && d.recent(leaf) === undefined) return this.submitStored(entry, leaf);
    return this.append(entry, leaf);
  }

  private async submitStored(entry: Uint8Array, leaf: Hash): Promise<Appended> {
    const d = this.dedupe;
    const index = await d.findStored(leaf);
    // Not remembered in the window (it holds the last entries numbered, by index): a resubmission asks again.
    if (index !== undefined && d.recent(leaf) === undefined) {
      return { index, duplicate: true, durable: DURABLE };
    }
    return this.append(entry, leaf);
  }

  /**
   * Queue an entry: its index is assigned now, and `durable` resolves once its batch is committed (only then may
   * the index be acknowledged). Duplicates are caught only inside the in-memory window (`submit` asks the store
   * too). Throws RangeError for an empty or oversized entry, LogUnavailableError after a storage failure.
   */
  append(entry: Uint8Array, leaf?: Hash): Appended {
    this.check(entry);
    let b = this.batches[this.batches.length - 1];
    if (!b || b.sealed || b.entries.length >= this.maxBatch) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const durable = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      durable.catch(() => undefined);
      const leaves = new Uint8Array(Math.min(FIRST_LEAF_ROOM, this.maxBatch) * HASH_SIZE);
      b = { first: this.nextIndex, entries: [], leaves, leafWords: new Int32Array(leaves.buffer), durable, resolve, reject };
      this.batches.push(b);
    }
    // The leaf hash goes into the batch's next slot; it becomes the entry's only if the entry is not a duplicate.
    const at = b.entries.length * HASH_SIZE;
    if (at === b.leaves.length) {
      const more = new Uint8Array(Math.min(2 * b.entries.length, this.maxBatch) * HASH_SIZE);
      more.set(b.leaves);
      b.leaves = more;
      b.leafWords = new Int32Array(more.buffer);
    }
    // With detection on, the hash goes into the window's ring (its slot for the next index), then a word at a time
    // into the batch: the window keeps it without a copy of its own.
    const d = this.dedupe;
    const lw = at / 4;
    if (d.enabled) {
      const staged = d.stageFor(this.nextIndex) / 4; // (allocates the ring at the first claim: read it after)
      const ring = d.ringWords;
      const out = b.leafWords;
      if (leaf) {
        b.leaves.set(leaf, at);
        for (let i = 0; i < 8; i++) ring[staged + i] = out[lw + i]!;
      } else {
        leafHashWords(entry, ring, staged);
        for (let i = 0; i < 8; i++) out[lw + i] = ring[staged + i]!;
      }
    } else if (leaf) b.leaves.set(leaf, at);
    else leafHashWords(entry, b.leafWords, lw);
    const known = d.claim(b.leaves, this.nextIndex, at);
    if (known !== undefined) {
      if (b.entries.length === 0) this.batches.pop(); // opened for this entry alone: no batch is ever empty
      return { index: known, duplicate: true, durable: known < this.durableSize ? DURABLE : this.batchOf(known)!.durable };
    }
    b.entries.push(entry);
    const index = this.nextIndex++;
    this.schedule();
    return { index, duplicate: false, durable: b.durable };
  }

  async add(entry: Uint8Array): Promise<AddResult> {
    const r = await this.submit(entry);
    await r.durable;
    return { index: r.index, duplicate: r.duplicate };
  }

  /**
   * A new entry's batch is handed to the store at the end of this turn of the event loop (setImmediate), not in the
   * call: requests read from many connections in one turn then share one commit. Kicking in the call made the
   * first request after a commit seal a batch of one (half the commits under 64 clients were single entries, each
   * a journal write of its own).
   */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.kick();
    });
  }

  private scheduled = false;

  /**
   * Group commit: everything queued while earlier batches were being committed goes out in the next one. With a
   * pipelined store the next batch is handed over while the previous one is still being made durable (two in
   * flight); the store acknowledges them in order, so an index is acknowledged only when it and every index before
   * it are durable.
   */
  private kick(): void {
    while (this.inflight < this.depth && this.inflight < this.batches.length && !this.failure) {
      const b = this.batches[this.inflight++]!;
      b.sealed = true;
      this.dedupe.addBatch(b.leaves, b.entries.length);
      for (let i = 0; i < b.entries.length; i++) this.integrator.appendWords(b.entries[i]!, b.leafWords, i * 8);
      const done = this.integrator.takeCompleted();
      this.tiles.addInflight(done.tiles);
      const state = treeState(this.integrator);
      this.lastCommit = this.opts.store
        .commit({ firstIndex: b.first, entries: b.entries, leafHashes: this.dedupe.enabled ? b.leaves.subarray(0, b.entries.length * HASH_SIZE) : undefined, ...done, state })
        .then(
          () => {
            this.tiles.clearInflight(done.tiles);
            if (this.failure) return;
            this.durableSize = b.first + b.entries.length;
            this.committed = state;
            void this.dedupe.persist(this.durableSize, FILTER_SAVE_STEP);
            this.batches.shift();
            this.inflight--;
            b.resolve();
            this.kick();
          },
          (e: unknown) => {
            this.tiles.clearInflight(done.tiles);
            if (!this.failure) this.fail(e);
          },
        );
    }
  }

  /** A failed commit leaves the log refusing writes: what was acknowledged is intact, nothing else is promised. */
  private fail(e: unknown): void {
    this.failure = e;
    this.inflight = 0;
    const err = new LogUnavailableError(`storage failed: ${String(e)}`);
    for (const b of this.batches) b.reject(err);
    this.batches = [];
  }

  get failed(): unknown {
    return this.failure;
  }

  async drain(): Promise<void> {
    this.kick(); // a batch still waiting for its turn goes now
    while (this.batches.length > 0 && !this.failure) await this.lastCommit;
  }

  /**
   * Sign a checkpoint for the durable size and publish it. With `force`, re-sign even when the size has not
   * moved (idle logs re-sign on an interval, so witnesses and monitors see them alive).
   */
  publishCheckpoint(force = false, witnessed = true): Promise<string> {
    return this.publisher.publish(
      () => this.committed,
      () => this.failure,
      force,
      witnessed,
    );
  }

  /** The latest published checkpoint; throws LogUnavailableError while none has reached its witness quorum. */
  checkpoint(): { note: string; checkpoint: Checkpoint } {
    return this.publisher.checkpoint();
  }

  async close(): Promise<void> {
    await this.drain();
    await this.publisher.settle();
    if (!this.failure) await this.dedupe.persist(this.durableSize);
    await this.dedupe.close();
    await this.opts.store.close();
  }
}
