import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { classifyRegion, fullHealthThreshold } from "../../../model/traffic/health.js";

describe("region health from signals", () => {
  it("is unhealthy when every signal fails, degraded at the failing share, healthy below it", () => {
    expect(classifyRegion([false, false, false], 0.34)).toBe("unhealthy");
    expect(classifyRegion([true, false, false], 0.34)).toBe("degraded");
    expect(classifyRegion([true, true, false], 0.34)).toBe("healthy"); // 1/3 < 0.34
    expect(classifyRegion([true, true, false], 0.33)).toBe("degraded"); // 1/3 >= 0.33
    expect(classifyRegion([true, true, true], 0.34)).toBe("healthy");
    expect(classifyRegion([true], 0)).toBe("healthy");
    expect(classifyRegion([false], 0)).toBe("unhealthy");
  });

  it("rejects a region without signals", () => {
    expect(() => classifyRegion([], 0.5)).toThrow(/at least one health signal/);
  });

  it("the CALCULATED threshold agrees with the classification for every signal pattern", () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), fc.double({ min: 0, max: 1, noNaN: true }), (passing, share) => {
        const state = classifyRegion(passing, share);
        const passingCount = passing.filter(Boolean).length;
        const threshold = fullHealthThreshold(passing.length, share);
        // Route 53's "full" parent is healthy iff passing >= threshold; its "serving" parent iff passing >= 1.
        expect(state === "healthy").toBe(passingCount >= threshold);
        expect(state === "unhealthy").toBe(passingCount === 0);
      }),
      { numRuns: 300 },
    );
  });
});
