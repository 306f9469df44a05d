/**
 * GCRA with redis-cell's semantics: emission interval T = period / count, delay variation tolerance
 * τ = T · (max_burst + 1), state = the theoretical arrival time (TAT). A rejection changes nothing and a
 * quantity of 0 peeks. Invariant: TAT − now ≤ τ after every admitted request, so at most max_burst + 1
 * requests pass at once and then one per T.
 */
import { gcraMaxBurst, type Limit, type State, type Step } from "./limit.js";
import { Scratch, stepOf } from "./scratch.js";

export function gcraStep(l: Limit, state: State | undefined, cost: number, now: number): Step {
  const out = new Scratch();
  gcraInto(l, state?.[0], cost, now, out);
  return stepOf(out);
}

/** The step into `out`; the state is the TAT alone (undefined: a new key). */
export function gcraInto(l: Limit, tatOrNone: number | undefined, cost: number, now: number, out: Scratch): void {
  if (tatOrNone === undefined) gcraUnpacked(l, 0, 0, cost, now, out);
  else gcraUnpacked(l, 1, tatOrNone, cost, now, out);
}

/**
 * The step on a state given as its length (0: a new key) and the TAT, unboxed (the memory store's form).
 * The refusal is its own function: the admitting path stays small enough for the store to inline.
 */
export function gcraUnpacked(l: Limit, len: number, s0: number, cost: number, now: number, out: Scratch): void {
  const maxBurst = gcraMaxBurst(l);
  const emission = l.periodMs / l.limit;
  const tolerance = emission * (maxBurst + 1);
  const increment = emission * cost;
  const tat = len > 0 ? s0 : now;
  const newTat = Math.max(tat, now) + increment;
  const diff = now - (newTat - tolerance);
  out.limit = maxBurst + 1;
  if (diff < 0) {
    gcraRefused(tat, now, emission, tolerance, increment, diff, out);
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

function gcraRefused(tat: number, now: number, emission: number, tolerance: number, increment: number, diff: number, out: Scratch): void {
  const ttl = Math.max(0, tat - now);
  out.allowed = false;
  out.remaining = remainingOf(tolerance, ttl, emission);
  out.retryAfterMs = increment > tolerance ? -1 : -diff;
  out.resetAfterMs = ttl;
  out.nextLength = 0;
  out.ttlMs = ttl;
}

// redis-cell: remaining = (τ − ttl) / T truncated, 0 when it would go below one interval.
function remainingOf(tolerance: number, ttl: number, emission: number): number {
  const next = tolerance - ttl;
  return next > -emission ? Math.max(0, Math.trunc(next / emission + 1e-9)) : 0;
}
