/**
 * Refill cadence with safety factors (outline §11.1.2), as an (r, Q) continuous-review policy: a region
 * asks the global pool for a batch of Q units whenever its free stock falls to the reorder point r.
 * Sales arrive as a Poisson process of rate λ (×burst at peak); the pool serves refills as an M/M/1
 * queue of rate μ, so the lead time is the queue's sojourn time plus the network round trip at a high
 * percentile (latency variance). The reorder point covers lead-time demand, a Poisson safety stock at
 * the chosen service level, and the demand during the pool's failure-recovery time. Pure.
 */
import { poissonTail, zFor } from "./oversell.js";

export interface RefillInputs {
  /** Mean sales rate at the region, units/s. */
  arrivalRate: number;
  /** Units per refill (Q). */
  batchSize: number;
  /** Refills per second the global pool can serve (μ). */
  serviceRate: number;
  /** Round trip to the pool: mean and standard deviation, ms. */
  latencyMeanMs: number;
  latencyStdMs: number;
  /** Peak-to-mean ratio of the arrival rate (≥ 1). */
  burstFactor: number;
  /** How long the pool can be unreachable before failover completes, ms. */
  failureRecoveryMs: number;
  /** Probability a refill arrives before the region runs dry (e.g. 0.999). */
  serviceLevel: number;
}

export interface RefillPlan {
  /** Refill requests per second at peak, λ·b/Q. */
  refillRate: number;
  /** ρ = refillRate / μ; must stay below 1. */
  utilisation: number;
  /** Mean time a refill waits and is served at the pool (M/M/1 sojourn, 1/(μ − rate)), s. */
  queueingDelaySeconds: number;
  /** z of the service level. */
  z: number;
  /** Queueing delay + mean latency + z·latency σ, s. */
  leadTimeSeconds: number;
  /** Peak demand during the lead time, units. */
  leadTimeDemand: number;
  /** z·√(lead-time demand): the Poisson safety stock. */
  safetyStock: number;
  /** Mean demand during the failure-recovery time. */
  recoveryCover: number;
  /** Refill when free stock ≤ this, units (rounded up). */
  reorderPoint: number;
  /** Reorder point over the naive lead-time demand (mean rate, mean latency). */
  safetyFactor: number;
  /** Mean and peak time between refills, s. */
  refillIntervalSeconds: number;
  refillIntervalAtPeakSeconds: number;
  /** Exact P(peak lead-time demand exceeds the reorder point's non-recovery part). */
  stockoutRisk: number;
}

export function refillPlan(x: RefillInputs): RefillPlan {
  for (const [k, v] of Object.entries(x)) if (!(typeof v === "number" && Number.isFinite(v) && v >= 0)) throw new RangeError(`${k}: got ${v}; expected a finite number >= 0`);
  if (x.arrivalRate <= 0 || x.batchSize <= 0 || x.serviceRate <= 0) throw new RangeError("arrivalRate, batchSize and serviceRate must be > 0");
  if (x.burstFactor < 1) throw new RangeError(`burstFactor: got ${x.burstFactor}; expected >= 1`);
  const peak = x.arrivalRate * x.burstFactor;
  const refillRate = peak / x.batchSize;
  const utilisation = refillRate / x.serviceRate;
  if (utilisation >= 1) throw new RangeError(`utilisation ${utilisation.toFixed(3)} >= 1: the pool cannot keep up; raise batchSize or serviceRate`);
  const queueingDelaySeconds = 1 / (x.serviceRate - refillRate);
  const z = zFor(x.serviceLevel);
  const leadTimeSeconds = queueingDelaySeconds + (x.latencyMeanMs + z * x.latencyStdMs) / 1000;
  const leadTimeDemand = peak * leadTimeSeconds;
  const safetyStock = z * Math.sqrt(leadTimeDemand);
  const recoveryCover = (x.arrivalRate * x.failureRecoveryMs) / 1000;
  const reorderPoint = Math.ceil(leadTimeDemand + safetyStock + recoveryCover);
  const naive = x.arrivalRate * (queueingDelaySeconds + x.latencyMeanMs / 1000);
  return {
    refillRate,
    utilisation,
    queueingDelaySeconds,
    z,
    leadTimeSeconds,
    leadTimeDemand,
    safetyStock,
    recoveryCover,
    reorderPoint,
    safetyFactor: reorderPoint / naive,
    refillIntervalSeconds: x.batchSize / x.arrivalRate,
    refillIntervalAtPeakSeconds: x.batchSize / peak,
    stockoutRisk: poissonTail(Math.ceil(leadTimeDemand + safetyStock) + 1, leadTimeDemand),
  };
}
