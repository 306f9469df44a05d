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

/** A limit's constants, worked out once by whoever steps it often: T, τ and max_burst + 1. */
export function gcraParams(l: Limit, p: Float64Array): void {
  const maxBurst = gcraMaxBurst(l);
  const emission = l.periodMs / l.limit;
  p[0] = emission;
  p[1] = emission * (maxBurst + 1);
  p[2] = maxBurst + 1;
}

const params = new Float64Array(3);
const tats = new Float64Array(1);

/** The step into `out`; the state is the TAT alone (undefined: a new key). */
export function gcraInto(l: Limit, tatOrNone: number | undefined, cost: number, now: number, out: Scratch): void {
  gcraParams(l, params);
  tats[0] = tatOrNone ?? 0;
  gcraOn(params, tatOrNone === undefined ? 0 : 1, tats, 0, cost, now, out);
}

/**
 * The step on a limit's constants (`gcraParams`) and a state of `len` numbers (0: a new key) whose TAT
 * is `states[at]` — the memory store's counters as they lie, so nothing is boxed to call this. The
 * refusal is its own function: the admitting path stays small enough for the store to inline.
 */
export function gcraOn(p: Float64Array, len: number, states: Float64Array, at: number, cost: number, now: number, out: Scratch): void {
  const emission = p[0]!;
  const tolerance = p[1]!;
  const increment = emission * cost;
  const tat = len > 0 ? states[at]! : now;
  const newTat = Math.max(tat, now) + increment;
  const diff = now - (newTat - tolerance);
  out.limit = p[2]!;
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
