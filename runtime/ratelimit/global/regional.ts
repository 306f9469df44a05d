/**
 * A regional limiter: admits locally, at memory speed, from the capacity its lease grants, and syncs
 * with the global allocator every `refreshMs` (periodic sync; the transport is the caller's — direct,
 * NATS or Redis). Locally it is a token bucket refilled at the lease's `has` per second and holding
 * at most one sync interval's worth (`has × refreshMs`, the lease size, never below `minBurst`); it starts with `minBurst`. When the
 * lease expires without renewal (partition), it falls back to the lease's `safeCapacity`.
 *
 * Stated overage bound (`globalOverageBound`): over any window of W ms, all regions together admit at
 * most capacity × W + capacity × refreshMs (tokens accrued under an earlier, larger lease and spent
 * after it shrank) + 2 × regions × minBurst (the bucket floor, and the floor a first lease starts
 * with) + for each region partitioned past its lease's expiry within the window,
 * safeCapacity × (its time past expiry + refreshMs). With safeCapacity 0 partitions cost nothing: the
 * allocator keeps counting a silent region's lease until it expires, and the region stops using it at
 * that same instant (deploy with clocks within a few ms and lease expiry minus that skew).
 */
import type { Lease } from "./allocator.js";

export interface RegionalOptions {
  resource: string;
  client: string;
  /** Ask for observed demand × headroom, so growth is noticed before it is throttled. */
  headroom?: number;
  /**
   * The bucket never holds less than this (default 1 unit), so a low lease rate whose refresh-interval
   * worth is below one request still admits; it adds regions × minBurst to the overage bound.
   */
  minBurst?: number;
  /** What to ask for before any demand has been seen (default 0); a service asks for the full capacity. */
  initialWants?: number;
}

export class RegionalLimiter {
  private lease: Lease | null = null;
  private tokens = 0;
  private last = 0;
  private demand = 0;
  private demandSince = 0;
  private lastWants = 0;
  admitted = 0;
  rejected = 0;

  constructor(private readonly opts: RegionalOptions) {}

  /** The rate (units/s) this region may use right now. */
  rate(now: number): number {
    if (!this.lease) return 0;
    return now < this.lease.expiresAt ? this.lease.has : this.lease.safeCapacity;
  }

  private capacity(now: number): number {
    if (!this.lease) return 0;
    const rate = this.rate(now);
    return rate > 0 ? Math.max(rate * (this.lease.refreshMs / 1000), this.opts.minBurst ?? 1) : 0;
  }

  private refill(now: number): void {
    if (now > this.last) {
      // Refill piecewise so the switch to safeCapacity at lease expiry is exact.
      const exp = this.lease?.expiresAt ?? now;
      if (this.last < exp && now > exp) {
        this.tokens = Math.min(this.capacity(this.last), this.tokens + ((exp - this.last) * this.rate(this.last)) / 1000);
        this.last = exp;
      }
      this.tokens = Math.min(this.capacity(now), this.tokens + ((now - this.last) * this.rate(now)) / 1000);
      this.last = now;
    } else this.tokens = Math.min(this.tokens, this.capacity(now));
  }

  tryAcquire(cost: number, now: number): boolean {
    this.refill(now);
    this.demand += cost;
    if (cost <= this.tokens) {
      this.tokens -= cost;
      this.admitted += cost;
      return true;
    }
    this.rejected += cost;
    return false;
  }

  /** Give back a cost taken by tryAcquire when a later check of the same request rejected it. */
  refund(cost: number, now: number): void {
    this.refill(now);
    this.tokens = Math.min(this.capacity(now), this.tokens + cost);
    this.admitted -= cost;
    this.demand -= cost;
  }

  /** Tokens available now and the refill rate (units/s), for remaining / retry-after answers. */
  available(now: number): { tokens: number; capacity: number; rate: number } {
    this.refill(now);
    return { tokens: this.tokens, capacity: this.capacity(now), rate: this.rate(now) };
  }

  /** What to ask the allocator for: the demand rate seen since the last sync, with headroom. */
  wants(now: number): number {
    if (!this.lease && this.demand === 0) return this.opts.initialWants ?? 0;
    const span = now - this.demandSince;
    if (span <= 0) return this.lastWants;
    return (this.lastWants = ((this.demand * 1000) / span) * (this.opts.headroom ?? 1.2));
  }

  applyLease(lease: Lease, now: number): void {
    this.refill(now);
    const first = this.lease === null;
    this.lease = lease;
    // The first lease starts with the bucket floor, so the request that caused it can pass.
    this.tokens = first ? Math.min(this.capacity(now), this.opts.minBurst ?? 1) : Math.min(this.tokens, this.capacity(now));
    this.demand = 0;
    this.demandSince = now;
  }

  needsSync(now: number): boolean {
    return !this.lease || now - this.demandSince >= this.lease.refreshMs;
  }

  get current(): Lease | null {
    return this.lease;
  }
}

/** The stated bound on what all regions may admit above capacity × window (units). */
export function globalOverageBound(o: { capacity: number; refreshMs: number; regions: number; minBurst?: number; safeCapacity: number; expiredMs: number; expiredRegions: number }): number {
  return (o.capacity * o.refreshMs) / 1000 + 2 * o.regions * (o.minBurst ?? 1) + (o.safeCapacity * (o.expiredMs + o.expiredRegions * o.refreshMs)) / 1000;
}
