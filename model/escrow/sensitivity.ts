/**
 * Sensitivity analysis of the allocation formula (outline §11.1.2): how much each region's escrow moves
 * when one factor's coefficient moves. Two views: the exact partial derivative of the unrounded share,
 *   a_i = A · Σ_k c_k f_ki / Σ_k c_k   ⇒   ∂a_i/∂c_k = A · (f_ki − w_i) / Σ_k c_k,
 * with its elasticity (∂a_i/∂c_k · c_k / a_i); and a scenario table that re-runs the integer allocation
 * with each coefficient scaled by (1 ± δ). Pure.
 */
import { allocate, FACTORS, type AllocationOptions, type Factor, type RegionDemand, DEFAULT_COEFFICIENTS } from "./allocation.js";

export interface FactorSensitivity {
  factor: Factor;
  /** Per region: ∂units/∂coefficient (units per unit of coefficient). */
  derivative: Record<string, number>;
  /** Per region: elasticity of the unrounded share to the coefficient. */
  elasticity: Record<string, number>;
  /** Per region: integer units with the coefficient scaled down and up by δ. */
  scenario: Record<string, { down: number; base: number; up: number }>;
  /** Largest absolute unit change over regions in either scenario. */
  maxUnitShift: number;
}

export function allocationSensitivity(total: number, regions: readonly RegionDemand[], options: AllocationOptions = {}, delta = 0.1): FactorSensitivity[] {
  const base = allocate(total, regions, options);
  const c = options.coefficients ?? DEFAULT_COEFFICIENTS;
  const sumC = c.historical + c.load + c.geographic;
  return FACTORS.map((factor) => {
    const scaled = (m: number) => allocate(total, regions, { ...options, coefficients: { ...c, [factor]: c[factor] * m } });
    const down = scaled(1 - delta);
    const up = scaled(1 + delta);
    const derivative: Record<string, number> = {};
    const elasticity: Record<string, number> = {};
    const scenario: Record<string, { down: number; base: number; up: number }> = {};
    let maxUnitShift = 0;
    base.regions.forEach((r, i) => {
      const d = (base.allocatable * (r.components[factor] - r.weight)) / sumC;
      derivative[r.id] = d;
      elasticity[r.id] = r.exact === 0 ? 0 : (d * c[factor]) / r.exact;
      const s = { down: down.regions[i]!.units, base: r.units, up: up.regions[i]!.units };
      scenario[r.id] = s;
      maxUnitShift = Math.max(maxUnitShift, Math.abs(s.up - s.base), Math.abs(s.down - s.base));
    });
    return { factor, derivative, elasticity, scenario, maxUnitShift };
  });
}
