/**
 * The memory store's hot path (decideSync): the algorithms whose state is O(1) — gcra, token bucket and
 * fixed window — step into a reused Scratch. They are the same functions the pure steps read out
 * (gcraInto, tokenBucketInto, fixedWindowInto); the sliding algorithms keep the generic path.
 */
import { gcraInto } from "./gcra.js";
import type { Limit, State } from "./limit.js";
import { Scratch } from "./scratch.js";
import { tokenBucketInto } from "./token-bucket.js";
import { fixedWindowInto } from "./windows.js";

export { Scratch };

/** Whether `stepInPlace` handles this limit's algorithm. */
export const inPlace = (l: Limit): boolean => l.algorithm === "gcra" || l.algorithm === "token-bucket" || l.algorithm === "fixed-window";

/** step(l, state, cost, now) into `out` (only for algorithms `inPlace` accepts). */
export function stepInPlace(l: Limit, state: State | undefined, cost: number, now: number, out: Scratch): void {
  if (l.algorithm === "gcra") gcraInto(l, state?.[0], cost, now, out);
  else if (l.algorithm === "token-bucket") tokenBucketInto(l, state, cost, now, out);
  else fixedWindowInto(l, state, cost, now, out);
}
