/**
 * The window algorithms and their memory/accuracy trade-off:
 * - fixed window: state [windowStart, count], O(1); up to 2× limit across a window boundary.
 * - sliding log: state = one timestamp per admitted unit, O(limit); exact — any period holds ≤ limit.
 * - sliding-window counter: state [windowStart, current, previous], O(1); weights the previous window
 *   by its overlap, exact for uniform traffic, worst case 2× limit when the previous window's traffic
 *   was bunched at its end.
 * Windows are aligned to multiples of the period so every instance agrees on boundaries.
 */
import type { Limit, State, Step } from "./limit.js";

export function fixedWindowStep(l: Limit, state: State | undefined, cost: number, now: number): Step {
  const start = Math.floor(now / l.periodMs) * l.periodMs;
  const count = state && state[0] === start ? (state[1] ?? 0) : 0;
  const end = start + l.periodMs;
  const allowed = count + cost <= l.limit;
  const after = allowed ? count + cost : count;
  return {
    decision: {
      allowed,
      limit: l.limit,
      remaining: Math.max(0, Math.floor(l.limit - after)),
      retryAfterMs: allowed ? 0 : cost > l.limit ? -1 : end - now,
      resetAfterMs: after === 0 ? 0 : end - now,
    },
    next: allowed && cost > 0 ? [start, after] : null,
    ttlMs: end - now,
  };
}

export function slidingLogStep(l: Limit, state: State | undefined, cost: number, now: number): Step {
  const horizon = now - l.periodMs;
  const log = (state ?? []).filter((t) => t > horizon);
  const allowed = log.length + cost <= l.limit;
  const next = allowed && cost > 0 ? [...log, ...Array<number>(cost).fill(now)] : null;
  const kept = next ?? log;
  let retryAfterMs = 0;
  if (!allowed) {
    // The entry whose expiry frees enough room for `cost`.
    const oldest = log[log.length + cost - l.limit - 1];
    retryAfterMs = cost > l.limit ? -1 : Math.max(0, (oldest ?? now) + l.periodMs - now);
  }
  const newest = kept[kept.length - 1];
  const resetAfterMs = newest === undefined ? 0 : newest + l.periodMs - now;
  return {
    decision: { allowed, limit: l.limit, remaining: Math.max(0, l.limit - kept.length), retryAfterMs, resetAfterMs },
    next,
    ttlMs: resetAfterMs,
  };
}

export function slidingWindowStep(l: Limit, state: State | undefined, cost: number, now: number): Step {
  const P = l.periodMs;
  const start = Math.floor(now / P) * P;
  let current = 0;
  let previous = 0;
  if (state && state[0] === start) [current, previous] = [state[1] ?? 0, state[2] ?? 0];
  else if (state && state[0] === start - P) previous = state[1] ?? 0;
  const weight = (P - (now - start)) / P;
  const estimate = previous * weight + current;
  const allowed = estimate + cost <= l.limit + 1e-9;
  const after = allowed ? current + cost : current;
  const afterEstimate = previous * weight + after;
  let retryAfterMs = 0;
  if (!allowed) {
    const end = start + P;
    const excess = estimate + cost - l.limit;
    if (cost > l.limit) retryAfterMs = -1;
    else if (previous > 0 && current + cost <= l.limit && (excess * P) / previous < end - now) retryAfterMs = (excess * P) / previous;
    else retryAfterMs = end - now + (current > 0 ? Math.max(0, ((current + cost - l.limit) / current) * P) : 0);
  }
  return {
    decision: {
      allowed,
      limit: l.limit,
      remaining: Math.max(0, Math.floor(l.limit - afterEstimate + 1e-9)),
      retryAfterMs,
      resetAfterMs: after > 0 ? start + 2 * P - now : previous > 0 ? start + P - now : 0,
    },
    next: allowed && cost > 0 ? [start, after, previous] : null,
    ttlMs: start + 2 * P - now,
  };
}
