/**
 * One level's step computed into a reused record instead of fresh `Step`/`Decision`/state objects: the
 * form every O(1)-state algorithm (gcra, token bucket, fixed window) is written in, so the memory store's
 * hot path allocates nothing and the pure `Step` form is the same arithmetic read out (`stepOf`).
 */
import type { Step } from "./limit.js";

export class Scratch {
  allowed = false;
  limit = 0;
  remaining = 0;
  retryAfterMs = 0;
  resetAfterMs = 0;
  /** Numbers in the next state (0: nothing to write: a rejection or a peek). */
  nextLength = 0;
  next0 = 0;
  next1 = 0;
  ttlMs = 0;
}

/** The pure step a scratch holds. */
export function stepOf(s: Scratch): Step {
  return {
    decision: { allowed: s.allowed, limit: s.limit, remaining: s.remaining, retryAfterMs: s.retryAfterMs, resetAfterMs: s.resetAfterMs },
    next: s.nextLength === 0 ? null : s.nextLength === 1 ? [s.next0] : [s.next0, s.next1],
    ttlMs: s.ttlMs,
  };
}
