/**
 * The algorithm steps of gcra, token bucket and fixed window computed into a scratch record instead of
 * fresh `Step`/`Decision`/state objects — the memory store's hot path (decideSync). The arithmetic is
 * gcraStep's, tokenBucketStep's and fixedWindowStep's, line for line; test/runtime/ratelimit/core/
 * in-place.test.ts checks the two agree on every field (property), so exactness is the pure cores'.
 * The sliding algorithms (variable-size or weighted state) keep the generic path.
 */
import type { Limit, State } from "./limit.js";

/** Scratch for one level: the decision's fields, the next state (up to two numbers) and its ttl. */
export class Scratch {
  allowed = false;
  limit = 0;
  remaining = 0;
  retryAfterMs = 0;
  resetAfterMs = 0;
  /** Numbers in the next state (0: nothing to write). */
  nextLength = 0;
  next0 = 0;
  next1 = 0;
  ttlMs = 0;
}

/** Whether `stepInPlace` handles this limit's algorithm. */
export const inPlace = (l: Limit): boolean => l.algorithm === "gcra" || l.algorithm === "token-bucket" || l.algorithm === "fixed-window";

/** step(l, state, cost, now) into `out` (only for algorithms `inPlace` accepts). */
export function stepInPlace(l: Limit, state: State | undefined, cost: number, now: number, out: Scratch): void {
  if (l.algorithm === "gcra") gcra(l, state, cost, now, out);
  else if (l.algorithm === "token-bucket") tokenBucket(l, state, cost, now, out);
  else fixedWindow(l, state, cost, now, out);
}

function gcra(l: Limit, state: State | undefined, cost: number, now: number, out: Scratch): void {
  const maxBurst = l.burst ?? Math.max(0, l.limit - 1);
  const emission = l.periodMs / l.limit;
  const tolerance = emission * (maxBurst + 1);
  const increment = emission * cost;
  const tat = state?.[0] ?? now;
  const newTat = Math.max(tat, now) + increment;
  const diff = now - (newTat - tolerance);
  out.limit = maxBurst + 1;
  if (diff < 0) {
    const ttl = Math.max(0, tat - now);
    out.allowed = false;
    out.remaining = remainingOf(tolerance, ttl, emission);
    out.retryAfterMs = increment > tolerance ? -1 : -diff;
    out.resetAfterMs = ttl;
    out.nextLength = 0;
    out.ttlMs = ttl;
    return;
  }
  const ttl = newTat - now;
  out.allowed = true;
  out.remaining = remainingOf(tolerance, ttl, emission);
  out.retryAfterMs = 0;
  out.resetAfterMs = ttl;
  out.nextLength = cost === 0 ? 0 : 1;
  out.next0 = newTat;
  out.ttlMs = ttl;
}

function remainingOf(tolerance: number, ttl: number, emission: number): number {
  const next = tolerance - ttl;
  return next > -emission ? Math.max(0, Math.trunc(next / emission + 1e-9)) : 0;
}

function tokenBucket(l: Limit, state: State | undefined, cost: number, at: number, out: Scratch): void {
  const now = state && state[1]! > at ? state[1]! : at;
  const capacity = l.burst ?? l.limit;
  const debt = l.debt ?? 0;
  const rate = l.limit / l.periodMs;
  const last = state?.[1] ?? now;
  const tokens = Math.min(capacity, (state?.[0] ?? capacity) + Math.max(0, now - last) * rate);
  const allowed = cost <= tokens || (tokens > 0 && tokens - cost >= -debt);
  const after = allowed ? tokens - cost : tokens;
  const resetAfterMs = (capacity - after) / rate;
  out.allowed = allowed;
  out.limit = capacity;
  out.remaining = Math.max(0, Math.floor(after + 1e-9));
  out.resetAfterMs = resetAfterMs;
  out.ttlMs = resetAfterMs;
  if (!allowed) {
    let retryAfterMs = -1;
    if (cost <= capacity + debt) {
      const plain = cost <= capacity ? (cost - tokens) / rate : Infinity;
      const borrow = (Math.max(Number.EPSILON, cost - debt) - tokens) / rate;
      retryAfterMs = Math.max(0, Math.min(plain, borrow));
    }
    out.retryAfterMs = retryAfterMs;
    out.nextLength = 0;
    return;
  }
  out.retryAfterMs = 0;
  out.nextLength = cost === 0 ? 0 : 2;
  out.next0 = after;
  out.next1 = now;
}

function fixedWindow(l: Limit, state: State | undefined, cost: number, at: number, out: Scratch): void {
  const now = state && state[0]! > at ? state[0]! : at;
  const start = Math.floor(now / l.periodMs) * l.periodMs;
  const count = state && state[0] === start ? (state[1] ?? 0) : 0;
  const end = start + l.periodMs;
  const allowed = count + cost <= l.limit;
  const after = allowed ? count + cost : count;
  out.allowed = allowed;
  out.limit = l.limit;
  out.remaining = Math.max(0, Math.floor(l.limit - after));
  out.retryAfterMs = allowed ? 0 : cost > l.limit ? -1 : end - now;
  out.resetAfterMs = after === 0 ? 0 : end - now;
  out.nextLength = allowed && cost > 0 ? 2 : 0;
  out.next0 = start;
  out.next1 = after;
  out.ttlMs = end - now;
}
