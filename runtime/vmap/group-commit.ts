/**
 * Group commit for one map: writes that arrive while a batch is being logged and stored wait, and the next batch
 * takes them all, in arrival order — one new root, one log append, one store fsync for every writer in it. Each
 * writer is answered only once the batch holding its write is durable (or with the batch's failure), so a write is
 * never acknowledged before it is in the log and the store.
 *
 * Bounded: a batch holds at most `maxWrites` writes and `maxBytes` bytes of them (the log's entry size); at most
 * `maxQueued` writes wait, and past that a submission is refused at once (`Overloaded`, with a retry hint) rather
 * than queued without limit. A writer's writes are never split across batches (they are one atomic request).
 *
 * The batch is the writes concatenated in arrival order, so a key written twice in one batch keeps the value that
 * arrived last — the same result as applying the writers one at a time in that order.
 */
import type { MapWrite } from "./map.js";

export interface GroupCommitLimits {
  /** At most this many writes in one batch. */
  maxWrites: number;
  /** At most this many bytes of writes (as measured by the caller) in one batch. */
  maxBytes: number;
  /** At most this many writes waiting for a batch. */
  maxQueued: number;
}

/** The queue is full: retry after `retryAfterMs`. */
export class Overloaded extends Error {
  override name = "Overloaded";
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}

/** A writer's writes that could never fit one batch. */
export class TooLargeForBatch extends Error {
  override name = "TooLargeForBatch";
}

interface Waiter<A> {
  writes: readonly MapWrite[];
  bytes: number;
  resolve: (a: A) => void;
  reject: (e: unknown) => void;
}

export class GroupCommitter<A> {
  private waiting: Waiter<A>[] = [];
  private queued = 0;
  private busy = false;
  private drained: Promise<void> = Promise.resolve();
  /** How long the last batch took (ms): the retry hint is the queue's depth in batches times this. */
  private lastBatchMs = 0;

  constructor(
    private readonly commit: (writes: MapWrite[]) => Promise<A>,
    private readonly limits: GroupCommitLimits,
    private readonly now: () => number = Date.now,
  ) {
    if (limits.maxQueued < limits.maxWrites) throw new RangeError(`maxQueued (${limits.maxQueued}) must be at least maxWrites (${limits.maxWrites})`);
  }

  /** Writes waiting for a batch (not counting the one in flight). */
  get depth(): number {
    return this.queued;
  }

  /**
   * Queue a writer's writes (already validated) for the next batch; resolves with that batch's result once it is
   * durable, rejects with its failure. Throws TooLargeForBatch when they could never fit one batch, Overloaded when full.
   */
  submit(writes: readonly MapWrite[], bytes: number): Promise<A>;
  /**
   * With `answer`: the writer's answer is made from the batch's result synchronously, before the next batch can be
   * published — so it may read the map at exactly that batch (a proof of the writer's keys against its root).
   */
  submit<B>(writes: readonly MapWrite[], bytes: number, answer: (a: A) => B): Promise<B>;
  submit(writes: readonly MapWrite[], bytes: number, answer: (a: A) => unknown = (a) => a): Promise<unknown> {
    if (writes.length > this.limits.maxWrites || bytes > this.limits.maxBytes)
      throw new TooLargeForBatch(`${writes.length} writes of ${bytes} bytes do not fit one batch (at most ${this.limits.maxWrites} writes, ${this.limits.maxBytes} bytes)`);
    if (this.queued + writes.length > this.limits.maxQueued) {
      const batches = Math.ceil(this.queued / this.limits.maxWrites) + 1;
      throw new Overloaded(`${this.queued} writes are already waiting for this map (at most ${this.limits.maxQueued})`, Math.max(1000, batches * this.lastBatchMs));
    }
    const p = new Promise<unknown>((resolve, reject) =>
      this.waiting.push({
        writes,
        bytes,
        resolve: (a) => {
          try {
            resolve(answer(a));
          } catch (e) {
            reject(e); // this writer's answer alone: its batch is durable either way
          }
        },
        reject,
      }),
    );
    this.queued += writes.length;
    if (!this.busy) this.drained = this.drain();
    return p;
  }

  /** Resolves once nothing is queued or in flight. */
  async idle(): Promise<void> {
    while (this.busy) await this.drained;
  }

  /** The longest arrival-order prefix of the queue that fits one batch (at least one writer). */
  private take(): Waiter<A>[] {
    let n = 0;
    let writes = 0;
    let bytes = 0;
    for (const w of this.waiting) {
      if (n > 0 && (writes + w.writes.length > this.limits.maxWrites || bytes + w.bytes > this.limits.maxBytes)) break;
      n++;
      writes += w.writes.length;
      bytes += w.bytes;
    }
    this.queued -= writes;
    return this.waiting.splice(0, n);
  }

  private async drain(): Promise<void> {
    this.busy = true;
    // `busy` is cleared in the same synchronous step that finds the queue empty, so a submission either lands
    // before that check (and is taken) or sees busy = false (and starts the next drain).
    while (this.waiting.length > 0) {
      const batch = this.take();
      const t0 = this.now();
      try {
        const a = await this.commit(batch.flatMap((w) => w.writes));
        for (const w of batch) w.resolve(a);
      } catch (e) {
        for (const w of batch) w.reject(e);
      }
      this.lastBatchMs = this.now() - t0;
    }
    this.busy = false;
  }
}
