/**
 * The debt ceiling (outline §11.1.2): how many units a region may promise beyond its escrow while a
 * refill is in flight. Debt only turns into oversell when every region exhausts at once (the pool and
 * all peers are dry), so the ceiling D is the largest debt whose expected oversell cost stays within the
 * business's risk tolerance: p_exhaust · D · cost_per_oversell ≤ tolerance. Meridian's runtime sells
 * hard inventory with D = 0 (the invariant: never oversell); this model prices what a non-zero D would
 * risk and is what an operator consults before allowing one. Pure.
 */
import { poissonTail } from "./oversell.js";

export interface ExhaustionWindow {
  id: string;
  /** Mean demand at the region during the window (λ·t). */
  expectedDemand: number;
  /** Units it holds when the window opens. */
  escrow: number;
}

/** P(every region's demand reaches its escrow in the same window), independent Poisson demands. */
export function concurrentExhaustion(regions: readonly ExhaustionWindow[]): { perRegion: Record<string, number>; all: number } {
  const perRegion: Record<string, number> = {};
  let all = 1;
  for (const r of regions) {
    const p = poissonTail(r.escrow, r.expectedDemand);
    perRegion[r.id] = p;
    all *= p;
  }
  return { perRegion, all };
}

export interface DebtInputs {
  /** Cost of one oversold unit: refund, compensation, reputation (USD). */
  costOfOversell: number;
  /** Expected oversell cost the business accepts per sale window (USD). */
  riskTolerance: number;
  /** Probability of concurrent exhaustion in the window. */
  exhaustionProbability: number;
  /** Hard cap regardless of the risk arithmetic (e.g. a refill batch). */
  maxDebt: number;
}

export interface DebtCeiling {
  ceiling: number;
  expectedOversellUnits: number;
  expectedOversellCost: number;
  /** True when the cap, not the risk tolerance, bounds the ceiling. */
  capped: boolean;
}

export function debtCeiling(x: DebtInputs): DebtCeiling {
  for (const [k, v] of Object.entries(x)) if (!(typeof v === "number" && v >= 0 && Number.isFinite(v))) throw new RangeError(`${k}: got ${v}; expected a finite number >= 0`);
  if (x.exhaustionProbability > 1) throw new RangeError(`exhaustionProbability: got ${x.exhaustionProbability}; expected <= 1`);
  const unitRisk = x.exhaustionProbability * x.costOfOversell;
  const byRisk = unitRisk === 0 ? Number.POSITIVE_INFINITY : Math.floor(x.riskTolerance / unitRisk);
  const ceiling = Math.floor(Math.min(byRisk, x.maxDebt));
  return {
    ceiling,
    expectedOversellUnits: x.exhaustionProbability * ceiling,
    expectedOversellCost: unitRisk * ceiling,
    capped: byRisk >= x.maxDebt,
  };
}
