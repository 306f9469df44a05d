// Cross-region mesh calls (escrow forwarding to the region holding a reservation) priced as egress, on the same
// meters as replication: known answers worked by hand from the price table (docs/cost.md shows the arithmetic).
import { describe, expect, it } from "vitest";
import { eastWestLinks } from "../../../model/cost/east-west.js";
import { buildCostReport, estateEgress, reportResources } from "../../../model/cost/report.js";
import { buildEstateSpec, type EstateSpec } from "../../../model/estate.js";
import { REGION_ADDRESSED } from "../../../model/mesh/multi-primary.js";
import { runtimeSchema } from "../../../model/config/runtime.js";
import { loadStack } from "../../../stacks/load.js";

const prod = (): EstateSpec => buildEstateSpec("prod", loadStack("prod"));
const withEastWest = (spec: EstateSpec, escrow: number): EstateSpec => ({ ...spec, runtime: { ...spec.runtime, eastWestGBPerMonth: { escrow, monitor: 0, witness: 0, certchain: 0 } } });
const noReplication = (spec: EstateSpec): EstateSpec => ({ ...spec, replication: { ...spec.replication, writeGBPerMonth: {} } });
const dollars = (cents: number) => cents / 100;

describe("east-west traffic between regions", () => {
  it("the setting names exactly the services whose calls cross regions, 1 GB a month each by default", () => {
    expect(Object.keys(runtimeSchema.shape.eastWestGBPerMonth.parse(undefined)).sort()).toEqual([...REGION_ADDRESSED].sort());
    expect(loadStack("prod").runtime.eastWestGBPerMonth).toEqual({ escrow: 1, monitor: 0, witness: 0, certchain: 0 });
    expect(runtimeSchema.safeParse({ escrow: { inventory: {} }, eastWestGBPerMonth: { ratelimit: 5 } }).error?.issues[0]).toMatchObject({ code: "unrecognized_keys", keys: ["ratelimit"] });
  });

  it("one link per ordered pair of regions; none for a single region or no volume", () => {
    const spec = prod();
    const links = eastWestLinks(withEastWest(spec, 3));
    expect(links).toHaveLength(30);
    expect(links.find((l) => l.from === "azure-sea" && l.to === "aws-use1")).toEqual({ from: "azure-sea", to: "aws-use1", gb: 3, carries: [{ service: "escrow", gb: 3 }] });
    expect(eastWestLinks({ ...spec, regions: spec.regions.slice(0, 1) })).toEqual([]);
    expect(eastWestLinks(withEastWest(spec, 0))).toEqual([]);
  });

  it("prod, 1,000 GB between every pair and no replication: $2,628.78", () => {
    // List: each region → its same-cloud peer at the inter-region rate, → the 4 others over the internet (first tier).
    //   aws-use1 1000×0.02 + 4×90 = 380; aws-euw1 the same, 380
    //   gcp-usc1 → gcp-asne1 (NA↔Asia) 80 + 4×120 = 560; gcp-asne1 the same, 560
    //   azure-weu → azure-sea (from Europe) 50 + 4×87 = 398; azure-sea → azure-weu (from Asia) 80 + 348 = 428   = 2,706.00
    // Meters (4,000 internet GB each): AWS's 100 free GB on aws-euw1 −9.00; each GCP meter −2,976 × (0.12 − 0.11) = −29.76
    // beyond its first TiB; Azure's 100 free on azure-sea −8.70.   2,706.00 − 77.22 = 2,628.78
    const egress = estateEgress(withEastWest(noReplication(prod()), 1000));
    expect(egress.replication.every((l) => l.monthlyCents === 0)).toBe(true);
    expect(egress.eastWest.reduce((s, l) => s + l.monthlyCents, 0)).toBe(270_600);
    expect(egress.adjustments.map((a) => [a.region, a.monthlyCents])).toEqual([
      ["aws-euw1", -900],
      ["azure-sea", -870],
      ["gcp-asne1", -2976],
      ["gcp-usc1", -2976],
    ]);
    expect(dollars(egress.monthlyCents)).toBe(2628.78);
    const link = egress.eastWest.find((l) => l.from === "aws-use1" && l.to === "gcp-usc1")!;
    expect(link).toMatchObject({ kind: "internet", monthlyCents: 9000 });
    expect(egress.eastWest.find((l) => l.from === "aws-use1" && l.to === "aws-euw1")).toMatchObject({ kind: "inter-region", monthlyCents: 2000 });
  });

  it("the shipped prod (1 GB a pair) adds $1.83 to replication's $4,098.84, on the same meters", () => {
    // Links: AWS 2 × (0.02 + 4 × 0.09) = 0.76; GCP 2 × (0.08 + 4 × 0.12) = 1.12; Azure 0.05 + 4 × 0.09 + 0.08 + 4 × 0.09 = 0.85
    // (0.087/GB rounds to 9 cents a link): 2.73. Meters: the 4 GB fall in replication's tiers — aws-euw1's and aws-use1's
    // next-40TB band −4 × 0.005 each, gcp-asne1's beyond-10TiB band −4 × 0.04 = −0.16; Azure's meters carry nothing else,
    // so its free allowance takes −0.35 on each. 2.73 − 0.02 − 0.02 − 0.16 − 0.70 = 1.83.
    const report = buildCostReport(prod(), { sources: [] });
    expect(report.totalMonthlyCost).toBe("4100.67");
    const eastWest = reportResources(report).filter((r) => r.resourceType === "meridian:mesh:EastWestTraffic");
    expect(eastWest).toHaveLength(30);
    expect(eastWest.reduce((s, r) => s + Math.round(Number(r.monthlyCost) * 100), 0)).toBe(273);
    expect(eastWest.find((r) => r.name === "east-west/gcp-asne1->aws-euw1")).toMatchObject({
      monthlyCost: "0.12",
      metadata: expect.objectContaining({ usageEstimate: "meridian:runtime.eastWestGBPerMonth", kind: "internet", gbPerMonth: 1, carries: [{ service: "escrow", gb: 1 }] }),
      costComponents: [expect.objectContaining({ name: "Internet data transfer (asia-northeast1 → eu-west-1)", monthlyQuantity: "1", price: "0.12" })],
    });
    const meters = Object.fromEntries(
      reportResources(report)
        .filter((r) => r.name.startsWith("egress-discounts/"))
        .map((r) => [r.name, r.monthlyCost]),
    );
    expect(meters).toEqual({
      "egress-discounts/aws-euw1": "-22.32",
      "egress-discounts/aws-use1": "-21.32",
      "egress-discounts/azure-sea": "-0.35",
      "egress-discounts/azure-weu": "-0.35",
      "egress-discounts/gcp-asne1": "-282.72",
    });
  });
});
