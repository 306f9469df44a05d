import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { buildCostReport, reportResources, type CostReport } from "../../../model/cost/report.js";
import { baselineFromReport } from "../../../model/cost/diff.js";
import { buildEstateSpec, type EstateSpec } from "../../../model/estate.js";
import { loadStack } from "../../../stacks/load.js";
import type { UsageItem } from "../../../model/usage.js";

// Replication's egress alone, as docs/cost.md works it (east-west traffic shares its meters: east-west.test.ts).
const prod = (): EstateSpec => {
  const spec = buildEstateSpec("prod", loadStack("prod"));
  return { ...spec, runtime: { ...spec.runtime, eastWestGBPerMonth: { escrow: 0, monitor: 0, witness: 0, certchain: 0 } } };
};
const cents = (s: string | undefined) => Math.round(Number(s) * 100);

const dnsSource = (): UsageItem[] => [
  { resource: "route53:zone", resourceType: "aws:route53/zone:Zone", component: "Hosted zone", sku: "route53.hostedZone", monthlyQuantity: 1, unit: "months", usageBased: false },
  { resource: "route53:zone", resourceType: "aws:route53/zone:Zone", component: "Latency queries", sku: "route53.queries.latency", monthlyQuantity: 900, unit: "1M queries", usageBased: true },
];

function expectConsistent(report: CostReport) {
  for (const r of reportResources(report)) {
    expect(cents(r.monthlyCost), r.name).toBe(r.costComponents!.reduce((s, c) => s + cents(c.monthlyCost), 0));
    for (const c of r.costComponents!) {
      for (const key of ["monthlyQuantity", "price", "monthlyCost"] as const) expect(typeof c[key]).toBe("string");
      expect(typeof c.priceNotFound).toBe("boolean");
    }
  }
  expect(cents(report.totalMonthlyCost)).toBe(reportResources(report).reduce((s, r) => s + cents(r.monthlyCost), 0));
  expect(report.projects[0]!.breakdown.totalMonthlyCost).toBe(report.totalMonthlyCost);
}

describe("buildCostReport", () => {
  it("prod: hierarchical replication egress is $4,098.84 (docs/cost.md works it by hand)", () => {
    const report = buildCostReport(prod(), { sources: [] });
    expect(report.totalMonthlyCost).toBe("4098.84");
    expect(report.pastTotalMonthlyCost).toBe("0.00");
    expect(report.diffTotalMonthlyCost).toBe("4098.84");
    expect(reportResources(report).filter((r) => r.resourceType === "meridian:replication:Link")).toHaveLength(11);
    expectConsistent(report);
  });
  it("adds the usage sources' usage-based items, priced, grouped by resource (fixed items come from the plan)", () => {
    const report = buildCostReport(prod(), { sources: [dnsSource] });
    const zone = reportResources(report).find((r) => r.name === "route53:zone")!;
    expect(zone.monthlyCost).toBe("540.00"); // 900 × 0.60; the zone's own $0.50 is priced from the plan's Zone resource
    expect(report.totalMonthlyCost).toBe("4638.84");
    expectConsistent(report);
  });
  it("--baseline: past and diff totals, and only changed resources in the diff", () => {
    const spec = prod();
    const before = buildCostReport(spec, { sources: [] });
    const bigger = { ...spec, replication: { ...spec.replication, writeGBPerMonth: { ...spec.replication.writeGBPerMonth, "aws-use1": 5000 } } };
    const after = buildCostReport(bigger, { sources: [], baseline: baselineFromReport(before) });
    expect(after.pastTotalMonthlyCost).toBe("4098.84");
    expect(cents(after.diffTotalMonthlyCost)).toBe(cents(after.totalMonthlyCost) - cents("4098.84"));
    const changed = after.projects[0]!.diff!.resources.map((r) => r.name);
    // Exactly the links that carry aws-use1's writes change, plus the volume-tier discounts of the
    // meters those links bill on; no other link.
    const carrying = reportResources(after)
      .filter((r) => r.resourceType === "meridian:replication:Link" && (r.metadata["carries"] as { writer: string }[]).some((c) => c.writer === "aws-use1"))
      .map((r) => r.name);
    expect(changed.filter((n) => n.startsWith("replication/")).sort()).toEqual(carrying.sort());
    const meters = new Set(carrying.map((n) => `egress-discounts/${n.slice("replication/".length).split("->")[0]}`));
    for (const n of changed.filter((x) => !x.startsWith("replication/"))) expect(meters.has(n), n).toBe(true);
  });
  it("totals equal the sum of components for any write volumes", () => {
    const spec = prod();
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 200_000 }), { minLength: 3, maxLength: 3 }), fc.constantFrom("full-mesh", "star", "regional", "hierarchical" as const), (gb, topology) => {
        const writeGBPerMonth = Object.fromEntries(spec.replication.writers.map((w, i) => [w, gb[i]!]));
        expectConsistent(buildCostReport({ ...spec, replication: { ...spec.replication, topology, writeGBPerMonth } }, { sources: [dnsSource] }));
      }),
      { numRuns: 60 },
    );
  });
  it("rejects a malformed baseline total", () => {
    expect(() => buildCostReport(prod(), { sources: [], baseline: { totalMonthlyCost: "lots", resources: [] } })).toThrow(/baseline totalMonthlyCost.*"lots"/);
  });
});

describe("relays (hierarchical)", () => {
  it("a configured relay changes which links exist: Europe relayed through azure-weu", () => {
    const spec = prod();
    const relayed = buildCostReport({ ...spec, replication: { ...spec.replication, relays: { europe: "azure-weu" } } }, { sources: [] });
    const names = reportResources(relayed).map((r) => r.name);
    // aws-use1's writes now enter Europe at azure-weu, which fans them out to aws-euw1.
    expect(names).toContain("replication/aws-use1->azure-weu");
    expect(names).toContain("replication/azure-weu->aws-euw1");
    expect(names).not.toContain("replication/aws-use1->aws-euw1");
    expectConsistent(relayed);
  });
  it("a relay that is not on its continent is a config problem naming the candidates", () => {
    const spec = prod();
    expect(() => buildCostReport({ ...spec, replication: { ...spec.replication, relays: { europe: "gcp-usc1" } } })).toThrow(
      /meridian:replication\.relays\.europe: got "gcp-usc1"; a region on europe: aws-euw1, azure-weu/,
    );
  });
});
