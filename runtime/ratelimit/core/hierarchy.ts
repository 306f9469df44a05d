/**
 * Hierarchical limits (user → application → tenant → global) decided atomically: every level is stepped
 * against the state it had before the request, and the new states are committed only when every level
 * admits. Invariant: a rejection at any level consumes nothing at any level — unlike a union of
 * independent limiters (rate-limiter-flexible's RLWrapper union, Envoy's per-descriptor `hits_addend`),
 * where the levels that admitted keep the hit.
 */
import { step } from "./algorithms.js";
import { LimitError, type Decision, type Limit, type State, type Step } from "./limit.js";

export interface Level {
  /** The state key of this level (e.g. `tenant:acme`). Keys in one hierarchy must differ. */
  key: string;
  limit: Limit;
  /** The memory store's memo of this level's counter, on levels made by `reusedLevel` (request.ts). */
  slot?: unknown;
}

/** A hierarchy's overall answer (the tightest level speaks for it) and the first level that rejected. */
export interface Admission extends Decision {
  /** Index of the first level that rejected, or −1. */
  blockedBy: number;
}

export interface HierarchyDecision extends Admission {
  /** Each level's own answer, in the order given. */
  levels: Decision[];
}

export interface Commit {
  key: string;
  state: State;
  ttlMs: number;
}

export function checkLevels(levels: readonly Level[], cost: number): void {
  if (levels.length === 0) throw new LimitError("a decision needs at least one level");
  if (!Number.isInteger(cost) || cost < 0) throw new LimitError(`cost is ${cost}; expected an integer ≥ 0`);
  // Hierarchies are short (≤ a handful of levels): a pairwise check beats building a Set on the hot path.
  for (let i = 1; i < levels.length; i++) for (let j = 0; j < i; j++) if (levels[i]!.key === levels[j]!.key) throw new LimitError(`level key "${levels[i]!.key}" appears twice in one hierarchy`);
}

/** Decide a hierarchy against `read` states; returns the decision and the writes to apply (none on rejection). */
export function decideLevels(levels: readonly Level[], read: (key: string) => State | undefined, cost: number, now: number): { decision: HierarchyDecision; commits: Commit[] } {
  const n = levels.length;
  const steps: Step[] = new Array<Step>(n);
  const decisions: Decision[] = new Array<Decision>(n);
  let blockedBy = -1;
  for (let i = 0; i < n; i++) {
    const lv = levels[i]!;
    const s = step(lv.limit, read(lv.key), cost, now);
    steps[i] = s;
    decisions[i] = s.decision;
    if (blockedBy === -1 && !s.decision.allowed) blockedBy = i;
  }
  const commits: Commit[] = [];
  if (blockedBy === -1)
    for (let i = 0; i < n; i++) {
      const s = steps[i]!;
      if (s.next) commits.push({ key: levels[i]!.key, state: s.next, ttlMs: s.ttlMs });
    }
  return { decision: combine(decisions, blockedBy), commits };
}

/** The overall answer: the tightest level speaks for the hierarchy. */
function combine(levels: Decision[], blockedBy: number): HierarchyDecision {
  const allowed = blockedBy === -1;
  let tightest = levels[0]!;
  let retryAfterMs = 0;
  let resetAfterMs = 0;
  for (const d of levels) {
    if (d.remaining < tightest.remaining) tightest = d;
    if (d.resetAfterMs > resetAfterMs) resetAfterMs = d.resetAfterMs;
    if (!d.allowed && retryAfterMs !== -1) retryAfterMs = d.retryAfterMs < 0 ? -1 : Math.max(retryAfterMs, d.retryAfterMs);
  }
  return { allowed, limit: tightest.limit, remaining: tightest.remaining, retryAfterMs, resetAfterMs, levels, blockedBy };
}
