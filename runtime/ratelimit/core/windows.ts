/**
 * The window algorithms and their memory/accuracy trade-off:
 * - fixed window: state [windowStart, count], O(1); up to 2× limit across a window boundary.
 * - sliding log: state = one timestamp per admitted unit, O(limit); exact — any period holds ≤ limit.
 * - sliding-window counter: state [windowStart, current, previous], O(1); weights the previous window
 *   by its overlap, exact for uniform traffic, worst case 2× limit when the previous window's traffic
 *   was bunched at its end.
 * Windows are aligned to multiples of the period so every instance agrees on boundaries, and a window is
 * identified by its start: time never runs backwards for one counter, so a request whose clock read is
 * older than the stored window (read before an await, or on a replica whose clock lags) counts against
 * the stored window — it can never reset it.
 */
import type { Limit, State, Step } from "./limit.js";
import { Scratch, stepOf } from "./scratch.js";

export function fixedWindowStep(l: Limit, state: State | undefined, cost: number, at: number): Step {
  const out = new Scratch();
  fixedWindowInto(l, state, cost, at, out);
  return stepOf(out);
}

/** A limit's constants for fixedWindowOn: period and limit. */
export function fixedWindowParams(l: Limit, p: Float64Array): void {
  p[0] = l.periodMs;
  p[1] = l.limit;
}

const params = new Float64Array(2);
const states = new Float64Array(2);

export function fixedWindowInto(l: Limit, state: State | undefined, cost: number, at: number, out: Scratch): void {
  fixedWindowParams(l, params);
  states[0] = state?.[0] ?? 0;
  states[1] = state?.[1] ?? 0;
  fixedWindowOn(params, state === undefined ? 0 : state.length, states, 0, cost, at, out);
}

/**
 * The step on a limit's constants (`fixedWindowParams`) and a state of `len` numbers lying at
 * `states[at…]` — the memory store's counters as they lie, so nothing is boxed to call this. A new key
 * (or a one-number state) and a refusal take functions of their own: the admitting path on a stored
 * state stays small enough for the memory store to inline beside the other algorithms.
 */
export function fixedWindowOn(p: Float64Array, len: number, states: Float64Array, at: number, cost: number, now0: number, out: Scratch): void {
  if (len < 2) {
    fixedWindowPadded(p, len, states, at, cost, now0, out);
    return;
  }
  const periodMs = p[0]!;
  const limit = p[1]!;
  const s0 = states[at]!;
  const now = s0 > now0 ? s0 : now0;
  const start = Math.floor(now / periodMs) * periodMs;
  const count = s0 === start ? states[at + 1]! : 0;
  const ttl = start + periodMs - now;
  if (!(count + cost <= limit)) {
    fixedWindowRefused(limit, start, count, cost, ttl, out);
    return;
  }
  const after = count + cost;
  out.allowed = true;
  out.limit = limit;
  out.remaining = Math.max(0, Math.floor(limit - after));
  out.retryAfterMs = 0;
  out.resetAfterMs = after === 0 ? 0 : ttl;
  out.nextLength = cost > 0 ? 2 : 0;
  out.next0 = start;
  out.next1 = after;
  out.ttlMs = ttl;
}

const padded = new Float64Array(2);

/** A state of fewer than two numbers steps as its equivalent pair: −∞ is no window's start, so it counts 0. */
function fixedWindowPadded(p: Float64Array, len: number, states: Float64Array, at: number, cost: number, now: number, out: Scratch): void {
  padded[0] = len > 0 ? states[at]! : -Infinity;
  padded[1] = 0;
  fixedWindowOn(p, 2, padded, 0, cost, now, out);
}

function fixedWindowRefused(limit: number, start: number, count: number, cost: number, ttl: number, out: Scratch): void {
  out.allowed = false;
  out.limit = limit;
  out.remaining = Math.max(0, Math.floor(limit - count));
  out.retryAfterMs = cost > limit ? -1 : ttl;
  out.resetAfterMs = count === 0 ? 0 : ttl;
  out.nextLength = 0;
  out.next0 = start;
  out.next1 = count;
  out.ttlMs = ttl;
}

/**
 * The state after counting `cost` rejected hits on a fixed window, as envoyproxy/ratelimit's INCRBY does
 * (its counters count every hit, admitted or not, so a window that went over stays over). Used only by
 * the `independent` charging policy.
 */
export function fixedWindowCountRejected(l: Limit, state: State | undefined, cost: number, at: number): State {
  const now = state && state[0]! > at ? state[0]! : at;
  const start = Math.floor(now / l.periodMs) * l.periodMs;
  const count = state && state[0] === start ? (state[1] ?? 0) : 0;
  return [start, count + cost];
}

export function slidingLogStep(l: Limit, state: State | undefined, cost: number, at: number): Step {
  const newest = state && state.length ? state[state.length - 1]! : at;
  const now = newest > at ? newest : at;
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
  const last = kept[kept.length - 1];
  const resetAfterMs = last === undefined ? 0 : last + l.periodMs - now;
  return {
    decision: { allowed, limit: l.limit, remaining: Math.max(0, l.limit - kept.length), retryAfterMs, resetAfterMs },
    next,
    ttlMs: resetAfterMs,
  };
}

export function slidingWindowStep(l: Limit, state: State | undefined, cost: number, at: number): Step {
  const now = state && state[0]! > at ? state[0]! : at;
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
