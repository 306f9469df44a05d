/**
 * Redis store, for a single Redis or a Redis Cluster (ioredis `Cluster`): every request's checks are
 * decided by store/lua.ts in one atomic script, and requests arriving while a call is in flight are
 * coalesced into the next call (one round trip and one script run for up to `maxBatch` requests), so
 * throughput grows with load instead of with connections. Time is Redis `TIME` (`time: "redis"`, the
 * default): replicas never disagree about which window is current.
 *
 * On a Cluster a call may only touch one slot. Each check's levels share a hash tag (their root entry),
 * so a check is always atomic; a request whose checks live in several slots is split into one call per
 * slot, and under the `atomic` policy the charges of an OVER_LIMIT request are then refunded
 * (REFUND_LUA) — counters over-count for that moment, never under-count, so no window admits more than
 * its limit.
 */
import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from "ioredis";
import { reportedLimit, type Decision } from "../core/limit.js";
import { requestAllowed, validateCheck, type ChargePolicy, type Check, type CheckResult, type CounterLevel } from "../core/request.js";
import { keySlot, redisKey } from "./keys.js";
import { ALGORITHM_CODE, DECIDE_LUA, REFUND_LUA } from "./lua.js";
import type { RateLimitStore } from "./port.js";

export interface RedisStoreOptions {
  /** `redis://host:port/db`, or for a Cluster the seed nodes. */
  url?: string;
  cluster?: ClusterNode[];
  /** Key prefix (default `mrl:`). */
  prefix?: string;
  /** `redis` (default): Redis TIME decides; `caller`: the nowMs passed in (tests, replays). */
  time?: "redis" | "caller";
  /** Fail a command after this long (default 500 ms), so the failure policy can act. */
  commandTimeoutMs?: number;
  /** Most requests per script call (default 256). */
  maxBatch?: number;
  /** Calls in flight at once (default 4). */
  maxInFlight?: number;
  redisOptions?: RedisOptions;
  clusterOptions?: ClusterOptions;
}

interface Scripted {
  mrlDecide(numKeys: number, ...args: (string | number)[]): Promise<number[]>;
  mrlRefund(numKeys: number, ...args: (string | number)[]): Promise<number>;
}

/** One script call's worth of work: parts of requests, each with its own policy. */
interface Part {
  checks: readonly Check[];
  policy: ChargePolicy;
  /** A whole request (one Redis, or one slot of a Cluster): its results go straight to the caller. */
  resolve?: (results: CheckResult[]) => void;
  reject?: (err: Error) => void;
  /** Part of a request split across Cluster slots: reads its results from the reply, returns the offset. */
  done?: (reply: number[], offset: number) => number;
  fail?: (err: Error) => void;
}

interface Queued {
  parts: Part[];
  now: number;
  slot: number;
}

