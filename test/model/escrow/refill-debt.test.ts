import { describe, expect, it } from "vitest";
import { refillPlan } from "../../../model/escrow/refill.js";
import { concurrentExhaustion, debtCeiling } from "../../../model/escrow/debt.js";
import { poissonTail } from "../../../model/escrow/oversell.js";

const base = { arrivalRate: 100, batchSize: 100, serviceRate: 10, latencyMeanMs: 100, latencyStdMs: 0, burstFactor: 1, failureRecoveryMs: 0, serviceLevel: 0.5 };

describe("refill cadence", () => {
  it("M/M/1 arithmetic: ρ = λ/(Qμ), sojourn 1/(μ − rate)", () => {
    const p = refillPlan(base);
    expect(p.refillRate).toBe(1);
    expect(p.utilisation).toBeCloseTo(0.1, 12);
    expect(p.queueingDelaySeconds).toBeCloseTo(1 / 9, 12);
    // service level 0.5 ⇒ z = 0: no safety stock, reorder point = lead-time demand (rounded up)
    expect(p.z).toBeCloseTo(0, 12);
    expect(p.leadTimeSeconds).toBeCloseTo(1 / 9 + 0.1, 12);
    expect(p.reorderPoint).toBe(Math.ceil(100 * (1 / 9 + 0.1)));
    expect(p.refillIntervalSeconds).toBe(1);
  });

  it("each safety term raises the reorder point", () => {
    const plain = refillPlan(base).reorderPoint;
    expect(refillPlan({ ...base, serviceLevel: 0.999 }).reorderPoint).toBeGreaterThan(plain);
    expect(refillPlan({ ...base, latencyStdMs: 50, serviceLevel: 0.9 }).reorderPoint).toBeGreaterThan(refillPlan({ ...base, serviceLevel: 0.9 }).reorderPoint);
    expect(refillPlan({ ...base, burstFactor: 3 }).reorderPoint).toBeGreaterThan(plain);
    expect(refillPlan({ ...base, failureRecoveryMs: 1000 }).reorderPoint).toBe(plain + 100);
  });

  it("the stockout risk at the service level's safety stock is near 1 − service level", () => {
    const p = refillPlan({ ...base, arrivalRate: 2000, batchSize: 500, serviceLevel: 0.99 });
    expect(p.stockoutRisk).toBeLessThan(0.02);
    expect(p.stockoutRisk).toBeGreaterThan(0.001);
  });

  it("refuses a pool that cannot keep up", () => {
    expect(() => refillPlan({ ...base, serviceRate: 0.5 })).toThrow(/utilisation 2.000 >= 1/);
    expect(() => refillPlan({ ...base, burstFactor: 0.5 })).toThrow(/burstFactor/);
  });
});

describe("debt ceiling", () => {
  it("concurrent exhaustion multiplies independent tails", () => {
    const x = concurrentExhaustion([{ id: "a", expectedDemand: 10, escrow: 15 }, { id: "b", expectedDemand: 20, escrow: 25 }]);
    expect(x.all).toBeCloseTo(poissonTail(15, 10) * poissonTail(25, 20), 15);
  });

  it("the ceiling keeps expected oversell cost within tolerance", () => {
    const d = debtCeiling({ costOfOversell: 100, riskTolerance: 50, exhaustionProbability: 0.01, maxDebt: 1000 });
    expect(d.ceiling).toBe(50);
    expect(d.expectedOversellCost).toBeLessThanOrEqual(50);
    expect(debtCeiling({ costOfOversell: 100, riskTolerance: 50, exhaustionProbability: 0, maxDebt: 7 })).toMatchObject({ ceiling: 7, capped: true });
    expect(() => debtCeiling({ costOfOversell: 1, riskTolerance: 1, exhaustionProbability: 2, maxDebt: 1 })).toThrow(/exhaustionProbability/);
  });
});
