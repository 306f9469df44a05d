/**
 * Load-based adjustment by AIMD (additive increase, multiplicative decrease — TCP's congestion
 * control, as Netflix's concurrency-limits uses it): the limit grows by `increase` per interval while
 * the protected service is healthy and in use, and is cut by `decrease` (a factor) when a congestion
 * signal appears — latency above target at the chosen percentile, an error/overload rate above
 * threshold, or backpressure reported by the service. At most one cut per interval, so one burst of
 * bad samples is one signal. The limit stays in [min, max]. Pure: the caller feeds samples and time.
 *
 * Used as a concurrency limit, `observe` reports each request's in-flight count; used as a rate limit
 * (requests per second, the rate limit service's `aimd`), `admit` counts admissions and the interval's
 * usage is its admission rate. Outcomes may also come in aggregate (`record`: good/bad counts and
 * latencies reported by the protected service).
 */

export interface AimdOptions {
  initial: number;
  min: number;
  max: number;
  /** Added per healthy interval in which usage reached `utilisation` of the limit. */
  increase: number;
  /** Factor applied on congestion (0 < decrease < 1). */
  decrease: number;
  intervalMs: number;
  latencyTargetMs: number;
  /** Percentile of the interval's latencies compared against the target (default 0.9). */
  percentile?: number;
  /** Error (or overload) rate above which the interval counts as congested (default 0.05). */
  errorRateThreshold?: number;
  /** Only grow when peak in-flight reached this fraction of the limit (default 0.8): no growth while idle. */
  utilisation?: number;
}

export type Signal = "latency" | "errors" | "backpressure" | null;

export class AimdLimiter {
  private limitValue: number;
  private latencies: number[] = [];
  private errors = 0;
  private samples = 0;
  private peakInFlight = 0;
  private admitted = 0;
  /** Intervals closed with a congestion signal (cuts, including those held at `min`). */
  decreases = 0;
  private backpressure = false;
  private intervalStart: number | null = null;
  lastSignal: Signal = null;

  constructor(private readonly o: AimdOptions) {
    if (!(o.min > 0 && o.min <= o.initial && o.initial <= o.max)) throw new RangeError("expected 0 < min ≤ initial ≤ max");
    if (!(o.decrease > 0 && o.decrease < 1)) throw new RangeError(`decrease is ${o.decrease}; expected a factor in (0, 1)`);
    if (!(o.increase > 0)) throw new RangeError(`increase is ${o.increase}; expected > 0`);
    this.limitValue = o.initial;
  }

  get limit(): number {
    return this.limitValue;
  }

  /** One completed request: its latency, whether it failed/overloaded, and the in-flight count seen. */
  observe(sample: { latencyMs: number; error: boolean; inFlight: number }, now: number): void {
    this.roll(now);
    this.latencies.push(sample.latencyMs);
    this.samples++;
    if (sample.error) this.errors++;
    if (sample.inFlight > this.peakInFlight) this.peakInFlight = sample.inFlight;
  }

  /** Aggregate outcomes reported by the protected service: counts and (some of) their latencies. */
  record(outcomes: { good: number; bad: number; latenciesMs?: readonly number[] }, now: number): void {
    this.roll(now);
    this.samples += outcomes.good + outcomes.bad;
    this.errors += outcomes.bad;
    if (outcomes.latenciesMs) for (const l of outcomes.latenciesMs) this.latencies.push(l);
  }

  /** Rate use: `n` requests admitted now; the interval's usage is then its admissions per second. */
  admit(n: number, now: number): void {
    this.roll(now);
    this.admitted += n;
  }

  /** The service (or a downstream) says it is overloaded: treated as congestion this interval. */
  signalBackpressure(now: number): void {
    this.roll(now);
    this.backpressure = true;
  }

  /** Close every interval that has ended by `now` and adjust the limit. */
  roll(now: number): void {
    if (this.intervalStart === null) this.intervalStart = now;
    while (now - this.intervalStart >= this.o.intervalMs) {
      this.adjust();
      this.intervalStart += this.o.intervalMs;
    }
  }

  private adjust(): void {
    const signal = this.congestion();
    this.lastSignal = signal;
    const usage = Math.max(this.peakInFlight, (this.admitted * 1000) / this.o.intervalMs);
    if (signal) {
      this.limitValue = Math.max(this.o.min, this.limitValue * this.o.decrease);
      this.decreases++;
    } else if (usage >= this.limitValue * (this.o.utilisation ?? 0.8)) this.limitValue = Math.min(this.o.max, this.limitValue + this.o.increase);
    this.latencies = [];
    this.errors = 0;
    this.samples = 0;
    this.peakInFlight = 0;
    this.admitted = 0;
    this.backpressure = false;
  }

  private congestion(): Signal {
    if (this.backpressure) return "backpressure";
    if (this.samples === 0 && this.latencies.length === 0) return null;
    if (this.samples > 0 && this.errors / this.samples > (this.o.errorRateThreshold ?? 0.05)) return "errors";
    if (this.latencies.length === 0) return null;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const p = sorted[Math.min(sorted.length - 1, Math.floor((this.o.percentile ?? 0.9) * sorted.length))]!;
    return p > this.o.latencyTargetMs ? "latency" : null;
  }
}
