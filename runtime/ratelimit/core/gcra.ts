/**
 * GCRA with redis-cell's semantics: emission interval T = period / count, delay variation tolerance
 * τ = T · (max_burst + 1), state = the theoretical arrival time (TAT). A rejection changes nothing and a
 * quantity of 0 peeks. Invariant: TAT − now ≤ τ after every admitted request, so at most max_burst + 1
 * requests pass at once and then one per T.
 */
import { gcraMaxBurst, type Limit, type State, type Step } from "./limit.js";

export function gcraStep(l: Limit, state: State | undefined, cost: number, now: number): Step {
  const maxBurst = gcraMaxBurst(l);
  const emission = l.periodMs / l.limit;
  const tolerance = emission * (maxBurst + 1);
  const increment = emission * cost;
  const tat = state?.[0] ?? now;
  const newTat = Math.max(tat, now) + increment;
  const allowAt = newTat - tolerance;
  const diff = now - allowAt;
  const limit = maxBurst + 1;
  if (diff < 0) {
    const ttl = Math.max(0, tat - now);
    return {
      decision: { allowed: false, limit, remaining: remainingOf(tolerance, ttl, emission), retryAfterMs: increment > tolerance ? -1 : -diff, resetAfterMs: ttl },
      next: null,
      ttlMs: ttl,
    };
  }
  const ttl = newTat - now;
  return {
    decision: { allowed: true, limit, remaining: remainingOf(tolerance, ttl, emission), retryAfterMs: 0, resetAfterMs: ttl },
    next: cost === 0 ? null : [newTat],
    ttlMs: ttl,
  };
}

// redis-cell: remaining = (τ − ttl) / T truncated, 0 when it would go below one interval.
function remainingOf(tolerance: number, ttl: number, emission: number): number {
  const next = tolerance - ttl;
  return next > -emission ? Math.max(0, Math.trunc(next / emission + 1e-9)) : 0;
}
