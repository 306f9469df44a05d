import { describe, expect, it } from "vitest";
import { NO_OBSERVATION, dynamicWeights, observe, posteriorRate } from "../../../model/escrow/dynamic.js";

describe("dynamic allocation: the forecast updated by live rates (Gamma–Poisson)", () => {
  it("with no observation the rate is the forecast; with much observation it is the live rate", () => {
    expect(posteriorRate(10, 20, NO_OBSERVATION)).toBe(10);
    let o = NO_OBSERVATION;
    for (let i = 0; i < 600; i++) o = observe(o, 2, 1, 1e9); // 2 units/s for ten minutes, nothing forgotten
    expect(posteriorRate(10, 20, o)).toBeCloseTo((10 * 20 + 1200) / (20 + 600), 5);
    expect(posteriorRate(10, 20, o)).toBeLessThan(2.3);
  });

  it("forgets: after demand stops, the estimate decays within a few half-lives", () => {
    let o = NO_OBSERVATION;
    for (let i = 0; i < 60; i++) o = observe(o, 5, 1, 10);
    const busy = posteriorRate(0, 5, o);
    for (let i = 0; i < 60; i++) o = observe(o, 0, 1, 10);
    expect(busy).toBeGreaterThan(3.5); // 5/s, shrunk a little toward the prior of 0
    expect(posteriorRate(0, 5, o)).toBeLessThan(0.5);
  });

  it("live weights follow where demand actually is", () => {
    let hot = NO_OBSERVATION;
    for (let i = 0; i < 30; i++) hot = observe(hot, 9, 1, 30);
    const w = dynamicWeights(
      [
        { id: "forecast-favourite", priorRate: 5, observed: observe(NO_OBSERVATION, 0, 30, 30) },
        { id: "actual", priorRate: 1, observed: hot },
      ],
      10,
    );
    expect(w["actual"]!).toBeGreaterThan(0.8);
    expect(w["actual"]! + w["forecast-favourite"]!).toBeCloseTo(1, 12);
  });
});
