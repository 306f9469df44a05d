/**
 * Global limits inside the rate limit service (`rate_limit.global: true`): each such limit key becomes
 * a resource of the global allocator with capacity = requests_per_unit per unit, and this instance
 * (one region) holds a lease on it through a LeaseSync — so every region's service shares one limit
 * and decides locally. The first request for a key waits for its first lease; a key unused for
 * `idleMs` stops syncing and its lease runs out, returning its capacity to the other regions.
 */
import type { Clock } from "../../common/clock.js";
import type { Decision, Limit } from "../core/limit.js";
import type { Lease, ResourceConfig } from "../global/allocator.js";
import type { ShareAlgorithm } from "../global/shares.js";
import { LeaseSync } from "../global/sync.js";

export type CapacitySource = (resource: ResourceConfig, client: string, wants: number, now: number) => Promise<Lease>;

export interface GlobalLimitsOptions {
  /** This region's client id at the allocator. */
  client: string;
  source: CapacitySource;
  clock: Clock;
  refreshMs?: number;
  leaseMs?: number;
  algorithm?: ShareAlgorithm;
  idleMs?: number;
}

export class GlobalLimits {
  private readonly syncs = new Map<string, { sync: LeaseSync; lastUsed: number; limit: Limit }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly o: GlobalLimitsOptions) {
    this.sweeper = setInterval(() => this.dropIdle(), Math.max(1000, (o.idleMs ?? 60_000) / 4)).unref();
  }

  resource(key: string, limit: Limit): ResourceConfig {
    return { id: key, capacity: (limit.limit * 1000) / limit.periodMs, algorithm: this.o.algorithm ?? "fair", leaseMs: this.o.leaseMs ?? 5000, refreshMs: this.o.refreshMs ?? 250 };
  }

  private async entry(key: string, limit: Limit) {
    let e = this.syncs.get(key);
    if (!e) {
      const r = this.resource(key, limit);
      const sync = new LeaseSync((wants, now) => this.o.source(r, this.o.client, wants, now), this.o.clock, { resource: key, client: this.o.client, initialRefreshMs: r.refreshMs, initialWants: r.capacity });
      e = { sync, lastUsed: this.o.clock.now(), limit };
      this.syncs.set(key, e);
      await sync.syncOnce();
      sync.start();
    } else if (!e.sync.limiter.current) await e.sync.syncOnce();
    e.lastUsed = this.o.clock.now();
    return e;
  }

  /** Take `cost` from this region's lease for `key`; the answer is a Decision like the store's. */
  async reserve(key: string, limit: Limit, cost: number): Promise<Decision> {
    const e = await this.entry(key, limit);
    const now = this.o.clock.now();
    const allowed = e.sync.limiter.tryAcquire(cost, now);
    const { tokens, capacity, rate } = e.sync.limiter.available(now);
    const perMs = rate / 1000;
    return {
      allowed,
      limit: limit.limit,
      remaining: Math.max(0, Math.floor(tokens)),
      retryAfterMs: allowed ? 0 : perMs > 0 && cost <= capacity ? (cost - tokens) / perMs : -1,
      resetAfterMs: perMs > 0 ? (capacity - tokens) / perMs : 0,
    };
  }

  refund(key: string, cost: number): void {
    this.syncs.get(key)?.sync.limiter.refund(cost, this.o.clock.now());
  }

  private dropIdle(): void {
    const now = this.o.clock.now();
    for (const [k, e] of this.syncs)
      if (now - e.lastUsed > (this.o.idleMs ?? 60_000)) {
        e.sync.stop();
        this.syncs.delete(k);
      }
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const e of this.syncs.values()) e.sync.stop();
    this.syncs.clear();
  }
}

/** A capacity source backed by an in-process allocator (one instance, or tests). */
export function inProcessSource(allocator: import("../global/allocator.js").GlobalAllocator): CapacitySource {
  return (r, client, wants, now) => {
    allocator.ensureResource(r);
    return Promise.resolve(allocator.getCapacity(r.id, client, wants, now));
  };
}
