/**
 * Anomaly detection on request rates (outline §11.2.3): each series (a rule's hits) is counted in fixed
 * intervals, and each closed interval is compared with the series' baseline — an exponentially weighted
 * mean and variance (West's incremental form). An interval is anomalous when its count lies more than
 * `threshold` deviations from the mean, where the deviation is never taken below the Poisson counting
 * noise of the mean (√mean hits): arrivals are random, so a quiet series' natural jitter never alarms.
 * Spikes (abuse, retry storms) and drops (a client or region gone dark) are both reported.
 *
 * The baseline learns only during `warmup` intervals before it judges. An anomalous interval moves the
 * mean with a tenth of the usual weight and leaves the variance alone (else the attack would widen the
 * band until it fits): an attack is not learnt as normal within a few intervals, while a lasting level
 * shift still becomes the new normal after some tens of half-lives. The clock is the caller's; pure apart from it.
 */

export interface AnomalyOptions {
  /** Length of one counting interval (ms). */
  intervalMs: number;
  /** Baseline memory: an interval's weight halves after this many intervals. */
  halfLifeIntervals: number;
  /** Deviations from the mean that make an interval anomalous. */
  threshold: number;
  /** Intervals a series is only learnt before it is judged. */
  warmupIntervals: number;
  /** Series tracked at most; hits of further series are not judged (counted in `untracked`). */
  maxSeries: number;
}

export interface Verdict {
  series: string;
  /** Start of the judged interval (ms, the caller's clock). */
  intervalStart: number;
  count: number;
  mean: number;
  /** The deviation used: max(√variance, √mean). */
  deviation: number;
  /** (count − mean) / deviation; 0 while warming up. */
  score: number;
  anomaly: "spike" | "drop" | null;
}

const ANOMALY_WEIGHT = 0.1;

/** One series' baseline: what a normal interval's count looks like. */
export class RateBaseline {
  private mean = 0;
  private variance = 0;
  private seen = 0;
  private readonly alpha: number;

  constructor(private readonly o: Pick<AnomalyOptions, "halfLifeIntervals" | "threshold" | "warmupIntervals">) {
    this.alpha = 1 - 2 ** (-1 / o.halfLifeIntervals);
  }

  /** Judge one closed interval's count, then learn from it. */
  observe(count: number): Omit<Verdict, "series" | "intervalStart"> {
    const mean = this.mean;
    const deviation = Math.max(Math.sqrt(this.variance), Math.sqrt(mean), 1);
    const judged = this.seen >= this.o.warmupIntervals;
    const score = judged ? (count - mean) / deviation : 0;
    const anomaly = judged && Math.abs(score) > this.o.threshold ? (score > 0 ? "spike" : "drop") : null;
    // The first interval is the mean; later ones move it by alpha (the warm-up uses 1/n until alpha is smaller).
    const a = Math.max(this.alpha, 1 / (this.seen + 1));
    const diff = count - this.mean;
    if (anomaly) this.mean += ANOMALY_WEIGHT * a * diff;
    else {
      this.mean += a * diff;
      this.variance = (1 - a) * (this.variance + a * diff * diff);
    }
    this.seen++;
    return { count, mean, deviation, score, anomaly };
  }

  /** A series whose mean has decayed to (almost) nothing carries no information worth its memory. */
  get idle(): boolean {
    return this.seen > this.o.warmupIntervals && this.mean < 1e-3;
  }
}

/** Counts hits per series per interval and judges each interval as it closes. */
export class RateAnomalyDetector {
  private readonly series = new Map<string, { baseline: RateBaseline; count: number }>();
  private interval: number | null = null;
  untracked = 0;

  constructor(private readonly o: AnomalyOptions) {
    if (!(o.intervalMs > 0) || !(o.halfLifeIntervals >= 1) || !(o.threshold > 0) || !(o.warmupIntervals >= 0) || !(o.maxSeries >= 1)) {
      throw new RangeError("anomaly options: expected intervalMs > 0, halfLifeIntervals ≥ 1, threshold > 0, warmupIntervals ≥ 0, maxSeries ≥ 1");
    }
  }

  private start(now: number): number {
    return Math.floor(now / this.o.intervalMs) * this.o.intervalMs;
  }

  /**
   * Hits of `series` in the open interval. No clock read on this path (it runs per request): whoever owns
   * the clock calls `roll` at each interval's end, and hits recorded before it count in the interval it closes.
   */
  record(series: string, hits: number): void {
    let s = this.series.get(series);
    if (!s) {
      if (this.series.size >= this.o.maxSeries) {
        this.untracked += hits;
        return;
      }
      this.series.set(series, (s = { baseline: new RateBaseline(this.o), count: 0 }));
    }
    s.count += hits;
  }

  /**
   * Close every interval that ended by `now` and judge each series on it. A series with no hits in an
   * interval is judged on 0 (that is how a drop shows). Intervals nobody rolled are judged as empty, up to
   * a few half-lives' worth: further back the baseline would forget them anyway.
   */
  roll(now: number): Verdict[] {
    const current = this.start(now);
    if (this.interval === null) this.interval = current;
    const out: Verdict[] = [];
    const gap = Math.min((current - this.interval) / this.o.intervalMs, 4 * this.o.halfLifeIntervals + 1);
    for (let i = 0; i < gap; i++) {
      const intervalStart = this.interval + i * this.o.intervalMs;
      for (const [name, s] of this.series) {
        out.push({ series: name, intervalStart, ...s.baseline.observe(s.count) });
        s.count = 0;
        if (s.baseline.idle) this.series.delete(name);
      }
    }
    this.interval = current;
    return out;
  }

  has(series: string): boolean {
    return this.series.has(series);
  }

  get tracked(): number {
    return this.series.size;
  }
}
