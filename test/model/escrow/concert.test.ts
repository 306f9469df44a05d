import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CONCERT_ASSUMPTIONS, concertExample, renderConcertExample } from "../../../model/escrow/concert.js";
import { exceedance } from "../../../model/escrow/oversell.js";

describe("concert ticket worked example", () => {
  const x = concertExample();

  it("allocates every ticket: regions + global reserve = 50,000", () => {
    expect(x.allocation.regions.reduce((s, r) => s + r.units, 0) + x.allocation.globalReserve).toBe(CONCERT_ASSUMPTIONS.tickets);
    expect(x.allocation.globalReserve).toBe(5000);
  });

  it("one pool serves all regions' refills: ρ counts every region's requests", () => {
    const peak = CONCERT_ASSUMPTIONS.openingRate * CONCERT_ASSUMPTIONS.refill.burstFactor;
    expect(x.pool.poolArrivalRate).toBeCloseTo(peak / CONCERT_ASSUMPTIONS.refill.batchSize, 9);
    expect(x.pool.utilisation).toBeLessThan(1);
    expect(x.pool.queueWaitSeconds).toBeLessThan(x.pool.sojournSeconds);
  });

  it("every region meets the 0.999 service level over its exposure window; the risk shown is P(N > r)", () => {
    for (const r of x.regions) {
      expect(r.refill.serviceLevelAchieved).toBeGreaterThanOrEqual(CONCERT_ASSUMPTIONS.refill.serviceLevel);
      expect(r.stockoutExact).toBe(exceedance(r.refill.reorderPoint, r.refill.windowDemand));
      expect(r.stockoutExact).toBeLessThanOrEqual(1 - CONCERT_ASSUMPTIONS.refill.serviceLevel);
      // The first refill is asked for when free stock reaches r, before the escrow would run out.
      expect(r.firstRefillSeconds).toBeCloseTo((r.units - r.refill.reorderPoint) / r.refill.arrivalRate, 9);
      expect(r.firstRefillSeconds).toBeLessThan(r.escrowLastsSeconds);
    }
  });

  it("the debt ceiling uses correlated exhaustion and respects the risk tolerance", () => {
    expect(x.exhaustion.all).toBeGreaterThan(x.exhaustion.independent);
    expect(x.debt.expectedCost).toBeLessThanOrEqual(CONCERT_ASSUMPTIONS.riskToleranceUSD);
  });

  it("docs/escrow-concert-example.md is exactly what the code renders (regenerate: npm run -s meridian -- escrow concert > docs/escrow-concert-example.md)", () => {
    const doc = readFileSync(new URL("../../../docs/escrow-concert-example.md", import.meta.url), "utf8");
    expect(doc).toBe(`${renderConcertExample()}\n`);
  });
});
