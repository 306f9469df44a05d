import { describe, expect, it } from "vitest";
import { parseEstateConfig, readStackConfigMap } from "../../../stacks/load.js";
import { buildEstateSpec, type EstateSpec } from "../../../model/estate.js";
import { regionForecasts, skuPlans } from "../../../model/escrow/plan.js";

const prod = (): EstateSpec => buildEstateSpec("prod", parseEstateConfig(readStackConfigMap("prod"), "prod"));

describe("the escrow plan of a stack", () => {
  it("allocates by forecast demand: every unit placed, weights summing to 1", () => {
    const s = prod();
    const [p] = skuPlans(s);
    expect(Object.values(p!.allocation).reduce((a, b) => a + b, 0) + p!.globalReserve).toBe(p!.total);
    expect(Object.values(p!.weights).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const f = regionForecasts(s);
    expect(f).toHaveLength(s.regions.length);
    for (const r of f) expect(r.next).toBeGreaterThanOrEqual(0);
  });

  it("refill and debt settings come from the model: reorder points meet the service level; the opening rate splits by weight", () => {
    const s = prod();
    const [p] = skuPlans(s);
    expect(p!.openingRate).toBe(400);
    for (const r of p!.refill.regions) expect(r.serviceLevelAchieved).toBeGreaterThanOrEqual(s.runtime.escrow.refill.serviceLevel);
    expect(Object.values(p!.forecastRate).reduce((a, b) => a + b, 0)).toBeCloseTo(400, 6);
    expect(p!.refill.utilisation).toBeLessThanOrEqual(s.runtime.escrow.refill.targetUtilisation + 1e-9);
    expect(p!.debt.ceiling).toBeGreaterThanOrEqual(0);
  });

  it("a SKU's demand prior moves units toward the regions it names", () => {
    const s = prod();
    const first = s.regions[0]!.id;
    const base = skuPlans(s)[0]!;
    s.runtime.escrow.sales["concert-2027"] = { ...s.runtime.escrow.sales["concert-2027"], prior: { [first]: 1 } };
    const leaning = skuPlans(s)[0]!;
    expect(leaning.allocation[first]!).toBeGreaterThan(base.allocation[first]!);
    expect(leaning.weights[first]!).toBeCloseTo((1 - s.runtime.escrow.allocation.priorWeight) * base.weights[first]! + s.runtime.escrow.allocation.priorWeight, 9);
  });
});
