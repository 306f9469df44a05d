/**
 * SLO burn-rate throttling: error-budget burn is measured over several window pairs (the SRE
 * workbook's multi-window, multi-burn-rate alerts: 1 h & 5 min at 14.4×, 6 h & 30 min at 6×, by
 * default); a pair fires when BOTH its long and short window burn faster than its threshold — the long
 * window proves it matters, the short one that it is still happening. While a pair fires, the admitted
 * fraction of sheddable traffic drops at once to that pair's `admit`; once nothing fires it recovers
 * gradually, by `recoveryStep` per `recoveryIntervalMs`, so a recovering service is not flooded.
 * Counts live in fixed time buckets (a ring covering the longest window); the clock is the caller's.
 */

export interface BurnWindow {
  longMs: number;
  shortMs: number;
  /** Burn-rate multiple of the budget that fires this pair. */
  burnRate: number;
  /** Fraction of sheddable traffic admitted while it fires. */
  admit: number;
}

export interface BurnRateOptions {
  /** e.g. 0.999: the error budget is 1 − objective. */
  objective: number;
  windows?: BurnWindow[];
  bucketMs?: number;
  recoveryStep?: number;
  recoveryIntervalMs?: number;
}

const SRE_WORKBOOK_WINDOWS: BurnWindow[] = [
  { longMs: 3_600_000, shortMs: 300_000, burnRate: 14.4, admit: 0.5 },
  { longMs: 21_600_000, shortMs: 1_800_000, burnRate: 6, admit: 0.8 },
];

export class BurnRateThrottle {
  private readonly windows: BurnWindow[];
  private readonly bucketMs: number;
  private readonly good: Float64Array;
  private readonly bad: Float64Array;
  private readonly stamp: Float64Array;
  private admitted = 1;
  private lastRecovery = -Infinity;
  private wasFiring = false;

  constructor(private readonly o: BurnRateOptions) {
    if (!(o.objective > 0 && o.objective < 1)) throw new RangeError(`objective is ${o.objective}; expected a fraction in (0, 1), e.g. 0.999`);
    this.windows = o.windows ?? SRE_WORKBOOK_WINDOWS;
    this.bucketMs = o.bucketMs ?? 10_000;
    const longest = Math.max(...this.windows.map((w) => w.longMs));
    const n = Math.ceil(longest / this.bucketMs) + 1;
    this.good = new Float64Array(n);
    this.bad = new Float64Array(n);
    this.stamp = new Float64Array(n).fill(-1);
  }

  record(now: number, good: number, bad: number): void {
    const b = Math.floor(now / this.bucketMs);
    const i = b % this.good.length;
    if (this.stamp[i] !== b) {
      this.stamp[i] = b;
      this.good[i] = 0;
      this.bad[i] = 0;
    }
    this.good[i]! += good;
    this.bad[i]! += bad;
  }

  /** Error rate over the window ending now, as a multiple of the error budget. */
  burnRate(windowMs: number, now: number): number {
    const last = Math.floor(now / this.bucketMs);
    const first = Math.floor((now - windowMs) / this.bucketMs) + 1;
    let good = 0;
    let bad = 0;
    for (let b = first; b <= last; b++) {
      const i = b % this.good.length;
      if (this.stamp[i] === b) {
        good += this.good[i]!;
        bad += this.bad[i]!;
      }
    }
    const total = good + bad;
    return total === 0 ? 0 : bad / total / (1 - this.o.objective);
  }

  /** Which window pairs fire now. */
  firing(now: number): BurnWindow[] {
    return this.windows.filter((w) => this.burnRate(w.longMs, now) > w.burnRate && this.burnRate(w.shortMs, now) > w.burnRate);
  }

  /** The fraction of sheddable traffic to admit now (drops at once, recovers gradually). */
  admitFraction(now: number): number {
    const fired = this.firing(now);
    if (fired.length) {
      const target = Math.min(...fired.map((w) => w.admit));
      if (target < this.admitted) this.admitted = target;
      this.wasFiring = true;
      return this.admitted;
    }
    // Recovery starts when we first see nothing firing, not when it last fired.
    if (this.wasFiring) {
      this.wasFiring = false;
      this.lastRecovery = now;
    }
    const step = this.o.recoveryStep ?? 0.1;
    const every = this.o.recoveryIntervalMs ?? 60_000;
    if (this.lastRecovery === -Infinity) this.lastRecovery = now;
    while (this.admitted < 1 && now - this.lastRecovery >= every) {
      this.admitted = Math.min(1, this.admitted + step);
      this.lastRecovery += every;
    }
    if (this.admitted >= 1) this.lastRecovery = now;
    return this.admitted;
  }

  /** Admit a request: critical traffic always; sheddable traffic with probability admitFraction. */
  shouldAdmit(now: number, critical: boolean, random: () => number): boolean {
    return critical || random() < this.admitFraction(now);
  }
}
