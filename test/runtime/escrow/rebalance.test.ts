import { describe, expect, it } from "vitest";
import { classify, DEFAULT_POLICY, ewmaRate, keepTarget, pullAmount, pushSurplus, topUp } from "../../../runtime/escrow/rebalance.js";

const p = { ...DEFAULT_POLICY, batchSize: 50, reorderPoint: 10, horizonSeconds: 5, poolLowWater: 100 };

describe("rebalancing policy", () => {
  it("pull borrows at least a batch, more when the request is bigger", () => {
    expect(pullAmount(p, 1, 0)).toBe(50);
    expect(pullAmount(p, 80, 10)).toBe(70);
  });

  it("push returns surplus over the horizon target only when the pool is low, with hysteresis", () => {
    expect(keepTarget(p, 4)).toBe(20);
    expect(pushSurplus(p, 100, 4, 500)).toBe(0); // pool is healthy
    expect(pushSurplus(p, 100, 4, 0)).toBe(80);
    expect(pushSurplus(p, 40, 4, 0)).toBe(0); // within 2× target: keep
    expect(pushSurplus({ ...p, mode: "pull" }, 100, 4, 0)).toBe(0);
  });

  it("hybrid tops up below the reorder point; push-only never pulls", () => {
    expect(topUp(p, 10, 1000)).toBe(50);
    expect(topUp(p, 11, 1000)).toBe(0);
    expect(topUp(p, 0, 20)).toBe(20);
    expect(topUp({ ...p, mode: "push" }, 0, 1000)).toBe(0);
  });

  it("classifies hot and cold regions by utilisation", () => {
    expect(classify(p, [{ region: "a", rate: 100, held: 50 }, { region: "b", rate: 0.1, held: 1000 }, { region: "c", rate: 1, held: 20 }])).toEqual({ hot: ["a"], cold: ["b"] });
  });

  it("the EWMA moves halfway to the observed rate in one half-life", () => {
    expect(ewmaRate(0, 100, 5000, 5000)).toBeCloseTo(10, 12);
    expect(ewmaRate(7, 0, 0)).toBe(7);
  });
});
