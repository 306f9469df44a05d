/**
 * The clock every runtime core takes as an argument. Cores never read the system clock themselves, so
 * tests drive time explicitly and `meridian local` can give each region its own skewed clock.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch (may be fractional). */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock tests advance by hand. */
export class ManualClock implements Clock {
  constructor(private t = 0) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
  set(ms: number): void {
    this.t = ms;
  }
}

/** A clock offset from another by a fixed skew (a region whose clock runs ahead or behind). */
export function skewedClock(base: Clock, skewMs: () => number): Clock {
  return { now: () => base.now() + skewMs() };
}
