import { describe, expect, it } from "vitest";
import { refillPlan, type RefillInputs } from "../../../model/escrow/refill.js";
import { concurrentExhaustion, debtCeiling, levelNodes } from "../../../model/escrow/debt.js";
import { exceedance, poissonCdf, poissonQuantile } from "../../../model/escrow/oversell.js";

const base: RefillInputs = { regions: [{ id: "a", arrivalRate: 100 }], batchSize: 100, serviceRate: 10, latencyMeanMs: 100, latencyStdMs: 0, burstFactor: 1, failureRecoveryMs: 0, serviceLevel: 0.5 };

describe("refill cadence: one shared pool (M/M/1), service level over the exposure window", () => {
  it("M/M/1 arithmetic over the pool's total arrivals: ρ = Λ/μ, Wq = ρ/(μ − Λ), W = 1/(μ − Λ)", () => {
    const p = refillPlan({
      ...base,
      regions: [
        { id: "a", arrivalRate: 100 },
        { id: "b", arrivalRate: 300 },
      ],
    });
    expect(p.poolArrivalRate).toBe(4); // (100 + 300) / 100 refills/s: both regions queue at the one pool
    expect(p.utilisation).toBeCloseTo(0.4, 12);
    expect(p.sojournSeconds).toBeCloseTo(1 / 6, 12);
    expect(p.queueWaitSeconds).toBeCloseTo(0.4 / 6, 12);
    expect(p.sojournSeconds - p.queueWaitSeconds).toBeCloseTo(1 / 10, 12); // the service time 1/μ
    expect(p.regions.map((r) => r.refillRate)).toEqual([1, 3]);
  });

  it("the reorder point is the service level's Poisson quantile of demand over the exposure window, and meets it", () => {
    for (const level of [0.5, 0.9, 0.999]) {
      const p = refillPlan({ ...base, serviceLevel: level, latencyStdMs: 20, failureRecoveryMs: 500, burstFactor: 2 });
      const r = p.regions[0]!;
      expect(r.exposureSeconds).toBeCloseTo(p.sojournSeconds + (100 + p.z * 20) / 1000 + 0.5, 12);
      expect(r.windowDemand).toBeCloseTo(200 * r.exposureSeconds, 9);
      expect(r.reorderPoint).toBe(poissonQuantile(level, r.windowDemand));
      expect(r.serviceLevelAchieved).toBeGreaterThanOrEqual(level);
      expect(poissonCdf(r.reorderPoint - 1, r.windowDemand)).toBeLessThan(level); // the least such stock
      expect(exceedance(r.reorderPoint, r.windowDemand)).toBeCloseTo(1 - r.serviceLevelAchieved, 12);
    }
  });

  it("the batch size sets the pool's utilisation when not given; each safety term raises the reorder point", () => {
    const p = refillPlan({ ...base, batchSize: undefined, targetUtilisation: 0.25 });
    expect(p.batchSize).toBe(40); // 100/s / (10/s × 0.25)
    const plain = refillPlan({ ...base, serviceLevel: 0.9 }).regions[0]!.reorderPoint;
    expect(refillPlan({ ...base, serviceLevel: 0.999 }).regions[0]!.reorderPoint).toBeGreaterThan(plain);
    expect(refillPlan({ ...base, serviceLevel: 0.9, latencyStdMs: 50 }).regions[0]!.reorderPoint).toBeGreaterThan(plain);
    expect(refillPlan({ ...base, serviceLevel: 0.9, burstFactor: 3, serviceRate: 40 }).regions[0]!.reorderPoint).toBeGreaterThan(plain);
    expect(refillPlan({ ...base, serviceLevel: 0.9, failureRecoveryMs: 1000 }).regions[0]!.reorderPoint).toBeGreaterThan(plain + 80);
  });

  it("refuses a pool that cannot keep up, naming the input", () => {
    expect(() => refillPlan({ ...base, serviceRate: 0.5 })).toThrow(/utilisation 2.000 >= 1/);
    expect(() => refillPlan({ ...base, burstFactor: 0.5 })).toThrow(/burstFactor/);
    expect(() => refillPlan({ ...base, regions: [] })).toThrow(/regions/);
  });
});

describe("debt ceiling with correlated demand", () => {
  it("with no common variation, concurrent exhaustion is the product of the regions' P(N > k)", () => {
    const x = concurrentExhaustion(
      [
        { id: "a", expectedDemand: 10, escrow: 15 },
        { id: "b", expectedDemand: 20, escrow: 25 },
      ],
      0,
    );
    expect(x.all).toBeCloseTo(exceedance(15, 10) * exceedance(25, 20), 15);
    expect(x.all).toBeCloseTo(x.independent, 15);
  });

  it("one event driving every region makes joint exhaustion far likelier than independence says", () => {
    const w = [
      { id: "a", expectedDemand: 100, escrow: 125 },
      { id: "b", expectedDemand: 80, escrow: 102 },
      { id: "c", expectedDemand: 50, escrow: 68 },
    ];
    const x = concurrentExhaustion(w, 0.3);
    expect(x.all).toBeGreaterThan(10 * x.independent);
    expect(x.all).toBeLessThanOrEqual(Math.min(...Object.values(x.perRegion)));
    expect(concurrentExhaustion(w, 0.6).all).toBeGreaterThan(x.all);
  });

  it("the common level's quadrature has mean 1 and the stated coefficient of variation", () => {
    const nodes = levelNodes(0.3);
    const mean = nodes.reduce((s, v) => s + v, 0) / nodes.length;
    const sd = Math.sqrt(nodes.reduce((s, v) => s + (v - mean) ** 2, 0) / nodes.length);
    expect(mean).toBeCloseTo(1, 2);
    expect(sd / mean).toBeCloseTo(0.3, 1);
  });

  it("the ceiling keeps expected cost within tolerance", () => {
    const d = debtCeiling({ costOfOversell: 100, riskTolerance: 50, exhaustionProbability: 0.01, maxDebt: 1000 });
    expect(d.ceiling).toBe(50);
    expect(d.expectedCost).toBeLessThanOrEqual(50);
    expect(debtCeiling({ costOfOversell: 100, riskTolerance: 50, exhaustionProbability: 0, maxDebt: 7 })).toMatchObject({ ceiling: 7, capped: true });
    expect(() => debtCeiling({ costOfOversell: 1, riskTolerance: 1, exhaustionProbability: 2, maxDebt: 1 })).toThrow(/exhaustionProbability/);
  });
});
