import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { drawWeighted, seededUniform } from "../../model/random.js";

describe("seededUniform", () => {
  it("is mulberry32: known answers for seed 1", () => {
    const r = seededUniform(1);
    // mulberry32(1) begins 0.6270739405881613 (= 2693262067 / 2^32), the value its published reference prints.
    expect([r(), r(), r()].map((x) => Math.round(x * 4294967296))).toEqual([2693262067, 11749833, 2265367787]);
  });

  it("stays in [0, 1) and replays the same sequence for the same seed", () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const a = seededUniform(seed);
        const b = seededUniform(seed);
        for (let i = 0; i < 50; i++) {
          const x = a();
          expect(x).toBeGreaterThanOrEqual(0);
          expect(x).toBeLessThan(1);
          expect(b()).toBe(x);
        }
      }),
    );
  });
});

describe("drawWeighted", () => {
  it("picks by cumulative weight and skips zero weights", () => {
    const c = [
      { id: "a", weight: 1 },
      { id: "b", weight: 0 },
      { id: "c", weight: 3 },
    ];
    expect(drawWeighted(c, () => 0)?.id).toBe("a");
    expect(drawWeighted(c, () => 0.2499)?.id).toBe("a");
    expect(drawWeighted(c, () => 0.25)?.id).toBe("c");
    expect(drawWeighted(c, () => 0.9999)?.id).toBe("c");
    expect(drawWeighted([], () => 0.5)).toBeUndefined();
  });

  it("never draws a candidate of weight ≤ 0 while some weight is positive", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -3, max: 5 }), { minLength: 1, maxLength: 8 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (weights, u) => {
        fc.pre(weights.some((w) => w > 0));
        const pick = drawWeighted(
          weights.map((weight, i) => ({ i, weight })),
          () => u,
        );
        expect(pick!.weight).toBeGreaterThan(0);
      }),
    );
  });
});
