// The cost report over the prod plan: every billable resource type the plan creates is priced or
// named as unpriced (derived from the plan), the document validates against Infracost's own output
// schema (vendored, with Infracost's golden as the validator's control), and totals add up.
import { beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { Ajv } from "ajv";
import addFormatsModule from "ajv-formats";
import { readFileSync } from "node:fs";
import { planStack } from "../../../components/preview/plan.js";
import { baselineFromReport } from "../../../model/cost/diff.js";
import { buildCostReport, reportResources, type CostReport } from "../../../model/cost/report.js";
import { isCloudResource, pricerFor } from "../../../model/cost/pricing/index.js";
import { buildEstateSpec, type EstateSpec } from "../../../model/estate.js";
import { withUnknowns, type PlannedResource } from "../../../model/resources.js";
import { loadStack } from "../../../stacks/load.js";

const testdata = (f: string) => JSON.parse(readFileSync(new URL(`../../testdata/infracost/${f}`, import.meta.url), "utf8")) as Record<string, unknown>;
const cents = (s: string | undefined) => Math.round(Number(s ?? "0") * 100);

/** Infracost's schema is draft-04 with stray nested `$schema` keys; ajv 8 validates the same keywords once those are dropped. */
function stripSchemaKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripSchemaKeys);
  if (v && typeof v === "object")
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => k !== "$schema")
        .map(([k, x]) => [k, stripSchemaKeys(x)]),
    );
  return v;
}
const ajv = new Ajv({ allErrors: true, strict: false });
(addFormatsModule as unknown as (a: Ajv) => void)(ajv);
const validate = ajv.compile(stripSchemaKeys(testdata("infracost.schema.json")) as object);
const errors = () => (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);

let spec: EstateSpec;
let resources: PlannedResource[];
let report: CostReport;

beforeAll(async () => {
  spec = buildEstateSpec("prod", loadStack("prod"));
  const plan = await planStack("prod");
  resources = plan.resources.map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: withUnknowns(r.inputs) as Record<string, unknown> }));
  report = buildCostReport(spec, { resources, generatedAt: "2026-12-02T10:00:00Z" });
}, 300_000);

describe("Infracost's breakdown JSON schema", () => {
  it("accepts Infracost's own golden breakdown (the validator's control)", () => {
    const golden = JSON.parse(JSON.stringify(testdata("breakdown_format_json.golden.json")).replaceAll("REPLACED_TIME", "2024-01-01T00:00:00Z"));
    expect(validate(golden), errors().join("\n")).toBe(true);
  });

  it("accepts the prod report, and rejects it with a key Infracost does not define", () => {
    expect(validate(report), errors().join("\n")).toBe(true);
    const bad = JSON.parse(JSON.stringify(report)) as { projects: { breakdown: { resources: Record<string, unknown>[] } }[] };
    bad.projects[0]!.breakdown.resources[0]!["priceSource"] = "x";
    expect(validate(bad)).toBe(false);
  });

  it("accepts a report with a baseline (past and diff breakdowns)", () => {
    const bigger = { ...spec, replication: { ...spec.replication, writeGBPerMonth: { ...spec.replication.writeGBPerMonth, "aws-use1": 6000 } } };
    const after = buildCostReport(bigger, { resources, baseline: baselineFromReport(report), generatedAt: "2026-12-02T10:00:00Z" });
    expect(validate(after), errors().join("\n")).toBe(true);
    expect(cents(after.diffTotalMonthlyCost)).toBe(cents(after.totalMonthlyCost) - cents(report.totalMonthlyCost));
    expect(after.projects[0]!.diff.resources.every((r) => r.resourceType === "meridian:replication:Link" || r.resourceType === "meridian:replication:EgressMeter")).toBe(true);
  });
});

