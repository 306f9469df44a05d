/**
 * The per-key GCRA limiter other runtime services embed (escrow's per-user limits): pure, in memory,
 * redis-cell semantics — `burst` is max_burst (burst + 1 pass at once), then `ratePerSecond`; cost 0
 * peeks; a rejection changes nothing; retryAfterMs is −1 when the cost exceeds burst + 1 and can never
 * pass. Keys whose TAT lies in the past are dropped lazily, so memory follows active keys.
 */
import { gcraInto } from "./gcra.js";
import { validateLimit, type Limit } from "./limit.js";
import { Scratch } from "./scratch.js";

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
  // gcraInto into one reused scratch: this path runs once per request in other services, so it allocates
  // nothing but its answer.
  const out = new Scratch();
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
      gcraInto(limit, tats.get(key), cost, nowMs, out);
      if (out.nextLength === 1) tats.set(key, out.next0);
      return { allowed: out.allowed, retryAfterMs: out.retryAfterMs, remaining: out.remaining };
    },
  };
}
