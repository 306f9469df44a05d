/**
 * What a limit is, what a decision answers, and the admission bound each algorithm promises.
 *
 * Every algorithm core is a pure step `(limit, state, cost, now) → { decision, next, ttlMs }` over a plain
 * `number[]` state, so the memory store, the Redis Lua script and the tests all run the same semantics.
 * Invariant: a rejected request (or a cost-0 peek) returns `next === null` — it changes nothing.
 */

export const ALGORITHMS = ["gcra", "token-bucket", "fixed-window", "sliding-log", "sliding-window"] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

export interface Limit {
  algorithm: Algorithm;
  /** Requests (cost units) per period. */
  limit: number;
  periodMs: number;
  /**
   * gcra: redis-cell `max_burst` (burst+1 may pass at once; default limit−1).
   * token-bucket: bucket capacity (default limit). Ignored by the window algorithms.
   */
  burst?: number;
  /** token-bucket only: how far below zero a burst may borrow; the bucket then admits nothing until repaid. */
  debt?: number;
}

export interface Decision {
  allowed: boolean;
  /** The most that can pass at once (gcra: max_burst+1, token bucket: capacity, windows: limit). */
  limit: number;
  remaining: number;
  /** ms until this cost could pass; 0 when allowed; −1 when it never can (cost above the limit). */
  retryAfterMs: number;
  /** ms until the limiter is back to its full allowance. */
  resetAfterMs: number;
  /** The time (ms) the counter decided at, when a store reports it (Redis: for refunds). */
  decidedAt?: number;
}

export type State = number[];

export interface Step {
  decision: Decision;
  /** The new state to store, or null when nothing changes (rejection or peek). */
  next: State | null;
  /** How long the stored state matters; after it the key may be dropped. */
  ttlMs: number;
}

export class LimitError extends Error {
  override name = "LimitError";
}

/** Check a limit's numbers; throws naming the field, the value and what is expected. */
// Module-level, not a closure per call: validateLimit runs on every decision the service makes.
function bad(where: string, field: string, v: unknown, want: string): never {
  throw new LimitError(`${where}.${field} is ${JSON.stringify(v)}; expected ${want}`);
}

/**
 * Whether validateLimit would accept `l`, without building anything: the stores' per-decision check
 * (validateLimit, only on a refusal, names what is wrong).
 */
export function limitOk(l: Limit): boolean {
  const a = l.algorithm;
  if (a !== "gcra" && a !== "fixed-window" && a !== "token-bucket" && a !== "sliding-window" && a !== "sliding-log") return false;
  if (!Number.isFinite(l.limit) || l.limit <= 0 || !Number.isFinite(l.periodMs) || l.periodMs <= 0) return false;
  const burst = l.burst;
  if (burst !== undefined && (!Number.isFinite(burst) || burst < 0 || (burst === 0 && a === "token-bucket"))) return false;
  const debt = l.debt;
  return debt === undefined || (Number.isFinite(debt) && debt >= 0);
}

export function validateLimit(l: Limit, where = "limit"): Limit {
  if (!ALGORITHMS.includes(l.algorithm)) bad(where, "algorithm", l.algorithm, `one of ${ALGORITHMS.join(", ")}`);
  if (!Number.isFinite(l.limit) || l.limit <= 0) bad(where, "limit", l.limit, "a positive number");
  if (!Number.isFinite(l.periodMs) || l.periodMs <= 0) bad(where, "periodMs", l.periodMs, "a positive number of milliseconds");
  if (l.burst !== undefined && (!Number.isFinite(l.burst) || l.burst < 0)) bad(where, "burst", l.burst, "a number ≥ 0");
  if (l.debt !== undefined && (!Number.isFinite(l.debt) || l.debt < 0)) bad(where, "debt", l.debt, "a number ≥ 0");
  if (l.algorithm === "token-bucket" && l.burst === 0) bad(where, "burst", 0, "a capacity > 0 for a token bucket");
  return l;
}

export const gcraMaxBurst = (l: Limit): number => l.burst ?? Math.max(0, l.limit - 1);
export const bucketCapacity = (l: Limit): number => l.burst ?? l.limit;

/** The `limit` a decision reports: what can pass at once (gcra max_burst+1, bucket capacity, window limit). */
export function reportedLimit(l: Limit): number {
  return l.algorithm === "gcra" ? gcraMaxBurst(l) + 1 : l.algorithm === "token-bucket" ? bucketCapacity(l) : l.limit;
}

/**
 * The most any window of `windowMs` can admit under this limit — the limit plus the algorithm's stated
 * burst. gcra and token bucket: burst allowance + rate × window; fixed window and sliding-window counter:
 * one limit per fixed window the window touches (up to 2× limit across a boundary); sliding log is exact.
 */
export function admissionBound(l: Limit, windowMs: number): number {
  const perWindow = Math.ceil(windowMs / l.periodMs);
  switch (l.algorithm) {
    case "gcra":
      return gcraMaxBurst(l) + 1 + (windowMs * l.limit) / l.periodMs;
    case "token-bucket":
      return bucketCapacity(l) + (l.debt ?? 0) + (windowMs * l.limit) / l.periodMs;
    case "fixed-window":
    case "sliding-window":
      return (perWindow + 1) * l.limit;
    case "sliding-log":
      return perWindow * l.limit;
  }
}
