/**
 * A circuit breaker around the escrow's slow path (pulls and sale writes to the store): after
 * `failureThreshold` consecutive failures it opens and fails fast for `cooldownMs`, then lets one
 * trial call through (half-open); success closes it, failure re-opens it. Pure: time passed in.
 */
export type BreakerState = "closed" | "open" | "half-open";

export class CircuitBreaker {
  private failures = 0;
  private openedAtMs = 0;
  private trialInFlight = false;
  state: BreakerState = "closed";

  constructor(
    readonly failureThreshold = 5,
    readonly cooldownMs = 2_000,
  ) {}

  /** May a call proceed now? In half-open only one trial call may. */
  allow(nowMs: number): boolean {
    if (this.state === "open" && nowMs - this.openedAtMs >= this.cooldownMs) this.state = "half-open";
    if (this.state === "closed") return true;
    if (this.state === "half-open" && !this.trialInFlight) {
      this.trialInFlight = true;
      return true;
    }
    return false;
  }

  retryAfterMs(nowMs: number): number {
    return this.state === "open" ? Math.max(0, this.cooldownMs - (nowMs - this.openedAtMs)) : 0;
  }

  success(): void {
    this.failures = 0;
    this.trialInFlight = false;
    this.state = "closed";
  }

  failure(nowMs: number): void {
    this.trialInFlight = false;
    this.failures++;
    if (this.state === "half-open" || this.failures >= this.failureThreshold) {
      this.state = "open";
      this.openedAtMs = nowMs;
    }
  }
}
