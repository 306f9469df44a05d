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
 * `states[at…]` — the memory store's counters as they lie, so nothing is boxed to call this.
 */
export function tokenBucketOn(p: Float64Array, len: number, states: Float64Array, at: number, cost: number, now0: number, out: Scratch): void {
  // Time never runs backwards for one counter: a request whose clock read is older than the last refill
  // is decided at that refill's time, so it cannot refill the same interval twice.
  const s1 = len > 1 ? states[at + 1]! : 0;
  const now = len > 1 && s1 > now0 ? s1 : now0;
  const capacity = p[0]!;
  const debt = p[1]!;
  const rate = p[2]!;
  const last = len > 1 ? s1 : now;
  const tokens = Math.min(capacity, (len > 0 ? states[at]! : capacity) + Math.max(0, now - last) * rate);
  const allowed = cost <= tokens || (tokens > 0 && tokens - cost >= -debt);
  const after = allowed ? tokens - cost : tokens;
  const resetAfterMs = (capacity - after) / rate;
  out.allowed = allowed;
  out.limit = capacity;
  out.remaining = Math.max(0, Math.floor(after + 1e-9));
  out.resetAfterMs = resetAfterMs;
  out.ttlMs = resetAfterMs;
  if (!allowed) {
    tokenBucketRefused(cost, capacity, debt, tokens, rate, out);
    return;
  }
  out.retryAfterMs = 0;
  out.nextLength = cost === 0 ? 0 : 2;
  out.next0 = after;
  out.next1 = now;
}

// The refusal's own function: the admitting path stays small enough for the memory store to inline.
function tokenBucketRefused(cost: number, capacity: number, debt: number, tokens: number, rate: number, out: Scratch): void {
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
