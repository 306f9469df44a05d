/**
 * Rebalancing policy (outline §11.1.3), pure: how much a region pulls when it runs low, how much it
 * pushes back when it is cold, and which regions are hot or cold. The region runtime applies these
 * decisions through the store; nothing here does I/O.
 *
 * - pull (reactive): on exhaustion or below the reorder point, borrow a batch from the global pool;
 * - push (proactive): a region holding more free stock than its demand over the horizon returns the
 *   surplus, so hot regions can borrow it; hysteresis (keep 2× target) stops units ping-ponging;
 * - hybrid (production): both, plus a periodic tick that renews the lease, expires reservations,
 *   pushes surplus when the pool runs low and tops up below the reorder point.
 */

export type RebalanceMode = "pull" | "push" | "hybrid";

export interface RebalancePolicy {
  mode: RebalanceMode;
  /** Units per pull (Q of the (r, Q) policy). */
  batchSize: number;
  /** Free units at or under which a region tops up on its tick (r). */
  reorderPoint: number;
  /** Seconds of demand a region keeps when pushing surplus back. */
  horizonSeconds: number;
  /** Push only when the pool has fewer than this many units (no point returning stock to a full pool). */
  poolLowWater: number;
  /** Callers allowed to wait on one in-flight pull before the rest are turned away (backpressure). */
  maxWaiters: number;
}

export const DEFAULT_POLICY: RebalancePolicy = { mode: "hybrid", batchSize: 50, reorderPoint: 10, horizonSeconds: 5, poolLowWater: 50, maxWaiters: 256 };

/** Units to pull for a request of `need` units given `free` local units. */
export function pullAmount(policy: RebalancePolicy, need: number, free: number): number {
  return Math.max(policy.batchSize, need - free);
}

/** Demand-over-horizon target a region keeps; never below the reorder point. */
export function keepTarget(policy: RebalancePolicy, ratePerSecond: number): number {
  return Math.max(policy.reorderPoint, Math.ceil(ratePerSecond * policy.horizonSeconds));
}

/** Free units a cold region returns to the pool on its tick. */
export function pushSurplus(policy: RebalancePolicy, free: number, ratePerSecond: number, pool: number): number {
  if (policy.mode === "pull" || pool >= policy.poolLowWater) return 0;
  const target = keepTarget(policy, ratePerSecond);
  return free > 2 * target ? free - target : 0;
}

/** Units a region tops up on its tick (proactive pull below the reorder point). */
export function topUp(policy: RebalancePolicy, free: number, pool: number): number {
  if (policy.mode === "push" || free > policy.reorderPoint || pool === 0) return 0;
  return Math.min(policy.batchSize, pool);
}

export interface RegionUtilisation {
  region: string;
  /** Units reserved per second (EWMA). */
  rate: number;
  held: number;
}

/** Utilisation = seconds of stock consumed per second; hot above 1/horizon, cold below a tenth of it. */
export function classify(policy: RebalancePolicy, regions: readonly RegionUtilisation[]): { hot: string[]; cold: string[] } {
  const hot: string[] = [];
  const cold: string[] = [];
  for (const r of regions) {
    const u = r.held === 0 ? (r.rate > 0 ? Infinity : 0) : r.rate / r.held;
    if (u * policy.horizonSeconds > 1) hot.push(r.region);
    else if (u * policy.horizonSeconds < 0.1) cold.push(r.region);
  }
  return { hot, cold };
}

/** Exponentially weighted rate: `count` units observed over `elapsedMs`, smoothing half-life `halfLifeMs`. */
export function ewmaRate(previous: number, count: number, elapsedMs: number, halfLifeMs = 5000): number {
  if (elapsedMs <= 0) return previous;
  const alpha = 1 - Math.pow(0.5, elapsedMs / halfLifeMs);
  return previous + alpha * ((count * 1000) / elapsedMs - previous);
}
