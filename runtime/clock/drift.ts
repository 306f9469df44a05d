/**
 * Drift detection by statistical process control (§12.2.3): a two-sided tabular CUSUM over the clock's
 * measured frequency error (offset change per second between syncs, in ppm). CUSUM accumulates small
 * persistent deviations that a per-sample threshold misses — a crystal slowly going bad — and signals
 * once the cumulative excess passes h. Textbook choices: slack k = half the shift worth detecting,
 * h ≈ 4–5 σ. After an alarm the sums reset so the next alarm means new evidence.
 */
export interface CusumOptions {
  /** Expected value (ppm): a disciplined clock's frequency error is centred on 0. */
  target?: number;
  /** Allowance per sample (ppm) below which deviation is treated as noise. */
  slack: number;
  /** Decision interval (ppm): alarm when a cumulative sum exceeds it. */
  threshold: number;
}

export type DriftAlarm = "fast" | "slow";

export interface CusumState {
  high: number;
  low: number;
  samples: number;
}

export class Cusum {
  private high = 0;
  private low = 0;
  private samples = 0;
  private readonly target: number;

  constructor(private readonly options: CusumOptions) {
    if (!(options.slack >= 0 && options.threshold > 0)) throw new RangeError("CUSUM needs slack ≥ 0 and threshold > 0");
    this.target = options.target ?? 0;
  }

  /** Add one sample; returns the alarm it raises, if any. */
  observe(x: number): DriftAlarm | null {
    if (!Number.isFinite(x)) throw new RangeError(`CUSUM sample must be finite, got ${x}`);
    this.samples++;
    this.high = Math.max(0, this.high + x - this.target - this.options.slack);
    this.low = Math.max(0, this.low + this.target - x - this.options.slack);
    const alarm: DriftAlarm | null = this.high > this.options.threshold ? "fast" : this.low > this.options.threshold ? "slow" : null;
    if (alarm !== null) this.reset();
    return alarm;
  }

  reset(): void {
    this.high = 0;
    this.low = 0;
  }

  get state(): CusumState {
    return { high: this.high, low: this.low, samples: this.samples };
  }
}
