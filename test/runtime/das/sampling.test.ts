import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chooseSamples, samplingBound } from "../../../runtime/das/index.js";

describe("sampling bound", () => {
  it("matches hand-computed values", () => {
    // k=4, n=8: ≥5 withheld → ≤3 of 8 available. Two samples: (3/8)² = 9/64; without replacement 3/8 · 2/7 = 3/28.
    const b = samplingBound(4, 8, 2);
    expect(b.withhold).toBe(5);
    expect(b.withReplacement).toBe(9 / 64);
    expect(b.withoutReplacement).toBeCloseTo(3 / 28, 15);
    // k=16, n=32, s=3: (15/32)³ = 3375/32768; 15·14·13 / (32·31·30) = 2730/29760.
    const c = samplingBound(16, 32, 3);
    expect(c.withReplacement).toBeCloseTo(3375 / 32768, 15);
    expect(c.withoutReplacement).toBeCloseTo(2730 / 29760, 15);
    // k distinct good samples are enough to decode: nothing unrecoverable passes them.
    expect(samplingBound(4, 8, 4).withoutReplacement).toBe(0);
    expect(() => samplingBound(4, 8, 9)).toThrow(/1\.\.8/);
  });

  it("without replacement is never looser than with replacement", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 128 }), fc.integer({ min: 0, max: 128 }), fc.integer({ min: 1, max: 256 }), (k, extra, s) => {
        const n = k + extra;
        fc.pre(s <= n);
        const b = samplingBound(k, n, s);
        expect(b.withoutReplacement).toBeLessThanOrEqual(b.withReplacement + 1e-15);
      }),
    );
  });

  it("draws distinct shards in range", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 256 }), fc.integer({ min: 0, max: 2 ** 31 }), (n, seed) => {
        let x = seed;
        const random = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
        const s = chooseSamples(n, Math.ceil(n / 2), random);
        expect(new Set(s).size).toBe(s.length);
        for (const i of s) expect(i >= 0 && i < n).toBe(true);
      }),
    );
  });
});
