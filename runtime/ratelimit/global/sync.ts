/**
 * Periodic sync for a regional limiter: every `refreshMs` (from its lease, or `initialRefreshMs` before
 * the first one) it asks a lease source for capacity with the demand it has seen. The source is any
 * GetCapacity — the in-process allocator, the Redis lease allocator, or NATS request/reply. A failed
 * sync keeps the current lease, which runs out at its expiry (then safeCapacity applies): partitions
 * degrade exactly as the stated overage bound assumes.
 */
import type { Clock } from "../../common/clock.js";
import type { Lease } from "./allocator.js";
import { RegionalLimiter } from "./regional.js";

export type LeaseSource = (wants: number, now: number) => Promise<Lease>;

export class LeaseSync {
  readonly limiter: RegionalLimiter;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;
  failures = 0;
  lastError: string | null = null;
  private readonly initialRefreshMs: number;

  constructor(
    private readonly source: LeaseSource,
    private readonly clock: Clock,
    opts: { resource: string; client: string; initialRefreshMs?: number; headroom?: number; initialWants?: number },
  ) {
    this.limiter = new RegionalLimiter({ resource: opts.resource, client: opts.client, headroom: opts.headroom, initialWants: opts.initialWants });
    this.initialRefreshMs = opts.initialRefreshMs ?? 100;
  }

  /** One sync now (also what the timer runs). */
  async syncOnce(): Promise<void> {
    if (this.inFlight) return;
    this.inFlight = true;
    try {
      const now = this.clock.now();
      const lease = await this.source(this.limiter.wants(now), now);
      this.limiter.applyLease(lease, this.clock.now());
      this.lastError = null;
    } catch (err) {
      this.failures++;
      this.lastError = (err as Error).message;
    } finally {
      this.inFlight = false;
    }
  }

  start(): void {
    const tick = () => {
      void this.syncOnce().finally(() => {
        if (this.timer !== undefined) this.timer = setTimeout(tick, this.limiter.current?.refreshMs ?? this.initialRefreshMs).unref();
      });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  tryAcquire(cost: number): boolean {
    return this.limiter.tryAcquire(cost, this.clock.now());
  }
}
