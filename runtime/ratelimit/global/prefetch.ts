/**
 * How far ahead a region asks for its next per-window grant (service/global-budgets.ts): the next grant
 * should arrive before the current one is spent, so a region asks when what it has left falls to the
 * demand expected over two allocator round trips (the low-water mark), and asks for twice that — at least
 * a fraction of the limit. The demand rate is an exponentially weighted rate (time constant 1 s); the
 * round trip follows a slower allocator at once and a faster one gradually. Exactness does not depend on
 * these numbers: the allocator grants at most half of what is free beyond a request's need, and never
 * more than the limit in all.
 */
const TAU_MS = 1000;

export class DemandRate {
  private sum = 0;
  private at = 0;

  observe(cost: number, now: number): void {
    this.decay(now);
    this.sum += Math.max(0, cost);
  }

  /** Units per ms. */
  perMs(now: number): number {
    this.decay(now);
    return this.sum / TAU_MS;
  }

  private decay(now: number): void {
    if (now > this.at) {
      this.sum *= Math.exp(-(now - this.at) / TAU_MS);
      this.at = now;
    }
  }
}

export class RoundTrip {
  /** The allocator's round trip (ms); 0 until one was measured. */
  ms = 0;

  sample(ms: number): void {
    this.ms = ms >= this.ms ? ms : 0.8 * this.ms + 0.2 * ms;
  }
}

export function prefetchPlan(o: { ratePerMs: number; rttMs: number; limit: number; minFraction: number }): { lowWater: number; ask: number } {
  const lowWater = 2 * o.ratePerMs * o.rttMs;
  return { lowWater, ask: Math.max(1, Math.ceil(o.limit * o.minFraction), Math.ceil(2 * lowWater)) };
}
