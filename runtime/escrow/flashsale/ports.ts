/**
 * The per-user rate-limit port flash-sale admission depends on. Its shape is exactly the GCRA limiter
 * of runtime/ratelimit (`createGcraLimiter({ ratePerSecond, burst })`), so the service takes that
 * limiter as a constructor argument; escrow never implements rate limiting itself.
 */
export interface RateLimitDecision {
  allowed: boolean;
  retryAfterMs: number;
  remaining: number;
}

export interface RateLimiterPort {
  check(key: string, cost: number, nowMs: number): RateLimitDecision;
}

/** Factory the service calls once per SKU and region with the stack's per-user rate and burst. */
export type RateLimiterFactory = (opts: { ratePerSecond: number; burst: number }) => RateLimiterPort;
