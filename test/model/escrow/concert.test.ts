import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CONCERT_ASSUMPTIONS, concertExample, renderConcertExample } from "../../../model/escrow/concert.js";
import { poissonTail } from "../../../model/escrow/oversell.js";

describe("concert ticket worked example", () => {
  const x = concertExample();

  it("allocates every ticket: regions + global reserve = 50,000", () => {
    expect(x.allocation.regions.reduce((s, r) => s + r.units, 0) + x.allocation.globalReserve).toBe(CONCERT_ASSUMPTIONS.tickets);
    expect(x.allocation.globalReserve).toBe(5000);
  });

  it("every region's refill keeps utilisation below 1 and its reorder point covers lead-time demand", () => {
    for (const r of x.regions) {
      expect(r.refill.utilisation).toBeLessThan(1);
      expect(r.refill.reorderPoint).toBeGreaterThan(r.refill.leadTimeDemand);
      expect(r.exhaustExact).toBe(poissonTail(r.refill.reorderPoint, r.peakWindowDemand));
    }
  });

  it("the debt ceiling respects the risk tolerance", () => {
    expect(x.debt.expectedOversellCost).toBeLessThanOrEqual(CONCERT_ASSUMPTIONS.riskToleranceUSD);
  });

  it("docs/escrow-concert-example.md is exactly what the code renders (regenerate: npm run meridian -- escrow concert > docs/escrow-concert-example.md)", () => {
    const doc = readFileSync(new URL("../../../docs/escrow-concert-example.md", import.meta.url), "utf8");
    expect(doc).toBe(`${renderConcertExample()}\n`);
  });
});
