import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { walkTiers } from "../../../model/cost/tiers.js";
import { internetEgressTiers } from "../../../model/prices/egress.js";

const awsUs = internetEgressTiers({ cloud: "aws", region: "us-east-1", continent: "north-america" });
const total = (start: number, gb: number) => walkTiers(awsUs, start, gb).reduce((s, c) => s + c.usd, 0);

describe("walkTiers", () => {
  it("bills 160 TB across all four AWS bands", () => {
    // 10240×0.09 + 40960×0.085 + 102400×0.07 + 10240×0.05 = 921.6 + 3481.6 + 7168 + 512
    const charges = walkTiers(awsUs, 0, 163_840);
    expect(charges.map((c) => c.quantity)).toEqual([10240, 40960, 102400, 10240]);
    expect(total(0, 163_840)).toBeCloseTo(12083.2, 6);
  });
  it("starting mid-band continues from there", () => {
    expect(walkTiers(awsUs, 10_000, 500).map((c) => c.quantity)).toEqual([240, 260]);
  });
  it("splitting a meter's volume into consecutive walks never changes the total", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 80_000 }), { minLength: 1, maxLength: 6 }), (parts) => {
        let start = 0;
        let split = 0;
        for (const p of parts) {
          split += total(start, p);
          start += p;
        }
        expect(split).toBeCloseTo(total(0, start), 6);
      }),
      { numRuns: 200 },
    );
  });
});
