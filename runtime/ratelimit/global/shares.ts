/**
 * Doorman's capacity algorithms over the current wants of a resource's clients:
 * - static: everyone gets min(wants, the fixed per-client share);
 * - proportional share: everyone is entitled to an equal share; those wanting less keep what they want,
 *   and the capacity they leave is split among the rest in proportion to how much they want above
 *   their equal share (capacity 120, wants 1000/50/10 → 69.69/40.31/10);
 * - fair share: max-min fairness (→ 60/50/10).
 * Each returns an entitlement per client with Σ ≤ capacity.
 */
import { maxMinFair } from "../../quota/index.js";

export type ShareAlgorithm = "static" | "proportional" | "fair";

export function staticShare(perClient: number, wants: readonly number[]): number[] {
  return wants.map((w) => Math.min(w, perClient));
}

export function proportionalShare(capacity: number, wants: readonly number[]): number[] {
  const n = wants.length;
  if (n === 0) return [];
  const total = wants.reduce((s, w) => s + w, 0);
  if (total <= capacity) return [...wants];
  const equal = capacity / n;
  let spare = 0;
  let excess = 0;
  for (const w of wants) {
    if (w <= equal) spare += equal - w;
    else excess += w - equal;
  }
  return wants.map((w) => (w <= equal ? w : equal + (excess > 0 ? (spare * (w - equal)) / excess : 0)));
}

export function entitlements(algorithm: ShareAlgorithm, capacity: number, wants: readonly number[], staticPerClient = capacity): number[] {
  switch (algorithm) {
    case "static":
      return staticShare(staticPerClient, wants);
    case "proportional":
      return proportionalShare(capacity, wants);
    case "fair":
      return maxMinFair(capacity, wants);
  }
}
