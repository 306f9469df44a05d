/**
 * Oversell risk as tail probability bounds (outline §11.1.2). Concurrent requests in a window are
 * Poisson(λ); a region holding k units runs short — a buyer finds nothing — when demand exceeds its
 * stock, N > k, i.e. N ≥ k + 1. Every risk in the escrow model is that one event, `exceedance(k, λ)`;
 * `poissonTail(k, λ)` = P(N ≥ k) is the primitive. This module gives the exact Poisson tail,
 * the normal approximation for large λ (with continuity correction), z-scores, confidence intervals,
 * the Chernoff bound, and capacity planning (the least stock whose exhaustion risk is at most ε).
 * Distributions come from @stdlib; the small-tail sum is done here because 1 − CDF cancels to 0 in
 * floating point long before the tail itself underflows. Pure.
 */
import stdlibPoissonCdf from "@stdlib/stats-base-dists-poisson-cdf";
import poissonPmf from "@stdlib/stats-base-dists-poisson-pmf";
import normalCdf from "@stdlib/stats-base-dists-normal-cdf";
import normalQuantile from "@stdlib/stats-base-dists-normal-quantile";

function checkLambda(lambda: number): void {
  if (!(lambda >= 0) || !Number.isFinite(lambda)) throw new RangeError(`lambda: got ${lambda}; expected a finite rate >= 0`);
}

/** Exact P(N ≥ k) for N ~ Poisson(λ). */
export function poissonTail(k: number, lambda: number): number {
  checkLambda(lambda);
  if (k <= 0) return 1;
  const n = Math.ceil(k);
  // Below the mean the complement is accurate; above it, sum the pmf upward (terms shrink geometrically).
  if (n <= lambda) return 1 - stdlibPoissonCdf(n - 1, lambda);
  let term = poissonPmf(n, lambda);
  let sum = 0;
  for (let i = n; term > 0 && term > sum * 1e-17; i++) {
    sum += term;
    term *= lambda / (i + 1);
  }
  return sum;
}

/** Exact P(N ≤ k). */
export function poissonCdf(k: number, lambda: number): number {
  checkLambda(lambda);
  if (k < 0) return 0;
  // Below the mean the CDF is small and stdlib's is accurate; above it, 1 − (a small tail) is.
  return k < lambda ? stdlibPoissonCdf(Math.floor(k), lambda) : 1 - poissonTail(Math.floor(k) + 1, lambda);
}

/** Exact P(N > k): the chance demand exceeds a stock of k (the stockout event). */
export function exceedance(k: number, lambda: number): number {
  return poissonTail(Math.floor(k) + 1, lambda);
}

/** P(N ≥ k) by the normal approximation N(λ, λ) with continuity correction; good when λ ≳ 20. */
export function normalTail(k: number, lambda: number): number {
  checkLambda(lambda);
  if (lambda === 0) return k <= 0 ? 1 : 0;
  // Φ(−z) rather than 1 − Φ(z) keeps precision far in the tail.
  return normalCdf(-(Math.ceil(k) - 0.5 - lambda) / Math.sqrt(lambda), 0, 1);
}

/** Standard score of a stock level k against Poisson(λ) demand. */
export function zScore(k: number, lambda: number): number {
  checkLambda(lambda);
  if (lambda === 0) throw new RangeError("lambda: a z-score needs lambda > 0");
  return (k - lambda) / Math.sqrt(lambda);
}

/** The standard normal quantile z with P(Z ≤ z) = p. */
export function zFor(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`p: got ${p}; expected 0 < p < 1`);
  return normalQuantile(p, 0, 1);
}

/** Chernoff bound P(N ≥ k) ≤ e^{−λ} (eλ/k)^k, valid for k > λ; a guarantee that needs no table. */
export function chernoffBound(k: number, lambda: number): number {
  checkLambda(lambda);
  if (k <= lambda) return 1;
  return Math.exp(-lambda + k + k * Math.log(lambda / k));
}

export interface DemandInterval {
  confidence: number;
  /** Normal approximation λ ± z·√λ. */
  normal: { low: number; high: number; z: number };
  /** Exact Poisson central interval: smallest lo with P(N < lo) ≤ α/2, smallest hi with P(N ≤ hi) ≥ 1 − α/2. */
  exact: { low: number; high: number };
}

/** Two-sided confidence interval for the number of arrivals in a window of mean λ. */
export function demandInterval(lambda: number, confidence: number): DemandInterval {
  checkLambda(lambda);
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence: got ${confidence}; expected 0 < c < 1`);
  const alpha = 1 - confidence;
  const z = zFor(1 - alpha / 2);
  const sd = Math.sqrt(lambda);
  return {
    confidence,
    normal: { low: lambda - z * sd, high: lambda + z * sd, z },
    exact: { low: poissonQuantile(alpha / 2, lambda), high: poissonQuantile(1 - alpha / 2, lambda) },
  };
}

/** Smallest n with P(N ≤ n) ≥ p. */
export function poissonQuantile(p: number, lambda: number): number {
  checkLambda(lambda);
  // Start near the normal guess and walk; the walk is short because the guess is within a few σ.
  let n = Math.max(0, Math.floor(lambda + zFor(Math.min(Math.max(p, 1e-15), 1 - 1e-15)) * Math.sqrt(lambda)) - 2);
  while (n > 0 && poissonCdf(n - 1, lambda) >= p) n--;
  while (poissonCdf(n, lambda) < p) n++;
  return n;
}

export interface CapacityPlan {
  lambda: number;
  epsilon: number;
  /** Least stock k with exact P(N > k) ≤ ε. */
  exact: number;
  /** The normal-approximation stock λ + z_{1−ε}·√λ, rounded up. */
  normal: number;
  /** The exact tail at the planned stock. */
  risk: number;
  /** Stock above the mean demand, in units and as a fraction of the mean. */
  safetyMargin: number;
  safetyMarginFraction: number;
}

/** Capacity planning: the stock that keeps the chance demand exceeds it at or under ε. */
export function capacityFor(lambda: number, epsilon: number): CapacityPlan {
  if (!(epsilon > 0 && epsilon < 1)) throw new RangeError(`epsilon: got ${epsilon}; expected 0 < ε < 1`);
  let k = poissonQuantile(1 - epsilon, lambda);
  while (k > 0 && poissonTail(k, lambda) <= epsilon) k--; // P(N > k−1) = P(N ≥ k): settle on the exact least k
  while (poissonTail(k + 1, lambda) > epsilon) k++;
  return {
    lambda,
    epsilon,
    exact: k,
    normal: Math.ceil(lambda + zFor(1 - epsilon) * Math.sqrt(lambda)),
    risk: poissonTail(k + 1, lambda),
    safetyMargin: k - lambda,
    safetyMarginFraction: lambda === 0 ? 0 : (k - lambda) / lambda,
  };
}
