import { describe, expect, it } from "vitest";
import { capacityFor, chernoffBound, demandInterval, normalTail, poissonQuantile, poissonTail, zFor, zScore } from "../../../model/escrow/oversell.js";

/** Independent exact tail: P(N ≥ k) = 1 − Σ_{n<k} e^{−λ} λ^n / n!, summed in log space term by term. */
function exactTail(k: number, lambda: number): number {
  let below = 0;
  for (let n = 0; n < k; n++) {
    let logTerm = -lambda + n * Math.log(lambda);
    for (let m = 2; m <= n; m++) logTerm -= Math.log(m);
    below += Math.exp(logTerm);
  }
  // Above the mean, sum the upper tail directly instead (no cancellation).
  if (k > lambda) {
    let up = 0;
    for (let n = k; n < k + 2000; n++) {
      let logTerm = -lambda + n * Math.log(lambda);
      for (let m = 2; m <= n; m++) logTerm -= Math.log(m);
      up += Math.exp(logTerm);
    }
    return up;
  }
  return 1 - below;
}

describe("oversell tail bounds", () => {
  it("exact Poisson tail matches an independent computation to 1e-9 (absolute) and 1e-9 relative in the far tail", () => {
    for (const [k, lambda] of [
      [0, 3],
      [1, 3],
      [5, 3],
      [10, 3],
      [20, 10],
      [30, 10],
      [60, 25],
      [8, 12],
      [150, 100],
    ] as const) {
      const ours = poissonTail(k, lambda);
      const ref = exactTail(k, lambda);
      expect(Math.abs(ours - ref)).toBeLessThan(1e-9);
      if (ref < 1e-3 && ref > 0) expect(Math.abs(ours - ref) / ref).toBeLessThan(1e-9);
    }
  });

  it("textbook values: P(N ≥ 5 | λ=2) = 1 − 7e^{-2}", () => {
    expect(poissonTail(5, 2)).toBeCloseTo(1 - 7 * Math.exp(-2), 12);
    expect(poissonTail(1, 2)).toBeCloseTo(1 - Math.exp(-2), 12);
  });

  it("the normal approximation converges on the exact tail for large λ", () => {
    const lambda = 10_000;
    for (const k of [10_100, 10_200, 10_300]) {
      const exact = poissonTail(k, lambda);
      expect(Math.abs(normalTail(k, lambda) - exact) / exact).toBeLessThan(0.05);
    }
    // ...and is poor for small λ, which is why the exact form is the default.
    expect(Math.abs(normalTail(8, 2) - poissonTail(8, 2)) / poissonTail(8, 2)).toBeGreaterThan(0.5);
  });

  it("z-scores and quantiles agree with the standard normal", () => {
    expect(zScore(120, 100)).toBeCloseTo(2, 12);
    expect(zFor(0.975)).toBeCloseTo(1.959963984540054, 9);
    expect(zFor(0.999)).toBeCloseTo(3.090232306167813, 9);
  });

  it("the Chernoff bound is a true upper bound", () => {
    for (const [k, lambda] of [
      [20, 10],
      [40, 20],
      [130, 100],
    ] as const)
      expect(chernoffBound(k, lambda)).toBeGreaterThanOrEqual(poissonTail(k, lambda));
  });

  it("confidence intervals: the exact interval covers at least the confidence", () => {
    const ci = demandInterval(50, 0.95);
    expect(ci.normal.low).toBeCloseTo(50 - 1.959963984540054 * Math.sqrt(50), 9);
    const inside = 1 - poissonTail(ci.exact.high + 1, 50) - (1 - poissonTail(ci.exact.low, 50));
    expect(inside).toBeGreaterThanOrEqual(0.95);
    expect(poissonQuantile(0.5, 50)).toBe(50);
  });

  it("capacity planning picks the least stock meeting ε", () => {
    const plan = capacityFor(100, 1e-6);
    expect(poissonTail(plan.exact + 1, 100)).toBeLessThanOrEqual(1e-6);
    expect(poissonTail(plan.exact, 100)).toBeGreaterThan(1e-6);
    expect(plan.risk).toBe(poissonTail(plan.exact + 1, 100));
    expect(plan.normal).toBeGreaterThan(100);
  });

  it("rejects nonsense rates with a message naming the input", () => {
    expect(() => poissonTail(3, -1)).toThrow(/lambda: got -1/);
    expect(() => capacityFor(10, 2)).toThrow(/epsilon/);
  });
});
