/**
 * Dynamic allocation (outline §11.1.1 "dynamic rebalancing during operation"): a region's expected
 * demand once the sale runs is the forecast, updated by what the region actually sees. The update is
 * the Gamma–Poisson conjugate: the forecast rate counts as `priorSeconds` of observation, so the
 * posterior mean rate is (forecast · τ + units observed) / (τ + seconds observed). Early on the
 * forecast dominates; after a few horizons the live rate does. Observations are exponentially
 * forgotten (both counts decay alike), so a shift in demand moves the estimate within a half-life.
 * The escrow's rebalancing plans with these rates, so live rates feed the allocation. Pure.
 */

export interface DemandObservation {
  /** Units reserved, exponentially forgotten. */
  units: number;
  /** Seconds observed, forgotten at the same rate. */
  seconds: number;
}

export const NO_OBSERVATION: DemandObservation = { units: 0, seconds: 0 };

/** Fold `units` seen over `elapsedSeconds` into an observation with the given half-life. */
export function observe(o: DemandObservation, units: number, elapsedSeconds: number, halfLifeSeconds: number): DemandObservation {
  if (!(elapsedSeconds >= 0)) return o;
  const keep = Math.pow(0.5, elapsedSeconds / halfLifeSeconds);
  return { units: o.units * keep + units, seconds: o.seconds * keep + elapsedSeconds };
}

/** Posterior mean demand rate, units/s. */
export function posteriorRate(priorRate: number, priorSeconds: number, o: DemandObservation): number {
  const tau = Math.max(0, priorSeconds);
  const den = tau + o.seconds;
  return den === 0 ? priorRate : (priorRate * tau + o.units) / den;
}

/** Live allocation weights: each region's posterior rate as a share of the estate's. */
export function dynamicWeights(regions: readonly { id: string; priorRate: number; observed: DemandObservation }[], priorSeconds: number): Record<string, number> {
  const rates = regions.map((r) => posteriorRate(r.priorRate, priorSeconds, r.observed));
  const sum = rates.reduce((s, v) => s + v, 0);
  return Object.fromEntries(regions.map((r, i) => [r.id, sum > 0 ? rates[i]! / sum : 1 / regions.length]));
}
