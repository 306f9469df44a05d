// Pricers over fabricated resources: known answers against the dated price table, sizes read from the
// resource's own inputs, unknowns and unlisted SKUs flagged rather than guessed.
import { describe, expect, it } from "vitest";
import { priceResources } from "../../../model/cost/pricing/index.js";
import { buildEstateSpec, regionById } from "../../../model/estate.js";
import { eastWestGatewayValues, meshMember, multiPrimaryMesh } from "../../../model/mesh/multi-primary.js";
import { UNKNOWN, type PlannedResource } from "../../../model/resources.js";
import { loadStack } from "../../../stacks/load.js";

const spec = buildEstateSpec("prod", loadStack("prod"));
const res = (type: string, name: string, props: Record<string, unknown>): PlannedResource => ({ type, name, urn: `urn:pulumi:prod::meridian::${type}::${name}`, props });
const priced = (rs: PlannedResource[]) => priceResources(rs, spec);
const monthly = (rs: PlannedResource[], name: string) => {
  const p = priced(rs).priced.find((x) => x.resource.name === name)!;
  return p.components.map((c) => [c.name, c.monthlyCents, c.priceNotFound ?? false]);
};

describe("database and cache pricers", () => {
  it("Aurora: a listed class, a class scaled within its family, an unlisted family flagged", () => {
    expect(monthly([res("aws:rds/clusterInstance:ClusterInstance", "a", { instanceClass: "db.r6g.large" })], "a")).toEqual([["Database instance (on-demand, db.r6g.large)", 18980, false]]);
    expect(monthly([res("aws:rds/clusterInstance:ClusterInstance", "b", { instanceClass: "db.r6g.2xlarge" })], "b")).toEqual([["Database instance (on-demand, db.r6g.2xlarge)", 75920, false]]);
    expect(monthly([res("aws:rds/clusterInstance:ClusterInstance", "c", { instanceClass: "db.x2g.large" })], "c")).toEqual([["Database instance (on-demand, db.x2g.large)", 0, true]]);
    expect(monthly([res("aws:rds/clusterInstance:ClusterInstance", "d", { instanceClass: UNKNOWN })], "d")[0]![2]).toBe(true);
  });

  it("Cloud SQL: a regional (HA) custom machine costs twice the zonal one, storage included", () => {
    const tier = (availabilityType: string) => res("gcp:sql/databaseInstance:DatabaseInstance", availabilityType, { settings: { tier: "db-custom-4-16384", availabilityType, diskSize: 100 } });
    // zonal: 4 × 730 × 0.0413 = 120.60; 16 × 730 × 0.007 = 81.76; 100 × 0.17 = 17.00
    expect(monthly([tier("ZONAL")], "ZONAL")).toEqual([
      ["vCPUs (4, zonal)", 12060, false],
      ["Memory (16 GB, zonal)", 8176, false],
      ["Storage (SSD, zonal)", 1700, false],
    ]);
    expect(monthly([tier("REGIONAL")], "REGIONAL").map((c) => c[1])).toEqual([24119, 16352, 3400]);
  });

  it("ElastiCache: nodes = groups × (1 + replicas); Memorystore by tier and capacity band", () => {
    expect(monthly([res("aws:elasticache/replicationGroup:ReplicationGroup", "e", { nodeType: "cache.r7g.large", numNodeGroups: 2, replicasPerNodeGroup: 2 })], "e")).toEqual([
      ["ElastiCache (on-demand, cache.r7g.large)", 95922, false],
    ]);
    expect(monthly([res("gcp:redis/instance:Instance", "m", { tier: "STANDARD_HA", memorySizeGb: 5 })], "m")).toEqual([["Redis instance (standard, M2)", 19710, false]]);
    expect(monthly([res("gcp:redis/instance:Instance", "b", { tier: "BASIC", memorySizeGb: 40 })], "b")).toEqual([["Redis instance (basic, M4)", 55480, false]]);
  });

  it("Azure: flexible server by vCores and storage, Redis Premium P1 as primary + replica", () => {
    expect(monthly([res("azure-native:dbforpostgresql:Server", "p", { sku: { name: "Standard_D4ds_v5", tier: "GeneralPurpose" }, storage: { storageSizeGB: 256 } })], "p")).toEqual([
      ["Compute (Standard_D4ds_v5, 4 vCores)", 29638, false],
      ["Storage", 3535, false],
    ]);
    expect(monthly([res("azure-native:redis:Redis", "r", { sku: { name: "Premium", family: "P", capacity: 1 } })], "r")).toEqual([["Cache usage (Premium_P1)", 40442, false]]);
  });
});