export class RedisStore implements RateLimitStore {
  readonly client: Redis | Cluster;
  readonly prefix: string;
  private readonly time: "redis" | "caller";
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  private queue: Queued[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(opts: RedisStoreOptions) {
    this.prefix = opts.prefix ?? "mrl:";
    this.time = opts.time ?? "redis";
    this.maxBatch = opts.maxBatch ?? 256;
    this.maxInFlight = opts.maxInFlight ?? 4;
    const common = { commandTimeout: opts.commandTimeoutMs ?? 500, maxRetriesPerRequest: 1, ...opts.redisOptions };
    // The cluster's own per-node options (TLS, credentials: cluster-access.ts) add to the common ones.
    if (opts.cluster) this.client = new Cluster(opts.cluster, { scaleReads: "master", ...opts.clusterOptions, redisOptions: { ...common, ...opts.clusterOptions?.redisOptions } });
    else if (opts.url) this.client = new Redis(opts.url, common);
    else throw new Error("RedisStore needs a url or cluster nodes");
    // Connection errors surface on commands; without a listener ioredis would log every retry.
    this.client.on("error", () => {});
    this.client.defineCommand("mrlDecide", { lua: DECIDE_LUA });
    this.client.defineCommand("mrlRefund", { lua: REFUND_LUA });
  }

  get isCluster(): boolean {
    return this.client instanceof Cluster;
  }

  private key(l: CounterLevel): string {
    return redisKey(this.prefix, l.tag, l.key);
  }

  decide(checks: readonly Check[], policy: ChargePolicy, nowMs: number): Promise<CheckResult[]> {
    try {
      for (const c of checks) validateCheck(c);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    if (checks.length === 0) return Promise.resolve([]);
    const now = this.time === "redis" ? -1 : nowMs;
    // A single Redis has no slots to respect: the request is one part (no grouping, no per-part closures).
    if (!this.isCluster) return new Promise<CheckResult[]>((resolve, reject) => this.enqueue({ parts: [{ checks, policy, resolve, reject }], now, slot: 0 }));
    return new Promise<CheckResult[]>((resolve, reject) => {
      const results: CheckResult[] = new Array<CheckResult>(checks.length);
      // Group checks by slot; a single Redis has no slots to respect, so everything is one group.
      const groups = new Map<number, number[]>();
      checks.forEach((c, i) => {
        const slot = keySlot(this.key(c.levels[0]!));
        (groups.get(slot) ?? groups.set(slot, []).get(slot)!).push(i);
      });
      const split = groups.size > 1;
      let left = groups.size;
      let failed = false;
      const finish = () => {
        if (split && policy === "atomic" && !requestAllowed(checks, (i) => results[i]!.allowed)) this.refundAll(checks, results).then(resolve, reject);
        else resolve(results);
      };
      const part = (idx: number[], partPolicy: ChargePolicy): Part => {
        const sub = idx.map((i) => checks[i]!);
        return {
          checks: sub,
          policy: partPolicy,
          done: (reply, offset) => {
            const rs = readResults(reply, offset, sub);
            rs.forEach((r, j) => (results[idx[j]!] = r));
            if (--left === 0 && !failed) finish();
            return offset + replyLength(sub);
          },
          fail: (err) => {
            if (!failed) reject(err);
            failed = true;
          },
        };
      };
      for (const [slot, idx] of groups) {
        // A split atomic request decides each check on its own (a rejected check counts nothing) and
        // settles the request's answer afterwards, refunding what was kept.
        const parts = split && policy === "atomic" ? idx.map((i) => part([i], "atomic")) : [part(idx, policy)];
        left += parts.length - 1;
        this.enqueue({ parts, now, slot });
      }
    });
  }

  private enqueue(q: Queued): void {
    this.queue.push(q);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  /** Send queued parts: one call per (slot, time) group of up to maxBatch parts. */
  private flush(): void {
    while (this.queue.length && this.inFlight < this.maxInFlight) {
      const first = this.queue[0]!;
      const batch: Queued[] = [];
      const rest: Queued[] = [];
      for (const q of this.queue) {
        if (batch.length < this.maxBatch && q.slot === first.slot && q.now === first.now) batch.push(q);
        else rest.push(q);
      }
      this.queue = rest;
      this.send(batch);
    }
  }

  private send(batch: Queued[]): void {
    const keys: string[] = [];
    const keyIndex = new Map<string, number>();
    // Requests with the same shape (counters, limits, costs, policy) are sent once and repeated by
    // the script in arrival order (runs of one shape), so a hot key costs one shape, not one request's
    // worth of arguments, per request.
    const shapeIndex = new Map<string, number>();
    const shapeArgs: (string | number)[] = [];
    const runs: number[] = [];
    let lastShape = 0;
    const parts: Part[] = [];
    for (const q of batch)
      for (const p of q.parts) {
        parts.push(p);
        let sig = p.policy === "atomic" ? "a" : "i";
        const levelKeys: string[] = [];
        for (const c of p.checks) {
          sig += `|${c.cost}${c.quota ? "q" : ""}`;
          // Keys are length-prefixed, so no key's content can shift the fields after it (injective).
          for (const l of c.levels) {
            const k = this.key(l);
            levelKeys.push(k);
            const lim = l.limit;
            sig += `\n${k.length}:${k}\n${lim.algorithm}\n${lim.limit}\n${lim.periodMs}\n${lim.burst ?? -1}\n${lim.debt ?? 0}\n${l.enforce ? 1 : 0}`;
          }
        }
        let shape = shapeIndex.get(sig);
        if (shape === undefined) {
          shapeIndex.set(sig, (shape = shapeIndex.size + 1));
          shapeArgs.push(p.policy === "atomic" ? 1 : 0, p.checks.length);
          let li = 0;
          for (const c of p.checks) {
            shapeArgs.push(c.cost, c.quota ? 1 : 0, c.levels.length);
            for (const l of c.levels) {
              const k = levelKeys[li++]!;
              let ki = keyIndex.get(k);
              if (ki === undefined) keyIndex.set(k, (ki = keys.push(k)));
              const lim = l.limit;
              shapeArgs.push(ki, ALGORITHM_CODE[lim.algorithm], lim.limit, lim.periodMs, lim.burst ?? -1, lim.debt ?? 0, l.enforce ? 1 : 0);
            }
          }
        }
        if (shape === lastShape) runs[runs.length - 1]!++;
        else runs.push(shape, 1);
        lastShape = shape;
      }
    this.inFlight++;
    (this.client as unknown as Scripted)
      .mrlDecide(keys.length, ...keys, batch[0]!.now, shapeIndex.size, ...shapeArgs, runs.length / 2, ...runs)
      .then(
        (reply) => {
          let offset = 0;
          for (const p of parts) {
            if (p.resolve) {
              p.resolve(readResults(reply, offset, p.checks));
              offset += replyLength(p.checks);
            } else offset = p.done!(reply, offset);
          }
        },
        (err: Error) => {
          for (const p of parts) (p.reject ?? p.fail!)(err);
        },
      )
      .finally(() => {
        this.inFlight--;
        this.schedule();
      });
  }

  /** Undo the kept charges of a split atomic request that answered OVER_LIMIT. */
  private async refundAll(checks: readonly Check[], results: CheckResult[]): Promise<CheckResult[]> {
    const bySlot = new Map<number, { keys: string[]; args: number[] }>();
    checks.forEach((c, i) => {
      const r = results[i]!;
      if (!r.charged || c.cost === 0) return;
      c.levels.forEach((l, j) => {
        const d = r.levels[j]!;
        if (!d.allowed) return;
        const k = this.key(l);
        const slot = keySlot(k);
        const g = bySlot.get(slot) ?? bySlot.set(slot, { keys: [], args: [] }).get(slot)!;
        g.keys.push(k);
        g.args.push(ALGORITHM_CODE[l.limit.algorithm], l.limit.limit, l.limit.periodMs, l.limit.burst ?? -1, c.cost, d.decidedAt ?? 0);
      });
    });
    await Promise.all([...bySlot.values()].map((g) => (this.client as unknown as Scripted).mrlRefund(g.keys.length, ...g.keys, ...g.args)));
    return results.map((r, i) =>
      r.charged
        ? { allowed: r.allowed, charged: false, levels: r.levels.map((d) => (d.allowed && checks[i]!.cost > 0 ? { ...d, remaining: Math.min(d.limit, d.remaining + checks[i]!.cost) } : d)) }
        : r,
    );
  }

  async peek(level: CounterLevel, nowMs: number): Promise<Decision> {
    const [r] = await this.decide([{ levels: [{ ...level, enforce: true }], cost: 0, quota: false }], "independent", nowMs);
    return r!.levels[0]!;
  }

  async reset(level: CounterLevel): Promise<boolean> {
    return (await this.client.del(this.key(level))) > 0;
  }

  async close(): Promise<void> {
    this.client.disconnect();
    return Promise.resolve();
  }
}

/** How many numbers a part's checks take in the reply. */
function replyLength(checks: readonly Check[]): number {
  let n = 0;
  for (const c of checks) n += 1 + 5 * c.levels.length;
  return n;
}

/** Read one part's results from the flat reply, starting at `offset`. */
function readResults(reply: number[], offset: number, checks: readonly Check[]): CheckResult[] {
  const out = new Array<CheckResult>(checks.length);
  for (let j = 0; j < checks.length; j++) {
    const c = checks[j]!;
    const charged = reply[offset++] === 1;
    const levels = new Array<Decision>(c.levels.length);
    let allowed = true;
    for (let k = 0; k < c.levels.length; k++) {
      const l = c.levels[k]!;
      const d: Decision = {
        allowed: reply[offset] === 1,
        limit: reportedLimit(l.limit),
        remaining: reply[offset + 1]!,
        retryAfterMs: reply[offset + 2]!,
        resetAfterMs: reply[offset + 3]!,
        decidedAt: reply[offset + 4]!,
      };
      offset += 5;
      if (!d.allowed && l.enforce) allowed = false;
      levels[k] = d;
    }
    out[j] = { allowed, charged, levels };
  }
  return out;
}
