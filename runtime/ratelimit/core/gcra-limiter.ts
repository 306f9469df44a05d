/**
 * The per-key GCRA limiter other runtime services embed (escrow's per-user limits): pure, in memory,
 * redis-cell semantics — `burst` is max_burst (burst + 1 pass at once), then `ratePerSecond`; cost 0
 * peeks; a rejection changes nothing; retryAfterMs is −1 when the cost exceeds burst + 1 and can never
 * pass. Keys whose TAT lies in the past are dropped lazily, so memory follows active keys.
 */
import { validateLimit, type Limit } from "./limit.js";

export interface GcraCheck {
  allowed: boolean;
  retryAfterMs: number;
  remaining: number;
}

export interface GcraLimiter {
  check(key: string, cost: number, nowMs: number): GcraCheck;
}

export function createGcraLimiter(opts: { ratePerSecond: number; burst: number }): GcraLimiter {
  const limit: Limit = validateLimit({ algorithm: "gcra", limit: opts.ratePerSecond, periodMs: 1000, burst: opts.burst }, "gcra");
  // The same arithmetic as gcraStep, inlined: this path runs once per request in other services, so it
  // allocates nothing but its answer (gcra.test.ts checks the two agree).
  const emission = limit.periodMs / limit.limit;
  const tolerance = emission * (opts.burst + 1);
  const tats = new Map<string, number>();
  let nextSweep = -Infinity;
  return {
    check(key, cost, nowMs) {
      if (!(cost >= 0) || !Number.isFinite(cost)) throw new RangeError(`cost is ${cost}; expected a number ≥ 0`);
      if (nowMs >= nextSweep) {
        // Keys whose TAT is in the past carry no state worth keeping.
        if (nextSweep !== -Infinity) for (const [k, t] of tats) if (t <= nowMs) tats.delete(k);
        nextSweep = nowMs + 10_000;
      }
      const tat = tats.get(key) ?? nowMs;
      const increment = emission * cost;
      const newTat = (tat > nowMs ? tat : nowMs) + increment;
      const diff = nowMs - (newTat - tolerance);
      if (diff < 0) {
        const ttl = tat > nowMs ? tat - nowMs : 0;
        return { allowed: false, retryAfterMs: increment > tolerance ? -1 : -diff, remaining: remainingOf(tolerance, ttl, emission) };
      }
      if (cost !== 0) tats.set(key, newTat);
      return { allowed: true, retryAfterMs: 0, remaining: remainingOf(tolerance, newTat - nowMs, emission) };
    },
  };
}

function remainingOf(tolerance: number, ttl: number, emission: number): number {
  const next = tolerance - ttl;
  return next > -emission ? Math.max(0, Math.trunc(next / emission + 1e-9)) : 0;
}
