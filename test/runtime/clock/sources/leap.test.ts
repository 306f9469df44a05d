import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { leapIndicator, posix, smear, SMEAR_WINDOW_MS } from "../../../../runtime/clock/sources/leap.js";

const insert = { atMs: Date.UTC(2027, 0, 1), kind: "insert" as const };

describe("leap seconds", () => {
  it("the smear is linear over 24 h from noon to noon and matches POSIX UTC outside the window", () => {
    expect(smear(insert.atMs - SMEAR_WINDOW_MS / 2, insert)).toBe(insert.atMs - SMEAR_WINDOW_MS / 2);
    expect(insert.atMs - smear(insert.atMs, insert)).toBeCloseTo(500, 6);
    const after = insert.atMs + SMEAR_WINDOW_MS / 2;
    expect(smear(after, insert)).toBe(posix(after, insert));
    expect(smear(after + 5, insert)).toBe(posix(after + 5, insert));
  });

  it("POSIX time steps back a second at an inserted leap; deletion steps forward", () => {
    expect(posix(insert.atMs - 1, insert)).toBe(insert.atMs - 1);
    expect(posix(insert.atMs, insert)).toBe(insert.atMs - 1000);
    expect(posix(insert.atMs, { ...insert, kind: "delete" })).toBe(insert.atMs + 1000);
  });

  it("the leap indicator is set only during the day before", () => {
    expect(leapIndicator(insert.atMs - 86_400_001, insert)).toBe(0);
    expect(leapIndicator(insert.atMs - 86_400_000, insert)).toBe(1);
    expect(leapIndicator(insert.atMs - 1, { ...insert, kind: "delete" })).toBe(2);
    expect(leapIndicator(insert.atMs, insert)).toBe(0);
    expect(leapIndicator(0, null)).toBe(0);
  });

  it("property: smeared time is strictly increasing (never repeats a second) across the window", () => {
    fc.assert(
      fc.property(fc.integer({ min: -SMEAR_WINDOW_MS, max: SMEAR_WINDOW_MS }), fc.integer({ min: 1, max: 3_600_000 }), (t, d) => {
        expect(smear(insert.atMs + t + d, insert)).toBeGreaterThan(smear(insert.atMs + t, insert));
      }),
      { numRuns: 200 },
    );
  });
});
