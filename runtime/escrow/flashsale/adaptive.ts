/**
 * Adaptive admission control: the number of concurrent checkouts a region admits, tuned by AIMD on
 * the latency of its store writes (as TCP congestion control and Netflix's concurrency-limits do).
 * Each fast, successful sale adds 1/limit (≈ +1 per limit's worth of sales); a slow or failed one
 * multiplies the limit by `backoff`. The limit stays within [min, max]. Pure.
 */
export class AdaptiveLimit {
  private value: number;

  constructor(
    readonly min: number,
    readonly max: number,
    readonly targetLatencyMs = 250,
    readonly backoff = 0.9,
  ) {
    if (!(min >= 1 && max >= min)) throw new RangeError(`adaptive limit: expected 1 <= min <= max, got ${min}..${max}`);
    this.value = max;
  }

  get limit(): number {
    return Math.floor(this.value);
  }

  observe(latencyMs: number, ok: boolean): void {
    if (!ok || latencyMs > this.targetLatencyMs) this.value = Math.max(this.min, this.value * this.backoff);
    else this.value = Math.min(this.max, this.value + 1 / this.value);
  }
}
