/** The memory store's answers as fresh objects, read from its scratch records (what its sync and promise APIs return). */
import type { HierarchyDecision } from "../core/hierarchy.js";
import type { Scratch } from "../core/in-place.js";
import type { Decision } from "../core/limit.js";

const decisionOf = (s: Scratch): Decision => ({ allowed: s.allowed, limit: s.limit, remaining: s.remaining, retryAfterMs: s.retryAfterMs, resetAfterMs: s.resetAfterMs });

/** Scratches [from, from + n)'s decisions. Array literals of the common depths are allocated inline; a loop of pushes or new Array(n) is not. */
export function decisionsOf(s: readonly Scratch[], from: number, n: number): Decision[] {
  return n === 1
    ? [decisionOf(s[from]!)]
    : n === 2
      ? [decisionOf(s[from]!), decisionOf(s[from + 1]!)]
      : n === 3
        ? [decisionOf(s[from]!), decisionOf(s[from + 1]!), decisionOf(s[from + 2]!)]
        : s.slice(from, from + n).map(decisionOf);
}

/** combine(), read straight from scratch: the tightest level speaks for the hierarchy. */
export function answerOf(scratch: readonly Scratch[], n: number, blockedBy: number, levels: Decision[]): HierarchyDecision {
  let tightest = 0;
  let retryAfterMs = 0;
  let resetAfterMs = 0;
  for (let i = 0; i < n; i++) {
    const s = scratch[i]!;
    if (s.remaining < scratch[tightest]!.remaining) tightest = i;
    if (s.resetAfterMs > resetAfterMs) resetAfterMs = s.resetAfterMs;
    if (!s.allowed && retryAfterMs !== -1) retryAfterMs = s.retryAfterMs < 0 ? -1 : Math.max(retryAfterMs, s.retryAfterMs);
  }
  const t = scratch[tightest]!;
  const allowed = blockedBy === -1;
  return { allowed, limit: t.limit, remaining: t.remaining, retryAfterMs, resetAfterMs, levels, blockedBy };
}
