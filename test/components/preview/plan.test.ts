import { beforeAll, describe, expect, it } from "vitest";
import { isIPv4 } from "node:net";
import { planStack } from "../../../components/preview/plan.js";
import { ProviderRulesError } from "../../../components/preview/rules/index.js";
import { readStackConfigMap } from "../../../stacks/load.js";
import { evaluateStack, ofType, sharedPlan, type Plan, type RecordedResource } from "../../harness.js";

const byUrn = (plan: Plan) => new Map(plan.resources.map((r) => [r.urn, r]));

describe("the prod plan passes the provider rules and records its ordering", () => {
  let plan: Plan;
  beforeAll(async () => {
    plan = await sharedPlan("prod");
  });

  it("every resource lists its dependencies, and every dependency is a resource of the plan", () => {
    const urns = byUrn(plan);
    for (const r of plan.resources) for (const d of r.dependencies) expect(urns.has(d), `${r.name} → ${d}`).toBe(true);
    expect(plan.resources.filter((r) => r.dependencies.length > 0).length).toBeGreaterThan(plan.resources.length / 2);
  });

  it("Route 53 alias records wait for the records they alias", () => {
    const records = ofType(plan, "aws:route53/record:Record");
    // Aliases into the same zone (record sets under gslb.); an AWS region's alias to its load balancer targets the NLB's zone.
    const aliases = records.filter((r) => Array.isArray(r.inputs["aliases"]) && (r.inputs["aliases"] as { zoneId: unknown }[])[0]!.zoneId === r.inputs["zoneId"]);
    expect(aliases.length).toBeGreaterThan(0);
    for (const a of aliases) {
      const target = (a.inputs["aliases"] as { name: string }[])[0]!.name;
      const targets = records.filter((r) => r.inputs["name"] === target);
      expect(targets.length, target).toBeGreaterThan(0);
      for (const t of targets) expect(a.dependencies, `${a.name} waits for ${t.name}`).toContain(t.urn);
    }
  });

  it("Aurora secondaries wait for the primary cluster's instance", () => {
    const clusters = ofType(plan, "aws:rds/cluster:Cluster");
    const secondary = clusters.find((c) => c.name === "meridian-prod-aws-use1-at-aws-euw1")!;
    const instance = ofType(plan, "aws:rds/clusterInstance:ClusterInstance").find((i) => i.name === "meridian-prod-aws-use1-1")!;
    expect(secondary.dependencies).toContain(instance.urn);
    // No managed master password anywhere in a global database; IAM authentication everywhere.
    for (const c of clusters) {
      expect(c.inputs["manageMasterUserPassword"]).toBeUndefined();
      expect(c.inputs["iamDatabaseAuthenticationEnabled"]).toBe(true);
    }
  });

  it("Cloud SQL names its edition; Azure servers name their subnet and private DNS zone under the stack's subscription", () => {
    for (const i of ofType(plan, "gcp:sql/databaseInstance:DatabaseInstance")) {
      expect((i.inputs["settings"] as Record<string, unknown>)["edition"]).toBe("ENTERPRISE");
    }
    for (const s of ofType(plan, "azure-native:dbforpostgresql:Server").filter((x) => x.inputs["createMode"] === "Create")) {
      // prod's subscriptionId (a placeholder), resourceGroupName and privateDnsZoneName; the VNet by region code.
      const rg = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/meridian-prod/providers/Microsoft.Network";
      expect(s.inputs["network"]).toMatchObject({
        privateDnsZoneArmResourceId: `${rg}/privateDnsZones/meridian-prod.postgres.database.azure.com`,
        delegatedSubnetResourceId: `${rg}/virtualNetworks/meridian-${String(s.inputs["location"])}/subnets/postgres`,
      });
    }
  });

  it("no A record or IP-only field carries a hostname; every check names the service host", () => {
    const ipOnly: [RecordedResource, unknown][] = [];
    for (const r of ofType(plan, "aws:route53/record:Record")) if (r.inputs["type"] === "A") for (const v of (r.inputs["records"] as unknown[] | undefined) ?? []) ipOnly.push([r, v]);
    for (const r of ofType(plan, "aws:route53/healthCheck:HealthCheck")) if (r.inputs["type"] !== "CALCULATED") ipOnly.push([r, r.inputs["ipAddress"]]);
    const json = JSON.stringify(ofType(plan, "gcp:dns/recordSet:RecordSet").map((r) => r.inputs["routingPolicy"]));
    for (const m of json.matchAll(/"externalEndpoints":\[([^\]]*)\]/g)) for (const v of JSON.parse(`[${m[1]}]`) as string[]) ipOnly.push([ofType(plan, "gcp:dns/recordSet:RecordSet")[0]!, v]);
    expect(ipOnly.length).toBeGreaterThan(20);
    for (const [r, v] of ipOnly) expect(isIPv4(String(v)), `${r.name}: ${String(v)}`).toBe(true);
    for (const r of ofType(plan, "aws:route53/healthCheck:HealthCheck")) if (r.inputs["type"] === "HTTPS") expect(r.inputs).toMatchObject({ fqdn: "api.meridian.example.com", enableSni: true });
    expect(ofType(plan, "gcp:compute/healthCheck:HealthCheck")[0]!.inputs["httpsHealthCheck"]).toMatchObject({ host: "api.meridian.example.com" });
    for (const p of ofType(plan, "azure-native:trafficmanager:Profile"))
      expect((p.inputs["monitorConfig"] as Record<string, unknown>)["customHeaders"]).toEqual([{ name: "Host", value: "api.meridian.example.com" }]);
    expect(ofType(plan, "cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor")[0]!.inputs["header"]).toEqual({ Host: ["api.meridian.example.com"] });
  });
});

