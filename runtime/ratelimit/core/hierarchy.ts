/**
 * Hierarchical limits (user → application → tenant → global) decided atomically: every level is stepped
 * against the state it had before the request, and the new states are committed only when every level
 * admits. Invariant: a rejection at any level consumes nothing at any level — unlike a union of
 * independent limiters (rate-limiter-flexible's RLWrapper union, Envoy's per-descriptor `hits_addend`),
 * where the levels that admitted keep the hit.
 */
import { step } from "./algorithms.js";
import { LimitError, type Decision, type Limit, type State } from "./limit.js";

export interface Level {
  /** The state key of this level (e.g. `tenant:acme`). Keys in one hierarchy must differ. */
  key: string;
  limit: Limit;
}

export interface HierarchyDecision extends Decision {
  /** Each level's own answer, in the order given. */
  levels: Decision[];
  /** Index of the first level that rejected, or −1. */
  blockedBy: number;
}

export interface Commit {
  key: string;
  state: State;
  ttlMs: number;
}

export function checkLevels(levels: readonly Level[], cost: number): void {
  if (levels.length === 0) throw new LimitError("a decision needs at least one level");
  if (!Number.isInteger(cost) || cost < 0) throw new LimitError(`cost is ${cost}; expected an integer ≥ 0`);
  const seen = new Set<string>();
  for (const l of levels) {
    if (seen.has(l.key)) throw new LimitError(`level key "${l.key}" appears twice in one hierarchy`);
    seen.add(l.key);
  }
}

/** Decide a hierarchy against `read` states; returns the decision and the writes to apply (none on rejection). */
export function decideLevels(
  levels: readonly Level[],
  read: (key: string) => State | undefined,
  cost: number,
  now: number,
): { decision: HierarchyDecision; commits: Commit[] } {
  const steps = levels.map((lv) => step(lv.limit, read(lv.key), cost, now));
  const decisions = steps.map((s) => s.decision);
  const blockedBy = decisions.findIndex((d) => !d.allowed);
  const commits: Commit[] = [];
  if (blockedBy === -1) {
    steps.forEach((s, i) => {
      if (s.next) commits.push({ key: levels[i]!.key, state: s.next, ttlMs: s.ttlMs });
    });
  }
  return { decision: combine(decisions, blockedBy), commits };
}

/** The overall answer: the tightest level speaks for the hierarchy. */
export function combine(levels: Decision[], blockedBy: number): HierarchyDecision {
  const allowed = blockedBy === -1;
  let tightest = levels[0]!;
  for (const d of levels) if (d.remaining < tightest.remaining) tightest = d;
  const rejected = levels.filter((d) => !d.allowed);
  const retryAfterMs = allowed ? 0 : rejected.some((d) => d.retryAfterMs < 0) ? -1 : Math.max(...rejected.map((d) => d.retryAfterMs));
  return {
    allowed,
    limit: tightest.limit,
    remaining: tightest.remaining,
    retryAfterMs,
    resetAfterMs: Math.max(...levels.map((d) => d.resetAfterMs)),
    levels,
    blockedBy,
  };
}
