/**
 * Refill cadence with safety factors (outline §11.1.2), as an (r, Q) continuous-review policy: a region
 * asks the global pool for a batch of Q units whenever its free stock falls to its reorder point r.
 *
 * - Sales at region i arrive as a Poisson process of rate λᵢ (× the burst factor b at peak).
 * - ONE pool serves every region's refills: an M/M/1 queue whose arrivals are the regions' refill
 *   requests together, Λ = Σ bλᵢ / Q, served at rate μ; ρ = Λ/μ. A refill waits Wq = ρ/(μ − Λ) in the
 *   queue and spends W = 1/(μ − Λ) there in all (the sojourn).
 * - The exposure window of a region at its reorder point is the time until the refill lands: the
 *   sojourn, the network round trip at the service level's latency quantile, and a pool failover.
 * - r is the least stock with P(N ≤ r) ≥ the service level for N ~ Poisson(bλᵢ · window): the level is
 *   met exactly over the window (not approximately, not over a shorter lead time).
 * - Q makes the pool run at a target utilisation at peak: Q = ⌈Σ bλᵢ / (μ · ρ_target)⌉.
 * Pure.
 */
import { poissonCdf, poissonQuantile, zFor } from "./oversell.js";

export interface RefillInputs {
  /** Mean sales rate per region, units/s. */
  regions: readonly { id: string; arrivalRate: number }[];
  /** Refills per second the shared pool serves (μ). */
  serviceRate: number;
  /** Units per refill (Q); derived from `targetUtilisation` when omitted. */
  batchSize?: number;
  targetUtilisation?: number;
  /** Round trip to the pool: mean and standard deviation, ms. */
  latencyMeanMs: number;
  latencyStdMs: number;
  /** Peak-to-mean ratio of the arrival rates (≥ 1). */
  burstFactor: number;
  /** How long the pool can be unreachable before its failover completes, ms. */
  failureRecoveryMs: number;
  /** Probability a region does not run dry while its refill is in flight. */
  serviceLevel: number;
}

export interface RegionRefill {
  id: string;
  arrivalRate: number;
  peakRate: number;
  /** This region's refill requests per second at peak, bλᵢ/Q. */
  refillRate: number;
  /** Seconds from reaching the reorder point until the refill lands (sojourn + latency quantile + failover). */
  exposureSeconds: number;
  /** Mean peak demand over the exposure window. */
  windowDemand: number;
  /** Refill when free stock ≤ this. */
  reorderPoint: number;
  /** r − mean window demand. */
  safetyStock: number;
  /** P(window demand ≤ r): at least the service level. */
  serviceLevelAchieved: number;
  /** Mean and peak seconds between refills, Q/λᵢ and Q/(bλᵢ). */
  refillIntervalSeconds: number;
  refillIntervalAtPeakSeconds: number;
}

export interface RefillPlan {
  batchSize: number;
  /** Λ = Σ refill requests per second at peak (the pool's arrival rate). */
  poolArrivalRate: number;
  /** ρ = Λ/μ; below 1. */
  utilisation: number;
  /** Mean wait in the pool's queue before service, Wq = ρ/(μ − Λ), s. */
  queueWaitSeconds: number;
  /** Mean time in the pool in all (wait + service), W = 1/(μ − Λ), s. */
  sojournSeconds: number;
  /** z of the service level (the latency quantile used). */
  z: number;
  regions: RegionRefill[];
}

function check(x: RefillInputs): void {
  const nums: [string, number][] = [
    ["serviceRate", x.serviceRate],
    ["latencyMeanMs", x.latencyMeanMs],
    ["latencyStdMs", x.latencyStdMs],
    ["failureRecoveryMs", x.failureRecoveryMs],
  ];
  for (const [k, v] of nums) if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`${k}: got ${v}; expected a finite number >= 0`);
  if (!(x.serviceRate > 0)) throw new RangeError(`serviceRate: got ${x.serviceRate}; expected > 0`);
  if (!(x.burstFactor >= 1)) throw new RangeError(`burstFactor: got ${x.burstFactor}; expected >= 1`);
  if (!(x.serviceLevel > 0 && x.serviceLevel < 1)) throw new RangeError(`serviceLevel: got ${x.serviceLevel}; expected 0 < level < 1`);
  if (x.regions.length === 0) throw new RangeError("regions: expected at least one region");
  for (const r of x.regions) if (!(r.arrivalRate > 0 && Number.isFinite(r.arrivalRate))) throw new RangeError(`regions.${r.id}.arrivalRate: got ${r.arrivalRate}; expected > 0`);
}

export function refillPlan(x: RefillInputs): RefillPlan {
  check(x);
  const peakTotal = x.regions.reduce((s, r) => s + r.arrivalRate * x.burstFactor, 0);
  const target = x.targetUtilisation ?? 0.5;
  if (x.batchSize === undefined && !(target > 0 && target < 1)) throw new RangeError(`targetUtilisation: got ${target}; expected 0 < ρ < 1`);
  const batchSize = x.batchSize ?? Math.max(1, Math.ceil(peakTotal / (x.serviceRate * target)));
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new RangeError(`batchSize: got ${batchSize}; expected a positive integer`);
  const poolArrivalRate = peakTotal / batchSize;
  const utilisation = poolArrivalRate / x.serviceRate;
  if (utilisation >= 1) throw new RangeError(`utilisation ${utilisation.toFixed(3)} >= 1: the pool cannot keep up; raise batchSize or serviceRate`);
  const sojournSeconds = 1 / (x.serviceRate - poolArrivalRate);
  const queueWaitSeconds = utilisation * sojournSeconds;
  const z = zFor(x.serviceLevel);
  const exposureSeconds = sojournSeconds + (x.latencyMeanMs + z * x.latencyStdMs) / 1000 + x.failureRecoveryMs / 1000;
  const regions = x.regions.map((r): RegionRefill => {
    const peakRate = r.arrivalRate * x.burstFactor;
    const windowDemand = peakRate * exposureSeconds;
    const reorderPoint = poissonQuantile(x.serviceLevel, windowDemand);
    return {
      id: r.id,
      arrivalRate: r.arrivalRate,
      peakRate,
      refillRate: peakRate / batchSize,
      exposureSeconds,
      windowDemand,
      reorderPoint,
      safetyStock: reorderPoint - windowDemand,
      serviceLevelAchieved: poissonCdf(reorderPoint, windowDemand),
      refillIntervalSeconds: batchSize / r.arrivalRate,
      refillIntervalAtPeakSeconds: batchSize / peakRate,
    };
  });
  return { batchSize, poolArrivalRate, utilisation, queueWaitSeconds, sojournSeconds, z, regions };
}
