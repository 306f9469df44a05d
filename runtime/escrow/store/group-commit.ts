/**
 * Group commit (PostgreSQL's commit_delay, Kafka's linger, without a timer): callers submit items under
 * a key; a write starts at the end of the event loop's turn (setImmediate), so everything submitted in
 * that turn shares it; while `maxInFlight` writes of that key are out, later items wait, and the next
 * write carries everything that waited — one round trip, one transaction, one WAL flush for many. Each caller gets
 * its own items' results, only once the write that carried them is done (or that write's error), so
 * nothing is acknowledged before it is durable.
 *
 * Two run on the sale path: the Redis store's batch script per SKU (redis.ts: every reservation's cap hold
 * and every lease's sale batch that waited, one script) and the journaled store's PostgreSQL journal per
 * SKU and generation (journaled.ts), whose writes hold the item's row lock until they commit and so run
 * one at a time anyway.
 */

/** Write the items of one key in one operation: one result per item, in order. */
export type GroupWrite<T, R> = (key: string, items: readonly T[]) => Promise<readonly R[]>;

interface Waiting<T, R> {
  items: readonly T[];
  resolve: (results: R[]) => void;
  reject: (err: unknown) => void;
}

interface KeyQueue<T, R> {
  waiting: Waiting<T, R>[];
  inFlight: number;
  /** A write is due at the end of this turn of the event loop. */
  due: boolean;
}

export class GroupCommit<T, R> {
  private readonly queues = new Map<string, KeyQueue<T, R>>();

  constructor(
    private readonly write: GroupWrite<T, R>,
    /** Writes of one key out at once (a second may wait on a lock at the server, but starts without a round trip back here). */
    private readonly maxInFlight = 1,
    /** Items per write at most (a larger caller still goes whole, alone). */
    private readonly maxItems = 2048,
  ) {}

  /** Write these items with whatever else waits under the key; resolves with their results. */
  submit(key: string, items: readonly T[]): Promise<R[]> {
    return new Promise((resolve, reject) => {
      let q = this.queues.get(key);
      if (!q) this.queues.set(key, (q = { waiting: [], inFlight: 0, due: false }));
      q.waiting.push({ items, resolve, reject });
      if (q.inFlight < this.maxInFlight && !q.due) {
        // Linger to the end of this turn of the event loop (no timer): every request read from the sockets
        // in the same turn joins this write, rather than the first going alone and the rest waiting on it.
        q.due = true;
        const due = q;
        setImmediate(() => {
          due.due = false;
          if (due.inFlight < this.maxInFlight && due.waiting.length > 0) void this.drain(key, due);
        });
      }
    });
  }

  /** Write the key's waiting items, everything waiting (up to maxItems) in each write, until none is left. */
  private async drain(key: string, q: KeyQueue<T, R>): Promise<void> {
    q.inFlight++;
    while (q.waiting.length > 0) {
      let take = 1;
      let n = q.waiting[0]!.items.length;
      while (take < q.waiting.length && n + q.waiting[take]!.items.length <= this.maxItems) n += q.waiting[take++]!.items.length;
      const batch = q.waiting.splice(0, take);
      try {
        const results = await this.write(
          key,
          batch.flatMap((w) => w.items),
        );
        let at = 0;
        for (const w of batch) {
          w.resolve(results.slice(at, at + w.items.length));
          at += w.items.length;
        }
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    if (--q.inFlight === 0 && !q.due) this.queues.delete(key);
  }
}
