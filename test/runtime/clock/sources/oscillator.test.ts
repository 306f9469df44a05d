import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Oscillator } from "../../../../runtime/clock/sources/oscillator.js";

describe("Oscillator", () => {
  it("property: in holdover the claimed interval always contains true time", () => {
    fc.assert(
      fc.property(fc.constantFrom("rubidium", "cesium", "quartz" as const), fc.nat(10_000), fc.integer({ min: 0, max: 30 * 86_400 }), (kind, seed, seconds) => {
        const o = new Oscillator("o", kind, 0, seed);
        const r = o.read(seconds * 1000);
        expect(Math.abs(r.offsetMs)).toBeLessThanOrEqual(r.uncertaintyMs + 1e-12);
      }),
      { numRuns: 200 },
    );
  });

  it("cesium holds far tighter than rubidium, which holds far tighter than quartz, over a day", () => {
    const day = 86_400_000;
    const u = (k: "rubidium" | "cesium" | "quartz") => new Oscillator(k, k, 0).read(day).uncertaintyMs;
    expect(u("cesium")).toBeLessThan(u("rubidium"));
    expect(u("rubidium")).toBeLessThan(u("quartz"));
    expect(u("rubidium")).toBeCloseTo((1e-11 * 86_400 + 0.5 * (5e-11 / 30 / 86_400) * 86_400 ** 2) * 1000, 9);
  });

  it("steering resets phase and uncertainty to the reference's", () => {
    const o = new Oscillator("rb", "rubidium", 0, 2);
    o.steer({ id: "gps", kind: "gps", offsetMs: 2e-5, uncertaintyMs: 1e-4 }, 5000);
    expect(o.read(5000)).toMatchObject({ offsetMs: 2e-5, uncertaintyMs: 1e-4 });
    expect(o.holdoverSeconds(6000)).toBe(1);
  });
});
