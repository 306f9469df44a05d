/**
 * Token bucket with burst debt: tokens refill at limit/period up to the capacity (the burst). With
 * `debt > 0` a request may take the bucket below zero by up to `debt`, but only while the bucket is not
 * already in debt — once borrowed, nothing passes until refill repays the debt (recovery). State:
 * [tokens, lastRefillMs]. Invariant: tokens ∈ [−debt, capacity]; admitted ≤ capacity + debt + rate·t.
 */
import { bucketCapacity, type Limit, type State, type Step } from "./limit.js";
import { Scratch, stepOf } from "./scratch.js";

export function tokenBucketStep(l: Limit, state: State | undefined, cost: number, at: number): Step {
  const out = new Scratch();
  tokenBucketInto(l, state, cost, at, out);
  return stepOf(out);
}

/** A limit's constants, worked out once by whoever steps it often: capacity, debt and refill rate. */
export function tokenBucketParams(l: Limit, p: Float64Array): void {
  p[0] = bucketCapacity(l);
  p[1] = l.debt ?? 0;
  p[2] = l.limit / l.periodMs;
}

const params = new Float64Array(3);
const states = new Float64Array(2);

export function tokenBucketInto(l: Limit, state: State | undefined, cost: number, at: number, out: Scratch): void {
  tokenBucketParams(l, params);
  states[0] = state?.[0] ?? 0;
  states[1] = state?.[1] ?? 0;
  tokenBucketOn(params, state === undefined ? 0 : state.length, states, 0, cost, at, out);
}

/**
 * The step on a limit's constants (`tokenBucketParams`) and a state of `len` numbers lying at
 * `states[at…]` — the memory store's counters as they lie, so nothing is boxed to call this. A new key
 * (or a one-number state) and a refusal take functions of their own: the admitting path on a stored
 * state stays small enough for the memory store to inline beside the other algorithms.
 */
export function tokenBucketOn(p: Float64Array, len: number, states: Float64Array, at: number, cost: number, now0: number, out: Scratch): void {
  if (len < 2) {
    tokenBucketPadded(p, len, states, at, cost, now0, out);
    return;
  }
  // Time never runs backwards for one counter: a request whose clock read is older than the last refill
  // is decided at that refill's time, so it cannot refill the same interval twice.
  const last = states[at + 1]!;
  const now = last > now0 ? last : now0;
  const capacity = p[0]!;
  const rate = p[2]!;
  const tokens = Math.min(capacity, states[at]! + Math.max(0, now - last) * rate);
  if (!(cost <= tokens || (tokens > 0 && tokens - cost >= -p[1]!))) {
    tokenBucketRefused(cost, capacity, p[1]!, tokens, rate, out);
    return;
  }
  const after = tokens - cost;
  const resetAfterMs = (capacity - after) / rate;
  out.allowed = true;
  out.limit = capacity;
  out.remaining = Math.max(0, Math.floor(after + 1e-9));
  out.retryAfterMs = 0;
  out.resetAfterMs = resetAfterMs;
  out.nextLength = cost === 0 ? 0 : 2;
  out.next0 = after;
  out.next1 = now;
  out.ttlMs = resetAfterMs;
}

const padded = new Float64Array(2);

/** A state of fewer than two numbers steps as its equivalent pair: a new key's bucket is full, refilled now. */
function tokenBucketPadded(p: Float64Array, len: number, states: Float64Array, at: number, cost: number, now: number, out: Scratch): void {
  padded[0] = len > 0 ? states[at]! : p[0]!;
  padded[1] = now;
  tokenBucketOn(p, 2, padded, 0, cost, now, out);
}

function tokenBucketRefused(cost: number, capacity: number, debt: number, tokens: number, rate: number, out: Scratch): void {
  const resetAfterMs = (capacity - tokens) / rate;
  out.allowed = false;
  out.limit = capacity;
  out.remaining = Math.max(0, Math.floor(tokens + 1e-9));
  out.resetAfterMs = resetAfterMs;
  out.ttlMs = resetAfterMs;
  let retryAfterMs = -1;
  if (cost <= capacity + debt) {
    const plain = cost <= capacity ? (cost - tokens) / rate : Infinity;
    // Debt path: the bucket must be above zero and within `debt` of the cost.
    const borrow = (Math.max(Number.EPSILON, cost - debt) - tokens) / rate;
    retryAfterMs = Math.max(0, Math.min(plain, borrow));
  }
  out.retryAfterMs = retryAfterMs;
  out.nextLength = 0;
}
