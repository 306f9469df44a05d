import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backtest, fitHoltWinters } from "../../model/forecast.js";

describe("demand forecast (Holt-Winters)", () => {
  it("learns an exact trend and season: forecasts continue them", () => {
    const season = [10, -5, 0, -5];
    const y = Array.from({ length: 24 }, (_, t) => 100 + 2 * t + season[t % 4]!);
    const fit = fitHoltWinters(y, 4);
    expect(fit.method).toBe("holt-winters");
    for (let h = 1; h <= 8; h++) expect(fit.forecast(h)).toBeCloseTo(100 + 2 * (23 + h) + season[(23 + h) % 4]!, 6);
  });

  it("without two full seasons it uses Holt's trend; with fewer than three points, the last value", () => {
    const fit = fitHoltWinters([5, 8, 11, 14, 17], 12);
    expect(fit.method).toBe("holt");
    expect(fit.forecast(1)).toBeCloseTo(20, 6);
    expect(fit.forecast(3)).toBeCloseTo(26, 6);
    expect(fitHoltWinters([7, 9], 12)).toMatchObject({ method: "naive" });
    expect(fitHoltWinters([7, 9], 12).forecast(5)).toBe(9);
  });

  it("the backtest holds the last point out and reports forecast vs actual", () => {
    const b = backtest([5, 8, 11, 14, 17, 21], 12);
    expect(b.actual).toBe(21);
    expect(b.forecast).toBeCloseTo(20, 6);
    expect(b.absolutePercentError).toBeCloseTo(1 / 21, 6);
    expect(b.next).toBeGreaterThan(21);
  });

  it("property: forecasts are finite and never negative; bad inputs are refused by name", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: 1, maxLength: 30 }), fc.integer({ min: 2, max: 6 }), (y, m) => {
        const f = fitHoltWinters(y, m);
        for (let h = 1; h <= 3; h++) {
          expect(Number.isFinite(f.forecast(h))).toBe(true);
          expect(f.forecast(h)).toBeGreaterThanOrEqual(0);
        }
      }),
      { numRuns: 100 },
    );
    expect(() => fitHoltWinters([1, -2, 3], 2)).toThrow(/history: got -2/);
    expect(() => fitHoltWinters([1, 2, 3], 1)).toThrow(/seasonLength/);
  });
});
