/**
 * The debt ceiling (outline §11.1.2): how many buyers beyond the units left may be let into checkout
 * (overbooking the waiting room's admissions, as airlines overbook seats) before the chance that they
 * all find stock is too small to be worth it. A unit of debt turns into a disappointed buyer only when
 * every region runs short in the same window, so the ceiling D is the largest debt whose expected cost
 * stays within the business's risk tolerance: P(all short) · D · cost ≤ tolerance. Sales themselves
 * never exceed the inventory (the runtime's invariant); the debt only sizes admission.
 *
 * Demand across regions is correlated — one concert announcement drives every region at once — so the
 * regions' Poisson rates share a common level M ~ lognormal with mean 1 and coefficient of variation
 * cv: P(all short) = E_M[Πᵢ P(Nᵢ > kᵢ | λᵢM)], computed by quadrature over M's quantiles. With cv = 0
 * this is the independent product, which understates the joint risk. Pure.
 */
import { exceedance, zFor } from "./oversell.js";

export interface ExhaustionWindow {
  id: string;
  /** Mean demand at the region during the window (λ·t). */
  expectedDemand: number;
  /** Units it holds when the window opens. */
  escrow: number;
}

const NODES = 200;

/** The common demand level's quadrature nodes: equal-probability quantiles of lognormal(mean 1, cv). */
export function levelNodes(cv: number): number[] {
  if (!(cv >= 0 && Number.isFinite(cv))) throw new RangeError(`cv: got ${cv}; expected a finite number >= 0`);
  if (cv === 0) return [1];
  const s2 = Math.log(1 + cv * cv);
  const mu = -s2 / 2;
  return Array.from({ length: NODES }, (_, j) => Math.exp(mu + Math.sqrt(s2) * zFor((j + 0.5) / NODES)));
}

export interface ConcurrentExhaustion {
  /** Each region's chance of running short on its own (its marginal, averaged over the common level). */
  perRegion: Record<string, number>;
  /** The chance every region runs short in the same window, with correlated demand. */
  all: number;
  /** The same if regions were independent (the product of the marginals). */
  independent: number;
}

/** P(every region's demand exceeds its stock in the same window), demand sharing a common level of variation cv. */
export function concurrentExhaustion(regions: readonly ExhaustionWindow[], cv = 0): ConcurrentExhaustion {
  const nodes = levelNodes(cv);
  const perRegion: Record<string, number> = {};
  for (const r of regions) perRegion[r.id] = nodes.reduce((s, m) => s + exceedance(r.escrow, r.expectedDemand * m), 0) / nodes.length;
  const all = nodes.reduce((s, m) => s + regions.reduce((p, r) => p * exceedance(r.escrow, r.expectedDemand * m), 1), 0) / nodes.length;
  const independent = regions.reduce((p, r) => p * perRegion[r.id]!, 1);
  return { perRegion, all, independent };
}

export interface DebtInputs {
  /** Cost of one unit of debt that finds no stock: refund, compensation, reputation (USD). */
  costOfOversell: number;
  /** Expected cost the business accepts per sale window (USD). */
  riskTolerance: number;
  /** Probability of concurrent exhaustion in the window. */
  exhaustionProbability: number;
  /** Hard cap regardless of the risk arithmetic (e.g. a refill batch). */
  maxDebt: number;
}

export interface DebtCeiling {
  ceiling: number;
  expectedShortUnits: number;
  expectedCost: number;
  /** True when the cap, not the risk tolerance, bounds the ceiling. */
  capped: boolean;
}

export function debtCeiling(x: DebtInputs): DebtCeiling {
  for (const [k, v] of Object.entries(x)) if (!(typeof v === "number" && v >= 0 && Number.isFinite(v))) throw new RangeError(`${k}: got ${v}; expected a finite number >= 0`);
  if (x.exhaustionProbability > 1) throw new RangeError(`exhaustionProbability: got ${x.exhaustionProbability}; expected <= 1`);
  const unitRisk = x.exhaustionProbability * x.costOfOversell;
  const byRisk = unitRisk === 0 ? Number.POSITIVE_INFINITY : Math.floor(x.riskTolerance / unitRisk);
  const ceiling = Math.floor(Math.min(byRisk, x.maxDebt));
  return { ceiling, expectedShortUnits: x.exhaustionProbability * ceiling, expectedCost: unitRisk * ceiling, capped: byRisk >= x.maxDebt };
}
