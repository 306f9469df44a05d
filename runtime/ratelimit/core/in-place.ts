/**
 * The memory store's hot path (decideSync): the algorithms whose state is O(1) — gcra, token bucket and
 * fixed window — step into a reused Scratch. They are the same functions the pure steps read out
 * (gcraOn, tokenBucketOn, fixedWindowOn, on constants worked out from the limit); the sliding algorithms
 * keep the generic path.
 */
import { gcraInto, gcraParams } from "./gcra.js";
import { limitOk, type Limit, type State } from "./limit.js";
import { Scratch } from "./scratch.js";
import { tokenBucketInto, tokenBucketParams } from "./token-bucket.js";
import { fixedWindowInto, fixedWindowParams } from "./windows.js";

export { Scratch };

/** How the memory store steps a level: one of these algorithms in place, or the pure cores (GENERIC_STEP). */
export const GCRA_STEP = 0;
export const TOKEN_BUCKET_STEP = 1;
const FIXED_WINDOW_STEP = 2;
/** A sliding algorithm, or a limit validateLimit refuses (the caller's check then names the fault). */
export const GENERIC_STEP = 3;

function stepKind(l: Limit): number {
  if (!limitOk(l)) return GENERIC_STEP;
  const a = l.algorithm;
  return a === "gcra" ? GCRA_STEP : a === "token-bucket" ? TOKEN_BUCKET_STEP : a === "fixed-window" ? FIXED_WINDOW_STEP : GENERIC_STEP;
}

/** A step plan's length and where it keeps its kind: the algorithm's constants come first (its `…On`'s `p`). */
export const PLAN_SIZE = 4;
export const PLAN_KIND = 3;

/** A limit's step plan into `plan` (PLAN_SIZE numbers): its stepKind, and its algorithm's constants. */
export function planInto(l: Limit, plan: Float64Array): number {
  const kind = stepKind(l);
  plan[PLAN_KIND] = kind;
  if (kind === GCRA_STEP) gcraParams(l, plan);
  else if (kind === TOKEN_BUCKET_STEP) tokenBucketParams(l, plan);
  else if (kind === FIXED_WINDOW_STEP) fixedWindowParams(l, plan);
  return kind;
}

/**
 * The memory store's memo of a reused check's levels (`reusedLevels`, request.ts): each level's slot and
 * step plan, valid while `stamp` is the store's (a stamp no other store has, renewed whenever a slot is
 * freed), so a decision on them reads no level object. Made only when the slots were distinct.
 */
export class LevelsMemo {
  stamp = -1;
  readonly slots: number[] = [];
  readonly plans: Float64Array[] = [];
}

/** Whether `stepInPlace` handles this limit's algorithm. */
export const inPlace = (l: Limit): boolean => l.algorithm === "gcra" || l.algorithm === "token-bucket" || l.algorithm === "fixed-window";

/** step(l, state, cost, now) into `out` (only for algorithms `inPlace` accepts). */
export function stepInPlace(l: Limit, state: State | undefined, cost: number, now: number, out: Scratch): void {
  if (l.algorithm === "gcra") gcraInto(l, state?.[0], cost, now, out);
  else if (l.algorithm === "token-bucket") tokenBucketInto(l, state, cost, now, out);
  else fixedWindowInto(l, state, cost, now, out);
}
