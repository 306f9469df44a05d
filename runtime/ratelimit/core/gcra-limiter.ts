/**
 * The per-key GCRA limiter other runtime services embed (escrow's per-user limits): pure, in memory,
 * redis-cell semantics — `burst` is max_burst (burst + 1 pass at once), then `ratePerSecond`; cost 0
 * peeks; a rejection changes nothing; retryAfterMs is −1 when the cost exceeds burst + 1 and can never
 * pass. Keys whose TAT lies in the past are dropped lazily, so memory follows active keys.
 */
import { gcraStep } from "./gcra.js";
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
  const tats = new Map<string, number>();
  let calls = 0;
  return {
    check(key, cost, nowMs) {
      if (!Number.isFinite(cost) || cost < 0) throw new RangeError(`cost is ${cost}; expected a number ≥ 0`);
      if (++calls % 50_000 === 0) for (const [k, tat] of tats) if (tat <= nowMs) tats.delete(k);
      const tat = tats.get(key);
      const s = gcraStep(limit, tat === undefined ? undefined : [tat], cost, nowMs);
      if (s.next) tats.set(key, s.next[0]!);
      return { allowed: s.decision.allowed, retryAfterMs: s.decision.retryAfterMs, remaining: s.decision.remaining };
    },
  };
}
