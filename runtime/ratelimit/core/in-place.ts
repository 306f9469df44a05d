/**
 * The memory store's hot path (decideSync): the algorithms whose state is O(1) — gcra, token bucket and
 * fixed window — step into a reused Scratch. They are the same functions the pure steps read out
 * (gcraInto, tokenBucketInto, fixedWindowInto); the sliding algorithms keep the generic path.
 */
import { gcraInto } from "./gcra.js";
import type { Limit, State } from "./limit.js";
import { Scratch } from "./scratch.js";
import { tokenBucketInto, tokenBucketUnpacked } from "./token-bucket.js";
import { fixedWindowInto, fixedWindowUnpacked } from "./windows.js";

export { Scratch };

/** Whether `stepInPlace` handles this limit's algorithm. */
export const inPlace = (l: Limit): boolean => l.algorithm === "gcra" || l.algorithm === "token-bucket" || l.algorithm === "fixed-window";

/** step(l, state, cost, now) into `out` (only for algorithms `inPlace` accepts). */
export function stepInPlace(l: Limit, state: State | undefined, cost: number, now: number, out: Scratch): void {
  if (l.algorithm === "gcra") gcraInto(l, state?.[0], cost, now, out);
  else if (l.algorithm === "token-bucket") tokenBucketInto(l, state, cost, now, out);
  else fixedWindowInto(l, state, cost, now, out);
}

/**
 * stepInPlace on a state given unboxed: its length (0: none) and its first two numbers (ignored past the
 * length). Only for states of at most two numbers, which is every state these algorithms write.
 */
export function stepUnpacked(l: Limit, len: number, s0: number, s1: number, cost: number, now: number, out: Scratch): void {
  if (l.algorithm === "gcra") gcraInto(l, len > 0 ? s0 : undefined, cost, now, out);
  else if (l.algorithm === "token-bucket") tokenBucketUnpacked(l, len, s0, s1, cost, now, out);
  else fixedWindowUnpacked(l, len, s0, s1, cost, now, out);
}
