import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { allocate, greatCircleKm, largestRemainder, weightedHistory, type RegionDemand } from "../../../model/escrow/allocation.js";
import { allocationSensitivity } from "../../../model/escrow/sensitivity.js";
import { escrowAllocations } from "../../../model/escrow/estate.js";
import { loadStack } from "../../../stacks/load.js";

const regions: RegionDemand[] = [
  { id: "a", history: [100, 100], currentLoad: 0.5, capacity: 100, location: { lat: 0, lon: 0 } },
  { id: "b", history: [300, 300], currentLoad: 0.5, capacity: 100, location: { lat: 0, lon: 90 } },
];

describe("multi-factor allocation", () => {
  it("historical-only coefficients split by demand history exactly", () => {
    const a = allocate(1000, regions, { coefficients: { historical: 1, load: 0, geographic: 0 }, globalReserveFraction: 0.1 });
    expect(a.globalReserve).toBe(100);
    expect(a.regions.map((r) => r.units)).toEqual([225, 675]);
  });

  it("combines the three components with normalised coefficients", () => {
    const a = allocate(1000, regions, { coefficients: { historical: 2, load: 1, geographic: 1 }, globalReserveFraction: 0 });
    // historical 0.25/0.75, load 0.5/0.5, geographic 0.5/0.5 (two regions are equally isolated)
    expect(a.regions[0]!.weight).toBeCloseTo((2 * 0.25 + 0.5 + 0.5) / 4, 12);
    expect(a.regions.map((r) => r.units)).toEqual([375, 625]);
  });

  it("the exponentially weighted history favours recent months", () => {
    expect(weightedHistory([0, 10], 0.5)).toBeCloseTo(20 / 3, 12);
    expect(greatCircleKm({ lat: 0, lon: 0 }, { lat: 0, lon: 90 })).toBeCloseTo((Math.PI / 2) * 6371.0088, 6);
  });

  it("property: units + reserve = total, non-negative, independent of region order", () => {
    const region = fc.record({
      history: fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 1, maxLength: 6 }),
      currentLoad: fc.double({ min: 0, max: 1, noNaN: true }),
      capacity: fc.integer({ min: 1, max: 10_000 }),
      lat: fc.double({ min: -90, max: 90, noNaN: true }),
      lon: fc.double({ min: -180, max: 180, noNaN: true }),
    });
    fc.assert(
      fc.property(fc.array(region, { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 1_000_000 }), fc.double({ min: 0, max: 0.9, noNaN: true }), (rs, total, reserve) => {
        const demands = rs.map((r, i) => ({ id: `r${i}`, history: r.history, currentLoad: r.currentLoad, capacity: r.capacity, location: { lat: r.lat, lon: r.lon } }));
        const a = allocate(total, demands, { globalReserveFraction: reserve });
        const sum = a.regions.reduce((s, r) => s + r.units, 0);
        expect(sum + a.globalReserve).toBe(total);
        for (const r of a.regions) expect(r.units).toBeGreaterThanOrEqual(0);
        const reversed = allocate(total, [...demands].reverse(), { globalReserveFraction: reserve });
        for (const r of a.regions) expect(reversed.regions.find((q) => q.id === r.id)!.units).toBe(r.units);
      }),
      { numRuns: 200 },
    );
  });

  it("largest remainder breaks ties by id", () => {
    expect(largestRemainder(1, [1, 1], ["b", "a"])).toEqual([0, 1]);
  });

  it("sensitivity: the exact derivative matches a finite difference", () => {
    const rs: RegionDemand[] = [...regions, { id: "c", history: [50, 80], currentLoad: 0.9, capacity: 300, location: { lat: 50, lon: 10 } }];
    const [hist] = allocationSensitivity(100_000, rs, { globalReserveFraction: 0.1 });
    const h = 1e-5;
    const at = (c: number) => allocate(100_000, rs, { globalReserveFraction: 0.1, coefficients: { historical: c, load: 0.3, geographic: 0.2 } });
    const up = at(0.5 + h);
    const down = at(0.5 - h);
    for (let i = 0; i < rs.length; i++) {
      const fd = (up.regions[i]!.exact - down.regions[i]!.exact) / (2 * h);
      expect(Math.abs(hist!.derivative[rs[i]!.id]! - fd) / Math.abs(fd)).toBeLessThan(1e-6);
    }
    // The derivatives of a fixed total sum to zero: a coefficient only moves units between regions.
    expect(Object.values(hist!.derivative).reduce((s, d) => s + d, 0)).toBeCloseTo(0, 9);
  });

  it("rejects bad input naming it", () => {
    expect(() => allocate(1.5, regions)).toThrow(/total: got 1.5/);
    expect(() => allocate(10, regions, { coefficients: { historical: 0, load: 0, geographic: 0 } })).toThrow(/coefficients/);
  });

  it("estate allocations come from the stack's regions and sum to each SKU's inventory", () => {
    const local = loadStack("local");
    const [concert] = escrowAllocations(local);
    expect(concert!.sku).toBe("concert-2027");
    expect(Object.keys(concert!.regions)).toEqual(local.regions.map((r) => r.id));
    expect(Object.values(concert!.regions).reduce((s, u) => s + u, 0) + concert!.globalReserve).toBe(1000);
    // local-aws has the largest history and load: it gets the most.
    expect(concert!.regions["local-aws"]).toBeGreaterThan(concert!.regions["local-azure"]!);
  });
});