describe("evaluating one area (what component tests of one area use)", () => {
  let full: Plan;
  beforeAll(async () => {
    full = await sharedPlan("prod");
  });

  it("builds the regional clusters and that area exactly as the whole estate does, and nothing else", async () => {
    const traffic = await evaluateStack("prod", { areas: ["traffic"] });
    const all = byUrn(full);
    // Fake cloud addresses are numbered in registration order, which the other areas interleave with:
    // compare each region's gateway address as the region it stands for, and any other stand-in as such.
    const neutral = (plan: Plan, r: RecordedResource | undefined) => {
      let json = JSON.stringify(r);
      for (const [region, address] of Object.entries(plan.outputs["endpoints"] as Record<string, string>)) json = json.replaceAll(`"${address}"`, `"<gateway ${region}>"`);
      return JSON.parse(json.replace(/198\.1[89]\.\d+\.\d+|k8s-[\w-]+-\d+\.elb\.amazonaws\.com|eipalloc-[0-9a-f]{8}/g, "<fake>")) as unknown;
    };
    for (const r of traffic.resources) expect(neutral(traffic, r), r.urn).toEqual(neutral(full, all.get(r.urn)));
    const kept = new Set(traffic.resources.map((r) => r.urn));
    const estate = full.resources.find((r) => r.type === "meridian:index:Estate")!.urn;
    const dropped = full.resources.filter((r) => !kept.has(r.urn));
    // Everything left out belongs to another area: the clusters and the traffic area are all there.
    const area = (r: RecordedResource): RecordedResource => (r.parent === estate ? r : area(all.get(r.parent!)!));
    expect(new Set(dropped.map((r) => area(r).type))).not.toContain("meridian:dns:ZoneHierarchy");
    expect(new Set(dropped.map((r) => area(r).type))).not.toContain("meridian:index:RegionCluster");
    expect(dropped.length).toBeGreaterThan(0);
    expect(Object.keys(traffic.outputs["endpoints"] as object)).toEqual(Object.keys(full.outputs["endpoints"] as object));
    expect(traffic.outputs["traffic"]).toEqual(full.outputs["traffic"]);
    expect(Object.keys(traffic.outputs)).not.toContain("pki");
  });

  it("an unknown area is named, with the areas there are", async () => {
    await expect(evaluateStack("dev", { areas: ["trafic"] })).rejects.toThrow(/no area "trafic"; the areas are traffic, pki, /);
  });
});

describe("deliberately broken stacks are refused with the provider's message", () => {
  const prod = readStackConfigMap("prod");
  const replication = prod["meridian:replication"] as Record<string, Record<string, unknown>>;

  it("Cloud SQL on ENTERPRISE_PLUS with a custom tier", async () => {
    const broken = { ...replication, databases: { gcp: { edition: "ENTERPRISE_PLUS", tier: "db-custom-4-16384" } } };
    const err = await planStack("prod", { configOverrides: { "meridian:replication": broken }, areas: ["replication"] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderRulesError);
    const v = (err as ProviderRulesError).violations;
    expect(v.every((x) => x.rule === "gcp-sql-edition-tier")).toBe(true);
    expect(v[0]!.message).toBe(
      "googleapi: Error 400: Invalid request: Invalid Tier (db-custom-4-16384) for (ENTERPRISE_PLUS) Edition. Use a predefined Tier like db-perf-optimized-N-* instead. Learn more at https://cloud.google.com/sql/docs/postgres/create-instance#machine-types., invalid",
    );
    expect((err as Error).message).toMatch(/the providers would refuse stack prod: 6 problems/);
  });

  it("an AWS region without its gateway subnets stops at config time", async () => {
    const regions = (prod["meridian:regions"] as Record<string, unknown>[]).map((r) => (r["id"] === "aws-use1" ? { ...r, gateway: undefined } : r));
    await expect(planStack("prod", { configOverrides: { "meridian:regions": regions } })).rejects.toThrow(/meridian:regions\[0\]\.gateway.*an AWS region needs gateway\.subnets/s);
  });
});
