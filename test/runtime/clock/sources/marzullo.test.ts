import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { marzullo } from "../../../../runtime/clock/sources/marzullo.js";

describe("marzullo", () => {
  it("finds the interval most sources agree on and flags the falseticker (the textbook example)", () => {
    // [8,12], [11,13], [10,12] agree on [11,12]; a fourth source at [14,15] is a falseticker.
    const a = marzullo([
      [8, 12],
      [11, 13],
      [10, 12],
      [14, 15],
    ])!;
    expect([a.low, a.high, a.count]).toEqual([11, 12, 3]);
    expect(a.falsetickers).toEqual([3]);
    expect(a.majority).toBe(true);
  });

  it("two disjoint sources have no majority", () => {
    const a = marzullo([
      [0, 1],
      [2, 3],
    ])!;
    expect(a.majority).toBe(false);
    expect(a.count).toBe(1);
  });

  it("touching intervals overlap; empty input has no answer; inverted intervals are refused", () => {
    expect(
      marzullo([
        [0, 1],
        [1, 2],
      ]),
    ).toMatchObject({ low: 1, high: 1, count: 2 });
    expect(marzullo([])).toBeNull();
    expect(() => marzullo([[2, 1]])).toThrow(RangeError);
  });

  it("property: the agreed interval lies inside every source counted, and no point is in more sources", () => {
    const iv = fc.tuple(fc.integer({ min: -50, max: 50 }), fc.integer({ min: 0, max: 20 })).map(([lo, w]) => [lo, lo + w] as [number, number]);
    fc.assert(
      fc.property(fc.array(iv, { minLength: 1, maxLength: 8 }), (ivs) => {
        const a = marzullo(ivs)!;
        const containing = ivs.filter(([lo, hi]) => lo <= a.low && a.high <= hi).length;
        expect(containing).toBe(a.count);
        for (let x = -50; x <= 70; x += 0.5) expect(ivs.filter(([lo, hi]) => lo <= x && x <= hi).length).toBeLessThanOrEqual(a.count);
      }),
      { numRuns: 150 },
    );
  });
});