describe("traffic pricers price what is rendered", () => {
  it("Traffic Manager: External endpoints cost more than Azure or Nested ones; a 10 s profile adds the fast-interval add-on", () => {
    const profile = (name: string, interval: number) => res("azure-native:trafficmanager:Profile", name, { profileName: name, monitorConfig: { intervalInSeconds: interval } });
    const endpoint = (name: string, endpointType: string, profileName: string) => res("azure-native:trafficmanager:Endpoint", name, { endpointType, profileName, target: UNKNOWN });
    const rs = [
      profile("slow", 30),
      profile("fast", 10),
      endpoint("ext", "ExternalEndpoints", "slow"),
      endpoint("az", "AzureEndpoints", "slow"),
      endpoint("nest", "NestedEndpoints", "slow"),
      endpoint("extfast", "ExternalEndpoints", "fast"),
    ];
    expect(monthly(rs, "ext")).toEqual([["Basic health check (ExternalEndpoints)", 54, false]]);
    expect(monthly(rs, "az")).toEqual([["Basic health check (AzureEndpoints)", 36, false]]);
    expect(monthly(rs, "nest")).toEqual([["Basic health check (NestedEndpoints)", 36, false]]);
    expect(monthly(rs, "extfast")).toEqual([
      ["Basic health check (ExternalEndpoints)", 54, false],
      ["Fast interval health checks add-on", 200, false],
    ]);
  });

  it("Route 53: a check of an AWS region is cheaper; each optional feature is billed", () => {
    const hc = (name: string, region: string, type: string, extra: Record<string, unknown> = {}) =>
      res("aws:route53/healthCheck:HealthCheck", name, { type, tags: { "meridian:region": region }, fqdn: UNKNOWN, ...extra });
    expect(monthly([hc("aws", "aws-use1", "HTTP")], "aws")).toEqual([["Health check (AWS endpoint)", 50, false]]);
    expect(monthly([hc("gcp", "gcp-usc1", "HTTPS_STR_MATCH", { requestInterval: 10, measureLatency: true })], "gcp")).toEqual([
      ["Health check (non-AWS endpoint)", 75, false],
      ["Optional features (HTTPS, string matching, fast interval, latency measurement)", 800, false],
    ]);
  });

  it("a LoadBalancer Service is priced by its region's cloud; a ClusterIP Service is free", () => {
    const svc = (name: string, region: string, type = "LoadBalancer") =>
      res("kubernetes:core/v1:Service", name, { metadata: { labels: { "meridian.dev/region": region } }, spec: { type, ports: [{ port: 443 }] } });
    expect(monthly([svc("a", "aws-use1")], "a")).toEqual([["Network load balancer", 1643, false]]);
    expect(monthly([svc("g", "gcp-usc1")], "g")).toEqual([["Forwarding rule", 730, false]]);
    expect(monthly([svc("z", "azure-weu")], "z")).toEqual([
      ["Load balancer rule (Standard)", 730, false],
      ["Public IP address (static)", 365, false],
    ]);
    expect(priced([svc("c", "aws-use1", "ClusterIP")]).free.map((f) => f.resource.name)).toEqual(["c"]);
    // Bound to a pre-created public IP, the Service bills only its rules; the address is priced as itself.
    const bound = res("kubernetes:core/v1:Service", "b", {
      ...svc("b", "azure-weu").props,
      metadata: { labels: { "meridian.dev/region": "azure-weu" }, annotations: { "service.beta.kubernetes.io/azure-pip-name": "gw" } },
    });
    expect(monthly([bound], "b")).toEqual([["Load balancer rule (Standard)", 730, false]]);
  });

  it("the east-west gateway's release is priced as the LoadBalancer Service its chart makes: four network-gateway ports, no pre-created IP", () => {
    const mesh = multiPrimaryMesh(spec)!;
    const release = (region: string) =>
      res("kubernetes:helm.sh/v3:Release", `${region}-istio-eastwestgateway`, { chart: "gateway", values: eastWestGatewayValues(mesh, meshMember(spec, region)!, regionById(spec, region)) });
    // AWS: one NLB, $16.43. GCP: 4 forwarding rules × $7.30 = $29.20. Azure: 4 rules × $7.30 + a static IP $3.65 = $32.85.
    expect(monthly([release("aws-use1")], "aws-use1-istio-eastwestgateway")).toEqual([["Network load balancer", 1643, false]]);
    expect(monthly([release("gcp-usc1")], "gcp-usc1-istio-eastwestgateway")).toEqual([["Forwarding rule", 2920, false]]);
    expect(monthly([release("azure-weu")], "azure-weu-istio-eastwestgateway")).toEqual([
      ["Load balancer rule (Standard)", 2920, false],
      ["Public IP address (static)", 365, false],
    ]);
    // Any other chart stays unsupported, and so does a gateway release that is no network gateway.
    const other = [res("kubernetes:helm.sh/v3:Release", "istiod", { chart: "istiod", values: {} }), res("kubernetes:helm.sh/v3:Release", "ingress", { chart: "gateway", values: { name: "x" } })];
    expect(priced(other).unsupported.map((r) => r.name)).toEqual(["istiod", "ingress"]);
  });

  it("public addresses and secrets: AWS bills every public IPv4, Azure a Standard IP, GCP nothing on a forwarding rule", () => {
    expect(monthly([res("aws:ec2/eip:Eip", "eip", { domain: "vpc" })], "eip")).toEqual([["Public IPv4 address", 365, false]]);
    expect(monthly([res("azure-native:network:PublicIPAddress", "pip", { sku: { name: "Standard" } })], "pip")).toEqual([["Public IP address (static)", 365, false]]);
    expect(monthly([res("azure-native:network:PublicIPAddress", "old", { sku: { name: "Basic" } })], "old")[0]![2]).toBe(true);
    expect(monthly([res("aws:secretsmanager/secret:Secret", "s", {})], "s")).toEqual([["Secret", 40, false]]);
    const p = priced([res("gcp:compute/address:Address", "a", {}), res("aws:secretsmanager/secretVersion:SecretVersion", "v", {}), res("random:index/randomPassword:RandomPassword", "r", {})]);
    expect(p.free.map((f) => f.resource.name)).toEqual(["a", "v", "r"]);
    expect(p.unsupported).toEqual([]);
  });
});

describe("what is not priced comes from the plan", () => {
  it("types without a pricer are unsupported, listed by resource; components and providers are not cloud resources", () => {
    const rs = [
      res("aws:ec2/instance:Instance", "vm", { instanceType: "m5.large" }),
      res("kubernetes:helm.sh/v3:Release", "chart", {}),
      res("meridian:index:Estate", "estate", {}),
      res("pulumi:providers:aws", "default", {}),
      res("aws:ec2/natGateway:NatGateway", "nat", {}),
    ];
    const p = priced(rs);
    expect(p.unsupported.map((r) => r.name)).toEqual(["vm", "chart"]);
    expect(p.priced.map((x) => x.resource.name)).toEqual(["nat"]);
    expect(p.priced[0]!.components[0]!.monthlyCents).toBe(3285);
  });
});
