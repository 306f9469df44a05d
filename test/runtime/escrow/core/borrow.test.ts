import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { borrowRequest, RefusedRequests } from "../../../../runtime/escrow/core/borrow.js";
import { DEFAULT_POLICY, rebalancePlan, type RegionState } from "../../../../runtime/escrow/core/rebalance.js";

describe("the borrow request (core/borrow.ts)", () => {
  it("serves the most refused buyers with the units that exist, not the largest request", () => {
    expect(borrowRequest([40, 1, 1], 5)).toBe(2); // 40 cannot be met by 5 units: the two buyers asking 1 can
    expect(borrowRequest([3, 3, 3], 7)).toBe(6);
    expect(borrowRequest([6], 5)).toBe(0); // nothing it asks for exists free: not a borrower (it may lend)
    expect(borrowRequest([], 5)).toBe(0);
    const r = new RefusedRequests();
    expect(r.refuse("big", 40)).toBe(true);
    expect(r.refuse("small", 1)).toBe(true);
    expect(r.refuse("small", 2)).toBe(false); // once a tick as demand; the latest request counts
    expect(r.want(5)).toBe(2);
    r.tick(true);
    expect(r.want(5)).toBe(2); // stands into the next window
    r.served("small");
    expect(r.want(50)).toBe(40);
    r.tick(true); // big was not refused again in that window: his request lapses
    expect(r.want(50)).toBe(0);
    r.refuse("x", 1);
    r.tick(true);
    r.tick(false); // a tick with nobody refused ends every request
    expect(r.want(50)).toBe(0);
  });

  it("property: never more than exists, and the most buyers that the units can serve (brute force)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 20 }), { maxLength: 8 }), fc.nat(60), (asks, units) => {
        const want = borrowRequest(asks, units);
        expect(want).toBeLessThanOrEqual(units);
        let most = 0;
        let fewest = 0;
        for (let mask = 0; mask < 1 << asks.length; mask++) {
          const set = asks.filter((_, i) => mask & (1 << i));
          const sum = set.reduce((s, q) => s + q, 0);
          if (sum > units) continue;
          if (set.length > most || (set.length === most && sum < fewest)) [most, fewest] = [set.length, sum];
        }
        expect(want).toBe(fewest); // the most buyers, with the fewest units among such sets
        if (asks.some((q) => q <= units)) expect(want).toBeGreaterThan(0);
      }),
      { numRuns: 500 },
    );
  });

  it("property: with the pool dry, when some refused request can be met by the units free anywhere, the plan moves units to a borrower or one already holds its request", () => {
    const region = fc.record({
      free: fc.nat(8),
      demand: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 20, noNaN: true })),
      refused: fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 4 }),
      live: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.constantFrom("pull" as const, "push" as const, "hybrid" as const), fc.array(region, { minLength: 1, maxLength: 5 }), (mode, regions) => {
        const units = regions.filter((r) => r.live).reduce((s, r) => s + r.free, 0);
        fc.pre(regions.some((r) => r.live && r.refused.some((q) => q <= units)));
        // Each region sees the same units free (its own, its live peers'; the pool is empty).
        const states: RegionState[] = regions.map((r, i) => ({ id: `r${i}`, free: r.free, demand: r.demand, want: borrowRequest(r.refused, units), live: r.live }));
        const plan = rebalancePlan({ ...DEFAULT_POLICY, mode }, states, 0);
        const borrowers = states.filter((s) => s.live && s.want > 0);
        const moved = plan.transfers.some((t) => borrowers.some((b) => b.id === t.to) && t.qty > 0);
        expect(moved || borrowers.some((b) => b.free >= b.want), JSON.stringify({ states, plan })).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});
