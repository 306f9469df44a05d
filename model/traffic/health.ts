/**
 * Region health from its signals. A region is unhealthy when every signal fails, degraded when at least
 * `failingShare` of them fail (but not all), healthy otherwise. `fullHealthThreshold` is the same rule
 * as a count — the number of passing signals a Route 53 CALCULATED check needs for "healthy" — so the
 * cloud's view and the local resolver's view of a region can never disagree.
 */
export const HEALTH_STATES = ["healthy", "degraded", "unhealthy"] as const;
export type HealthState = (typeof HEALTH_STATES)[number];

/** Classify one region from its signals' pass/fail results (true = passing). */
export function classifyRegion(passing: readonly boolean[], failingShare: number): HealthState {
  const n = passing.length;
  if (n === 0) throw new Error("a region needs at least one health signal");
  const failing = passing.filter((ok) => !ok).length;
  if (failing === n) return "unhealthy";
  if (failing > 0 && failing / n >= failingShare) return "degraded";
  return "healthy";
}

/** The fewest passing signals (of n) for which `classifyRegion` says healthy. */
export function fullHealthThreshold(n: number, failingShare: number): number {
  for (let healthy = 1; healthy <= n; healthy += 1) {
    const failing = n - healthy;
    if (failing === 0 || failing / n < failingShare) return healthy;
  }
  return n;
}