describe("the prod plan, priced", () => {
  it("every cloud resource of the plan is priced, free with a reason, or listed as not priced — by type and name", () => {
    const cloud = resources.filter((r) => isCloudResource(r.type));
    const s = report.summary;
    expect(s.totalDetectedResources).toBe(cloud.length);
    const listed = (report.projects[0]!.metadata.warnings ?? []).flatMap((w) => (w.data as { resources: string[] }).resources);
    const ctx = { spec, resources: cloud };
    const unsupported = cloud.filter((r) => {
      const pricer = pricerFor(r.type);
      return !pricer || "unsupported" in pricer(r, ctx);
    });
    expect(s.totalUnsupportedResources).toBe(unsupported.length);
    expect(listed.sort()).toEqual(unsupported.map((r) => r.name).sort());
    expect(Object.keys(s.unsupportedResourceCounts)).toEqual([...new Set(unsupported.map((r) => r.type))].sort());
    const priced = new Set(reportResources(report).map((r) => `${r.resourceType}\u0000${r.name}`));
    const free = new Set((report.projects[0]!.breakdown.freeResources ?? []).map((r) => `${r.resourceType}\u0000${r.name}`));
    for (const r of cloud) {
      const k = `${r.type}\u0000${r.name}`;
      expect(priced.has(k) || free.has(k) || unsupported.includes(r), `${r.type} ${r.name}`).toBe(true);
    }
  });

  it("prices each billable kind Meridian creates, with sizes from the stack", () => {
    const types = new Set(reportResources(report).map((r) => r.resourceType));
    for (const t of [
      "aws:rds/clusterInstance:ClusterInstance",
      "aws:rds/cluster:Cluster",
      "aws:elasticache/replicationGroup:ReplicationGroup",
      "aws:route53/zone:Zone",
      "aws:route53/healthCheck:HealthCheck",
      "gcp:sql/databaseInstance:DatabaseInstance",
      "gcp:redis/instance:Instance",
      "gcp:dns/managedZone:ManagedZone",
      "gcp:compute/healthCheck:HealthCheck",
      "azure-native:dbforpostgresql:Server",
      "azure-native:redis:Redis",
      "azure-native:network:PrivateEndpoint",
      "azure-native:dns:Zone",
      "azure-native:trafficmanager:Endpoint",
      "cloudflare:index/loadBalancer:LoadBalancer",
      "kubernetes:core/v1:Service",
      "meridian:replication:Link",
    ]) {
      expect(types.has(t), t).toBe(true);
    }
    const aurora = reportResources(report).find((r) => r.resourceType === "aws:rds/clusterInstance:ClusterInstance")!;
    expect(aurora.costComponents![0]!.name).toBe(`Database instance (on-demand, ${spec.replication.databases.aws.instanceClass})`);
    expect(
      reportResources(report).every((r) => r.costComponents!.every((c) => !c.priceNotFound)),
      "no SKU of the shipped prod stack lacks a price",
    ).toBe(true);
  });

  it("each region's east-west gateway load balancer is priced by its cloud, once: $156.96 a month for prod's six", () => {
    const eastWest = reportResources(report).filter((r) => r.resourceType === "kubernetes:helm.sh/v3:Release");
    expect(eastWest.map((r) => r.name).sort()).toEqual(spec.regions.map((r) => `${r.id}-istio-eastwestgateway`).sort());
    // 2 AWS NLBs × 16.43 + 2 GCP × 4 forwarding rules × 7.30 + 2 Azure × (4 rules × 7.30 + a static IP 3.65)
    // = 32.86 + 58.40 + 65.70 = 156.96
    expect(eastWest.reduce((s, r) => s + cents(r.monthlyCost), 0)).toBe(15696);
    // Every other release is still listed as not priced.
    const releases = resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release");
    expect(report.summary.unsupportedResourceCounts["kubernetes:helm.sh/v3:Release"]).toBe(releases.length - spec.regions.length);
  });

  it("Traffic Manager health checks are priced by the endpoint type rendered: External $0.54, Nested $0.36", () => {
    const endpoints = reportResources(report).filter((r) => r.resourceType === "azure-native:trafficmanager:Endpoint");
    const byType = new Map<string, Set<string>>();
    for (const e of endpoints) {
      const c = e.costComponents![0]!;
      byType.set(c.name, (byType.get(c.name) ?? new Set()).add(c.price));
    }
    expect(Object.fromEntries([...byType].map(([k, v]) => [k, [...v]]))).toEqual({
      "Basic health check (ExternalEndpoints)": ["0.54"],
      "Basic health check (NestedEndpoints)": ["0.36"],
    });
    const rendered = resources.filter((r) => r.type === "azure-native:trafficmanager:Endpoint");
    expect(endpoints).toHaveLength(rendered.length);
  });

  it("totals add up: every resource is the sum of its components, the total the sum of the resources", () => {
    const check = (r: CostReport) => {
      for (const x of reportResources(r)) expect(cents(x.monthlyCost), x.name).toBe(x.costComponents!.reduce((s, c) => s + cents(c.monthlyCost), 0));
      expect(cents(r.totalMonthlyCost)).toBe(reportResources(r).reduce((s, x) => s + cents(x.monthlyCost), 0));
      expect(cents(r.totalMonthlyUsageCost)).toBe(reportResources(r).reduce((s, x) => s + cents(x.monthlyUsageCost), 0));
      expect(r.projects[0]!.breakdown.totalMonthlyCost).toBe(r.totalMonthlyCost);
    };
    check(report);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: 3, maxLength: 3 }), fc.integer({ min: 0, max: 5_000 }), (gb, queries) => {
        const writeGBPerMonth = Object.fromEntries(spec.replication.writers.map((w, i) => [w, gb[i]!]));
        const varied = { ...spec, dns: { ...spec.dns, monthlyQueriesMillions: queries }, replication: { ...spec.replication, writeGBPerMonth } };
        check(buildCostReport(varied, { resources }));
      }),
      { numRuns: 25 },
    );
  });
});
