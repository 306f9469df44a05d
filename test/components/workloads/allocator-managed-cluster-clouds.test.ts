// The allocator's managed Redis Cluster on GCP (Memorystore for Redis Cluster) and Azure (Azure Managed Redis, OSS
// cluster policy), under the mocked providers with the offline plan's provider rules: created in the ledger region on
// its cloud, its endpoint and credentials delivered through the Secret every region's allocator Deployment mounts, the
// allocator's config and egress as that cloud requires, priced by the cost model; refused where the providers refuse.
import { beforeAll, describe, expect, it } from "vitest";
import * as gcp from "@pulumi/gcp";
import * as azureEnterprise from "@pulumi/azure-native/redisenterprise/index.js";
import { priceResources } from "../../../model/cost/pricing/index.js";
import { buildEstateSpec } from "../../../model/estate.js";
import { withUnknowns } from "../../../model/resources.js";
import { regionNetworkInputs, regionNetworkPolicies } from "../../../model/security/network.js";
import { loadStack, parseEstateConfig, readStackConfigMap } from "../../../stacks/load.js";
import { evaluateStack, under, type Plan } from "../../harness.js";
import { messages, refusals } from "../preview/rules/refuse.js";
import { oneCloudDev } from "./one-cloud.js";

const WORKLOADS = ["replication", "pki", "workloads"];
type Obj = Record<string, unknown>;
type Resource = Plan["resources"][number];

function overrides(stack: string, cluster: unknown, replication: Obj = {}) {
  const config = loadStack(stack);
  return {
    "meridian:runtime": { ...config.runtime, ratelimit: { ...config.runtime.ratelimit, allocatorRedisCluster: cluster } },
    ...(Object.keys(replication).length ? { "meridian:replication": { ...(readStackConfigMap(stack)["meridian:replication"] as Obj), ...replication } } : {}),
  };
}
const specOf = (stack: string, o: Obj) => buildEstateSpec(stack, parseEstateConfig({ ...readStackConfigMap(stack), ...o }, `${stack} (managed)`));
const meta = (r: Resource) => (r.inputs["metadata"] as Obj | undefined) ?? {};
const inRegion = (plan: Plan, id: string) => under(plan, "meridian:workloads:RuntimeServices", `${id}-runtime`);
const secretIn = (plan: Plan, id: string) => inRegion(plan, id).find((r) => r.type === "kubernetes:core/v1:Secret" && meta(r)["name"] === "meridian-allocator-redis");
function allocatorFile(plan: Plan, id: string): Obj {
  const config = inRegion(plan, id).find((r) => r.type === "kubernetes:core/v1:ConfigMap" && r.name === `${id}-allocator-config`)!;
  return JSON.parse((config.inputs["data"] as Record<string, string>)["allocator.json"]!) as Obj;
}
function allocatorEgressPorts(spec: ReturnType<typeof buildEstateSpec>, region: string, cloud: "gcp" | "azure") {
  const policy = regionNetworkPolicies(regionNetworkInputs(spec, region, cloud)).find((p) => p.metadata.name === "allow-allocator")!;
  return (policy.spec.egress ?? []).flatMap((r) => r.ports ?? []);
}
const price = (r: Resource, spec: ReturnType<typeof buildEstateSpec>) => priceResources([{ type: r.type, name: r.name, urn: r.urn, props: withUnknowns(r.inputs) as Obj }], spec).priced[0]!;

describe("on GCP (dev: the ledger region gcp-usc1): Memorystore for Redis Cluster over Private Service Connect", () => {
  const o = overrides("dev", { managed: { gcp: { shards: 3, replicasPerShard: 1 } } });
  let plan: Plan;
  beforeAll(async () => {
    plan = await evaluateStack("dev", { areas: WORKLOADS, configOverrides: o });
  }, 240_000);

  it("is one cluster in the ledger region, TLS with server authentication, PSC in the replication VPC, zones spread", () => {
    const clusters = plan.resources.filter((r) => r.type === "gcp:redis/cluster:Cluster");
    expect(clusters.map((c) => c.name)).toEqual(["meridian-dev-gcp-usc1-rl"]);
    expect(inRegion(plan, "gcp-usc1")).toContain(clusters[0]);
    expect(clusters[0]!.inputs).toMatchObject({
      name: "meridian-dev-gcp-usc1-rl",
      region: "us-central1",
      shardCount: 3,
      replicaCount: 1,
      nodeType: "REDIS_HIGHMEM_MEDIUM",
      authorizationMode: "AUTH_MODE_IAM_AUTH",
      transitEncryptionMode: "TRANSIT_ENCRYPTION_MODE_SERVER_AUTHENTICATION",
      pscConfigs: [{ network: "projects/meridian/global/networks/meridian" }],
      zoneDistributionConfig: { mode: "MULTI_ZONE" },
      redisConfigs: { "maxmemory-policy": "noeviction" },
    });
    const policy = plan.resources.find((r) => r.type === "gcp:networkconnectivity/serviceConnectionPolicy:ServiceConnectionPolicy")!;
    expect(policy.inputs).toMatchObject({
      serviceClass: "gcp-memorystore-redis",
      location: "us-central1",
      network: "projects/meridian/global/networks/meridian",
      pscConfig: { subnetworks: ["projects/meridian/regions/us-central1/subnetworks/meridian-redis-psc"] },
    });
    expect(clusters[0]!.dependencies).toContain(policy.urn);
  });

  it("feeds the allocator in every region: the discovery endpoint and the cluster's CA, no password (its IAM token is its own); config names the CA file; egress to 6379 and 11000–13047", () => {
    const ledger = secretIn(plan, "gcp-usc1")!.inputs["stringData"] as Record<string, string>;
    expect(Object.keys(ledger).sort()).toEqual(["ca.crt", "nodes"]);
    expect(ledger["nodes"]).toMatch(/^10\.128\.\d+\.\d+:6379$/);
    expect(ledger["ca.crt"]).toContain("mock Memorystore CA of meridian-dev-gcp-usc1-rl");
    // The standby's allocator Deployment (0 replicas) carries the same Secret: a failover starts on the same cluster.
    expect(secretIn(plan, "gcp-euw1")!.inputs["stringData"]).toEqual(ledger);
    const file = allocatorFile(plan, "gcp-usc1");
    expect(file).toMatchObject({ store: "redis", redisTls: { caFile: "/etc/meridian/allocator/redis/ca.crt" } });
    expect(file["redisAuth"]).toEqual({ passwordFile: "/tmp/redis-iam/token" });
    expect(JSON.stringify(file)).not.toContain("BEGIN CERTIFICATE");
    expect(allocatorEgressPorts(specOf("dev", o), "gcp-usc1", "gcp")).toEqual(
      expect.arrayContaining([
        { protocol: "TCP", port: 6379 },
        { protocol: "TCP", port: 11000, endPort: 13047 },
      ]),
    );
  });

  it("is priced: shards × (1 + replicas) nodes of its node type, unverified", () => {
    const cluster = plan.resources.find((r) => r.type === "gcp:redis/cluster:Cluster")!;
    const c = price(cluster, specOf("dev", o)).components[0]!;
    expect(c).toMatchObject({ name: "Redis Cluster nodes (REDIS_HIGHMEM_MEDIUM)", monthlyQuantity: 730 * 6 });
    expect(JSON.stringify(c)).toContain('"verified":false');
  });
});

// dev moved onto prod's azure-weu alone (an Azure standby's peering, zone link and NSG rule: allocator-standby-path.test.ts).
describe("on Azure (dev on azure-weu alone): Azure Managed Redis, OSS cluster policy, behind a private endpoint", () => {
  const o = oneCloudDev("azure", { managed: {} }, {}, 1);
  let plan: Plan;
  beforeAll(async () => {
    plan = await evaluateStack("dev", { areas: WORKLOADS, configOverrides: o });
  }, 240_000);

  it("is one cluster and its database in the ledger region: TLS 1.2, no public access, OSS cluster, TLS only, access keys, no eviction", () => {
    const clusters = plan.resources.filter((r) => r.type === "azure-native:redisenterprise:RedisEnterprise");
    expect(clusters.map((c) => c.name)).toEqual(["meridian-dev-azure-weu-rl"]);
    expect(inRegion(plan, "azure-weu")).toContain(clusters[0]);
    expect(clusters[0]!.inputs).toMatchObject({ sku: { name: "Balanced_B5" }, minimumTlsVersion: "1.2", publicNetworkAccess: "Disabled", highAvailability: "Enabled" });
    const db = plan.resources.find((r) => r.type === "azure-native:redisenterprise:Database")!;
    expect(db.inputs).toMatchObject({
      clusterName: "meridian-dev-azure-weu-rl",
      databaseName: "default",
      clusteringPolicy: "OSSCluster",
      clientProtocol: "Encrypted",
      port: 10000,
      evictionPolicy: "NoEviction",
      accessKeysAuthentication: "Enabled",
    });
    expect(db.dependencies).toContain(clusters[0]!.urn);
    const pe = plan.resources.find((r) => r.type === "azure-native:network:PrivateEndpoint" && r.name === "meridian-dev-azure-weu-rl-pe")!;
    expect((pe.inputs["privateLinkServiceConnections"] as Obj[])[0]).toMatchObject({ groupIds: ["redisEnterprise"] });
    // Its host name resolves to the endpoint only in a VNet linked to the endpoint's zone: the ledger's own allocator too.
    const links = plan.resources.filter((r) => r.type === "azure-native:privatedns:VirtualNetworkLink");
    expect(links.map((l) => [l.inputs["privateZoneName"], (l.inputs["virtualNetwork"] as Obj)["id"]])).toEqual([
      ["privatelink.redis.azure.net", expect.stringMatching(/\/virtualNetworks\/meridian-westeurope$/)],
    ]);
    expect(plan.resources.filter((r) => r.type === "azure-native:network:VirtualNetworkPeering")).toEqual([]);
  });

  it("feeds the allocator: host name on 10000 and the database's primary key; egress to 10000 and 8500–8599", () => {
    const ledger = secretIn(plan, "azure-weu")!.inputs["stringData"] as Record<string, string>;
    expect(ledger).toEqual({ nodes: "meridian-dev-azure-weu-rl.westeurope.redis.azure.net:10000", password: "mockPrimaryKeymeridiandevazureweurl" });
    expect(allocatorFile(plan, "azure-weu")).toMatchObject({ store: "redis", redisTls: {}, redisAuth: { passwordFile: "/etc/meridian/allocator/redis/password" } });
    expect(allocatorFile(plan, "azure-weu")["redisTls"]).toEqual({});
    expect(allocatorEgressPorts(specOf("dev", o), "azure-weu", "azure")).toEqual(
      expect.arrayContaining([
        { protocol: "TCP", port: 10000 },
        { protocol: "TCP", port: 8500, endPort: 8599 },
      ]),
    );
  });

  it("is priced: one instance of its SKU, unverified; its database is free", () => {
    const spec = specOf("dev", o);
    const cluster = plan.resources.find((r) => r.type === "azure-native:redisenterprise:RedisEnterprise")!;
    const c = price(cluster, spec).components[0]!;
    expect(c).toMatchObject({ name: "Azure Managed Redis (Balanced_B5)", monthlyQuantity: 730 });
    expect(JSON.stringify(c)).toContain('"verified":false');
  });
});

describe("refusals", () => {
  it("the stack: settings for a cloud the cluster is not built on, naming the key", () => {
    // prod's ledger region (aws-use1) is on AWS: GCP settings would be silently unused, so they are refused at load.
    expect(() => specOf("prod", overrides("prod", { managed: { gcp: { shards: 5 } } }))).toThrow(
      /meridian:runtime\.ratelimit\.allocatorRedisCluster\.managed\.gcp[\s\S]*settings for aws only[\s\S]*aws-use1 \(aws\)/,
    );
    expect(() => specOf("dev", overrides("dev", { managed: { aws: { nodeType: "cache.r7g.xlarge" }, azure: {} } }))).toThrow(/allocatorRedisCluster\.managed\.aws[\s\S]*settings for gcp only/);
    // The ledger cloud's own settings, and empty settings for another cloud, load.
    expect(() => specOf("dev", overrides("dev", { managed: { gcp: { shards: 5 }, azure: {} } }))).not.toThrow();
  });

  it("Memorystore for Redis Cluster: the id, the shape, the access", async () => {
    const psc = [{ network: "projects/p/global/networks/n" }];
    const v = await refusals(() => {
      new gcp.redis.Cluster("id", { name: "1Bad_", shardCount: 1, pscConfigs: psc });
      new gcp.redis.Cluster("shape", { name: "shape", shardCount: 0, replicaCount: 6, nodeType: "REDIS_TINY", pscConfigs: psc });
      // 50 × (1 + 4) = 250 usage units: at the limit, accepted.
      new gcp.redis.Cluster("units", { name: "units", shardCount: 50, replicaCount: 4, pscConfigs: psc });
      new gcp.redis.Cluster("access", {
        name: "access",
        shardCount: 1,
        authorizationMode: "AUTH_MODE_IAM_AUTH",
        transitEncryptionMode: "TRANSIT_ENCRYPTION_MODE_DISABLED",
        pscConfigs: [...psc, ...psc],
      });
      new gcp.redis.Cluster("nopsc", { name: "nopsc", shardCount: 1, transitEncryptionMode: "TLS" });
    });
    expect(messages(v, "gcp-redis-cluster-id")).toEqual([
      'name "1Bad_": must contain only lowercase letters, numbers, and hyphens',
      'name "1Bad_": must start with a letter',
      'name "1Bad_": must end with a number or a letter',
    ]);
    expect(messages(v, "gcp-redis-cluster-shape")).toEqual([
      expect.stringMatching(/^nodeType "REDIS_TINY": expected one of REDIS_SHARED_CORE_NANO, /),
      "shardCount 0: a cluster has at least one shard",
      "replicaCount 6: each shard has 0 to 5 replicas",
    ]);
    expect(messages(v, "gcp-redis-cluster-access").sort()).toEqual([
      "authorizationMode AUTH_MODE_IAM_AUTH: IAM authentication requires in-transit encryption (transitEncryptionMode TRANSIT_ENCRYPTION_MODE_SERVER_AUTHENTICATION)",
      "pscConfigs: currently only one PscConfig is supported (has 2)",
      "pscConfigs: required (the consumer network the cluster's endpoints are in)",
      'transitEncryptionMode "TLS": expected one of TRANSIT_ENCRYPTION_MODE_UNSPECIFIED, TRANSIT_ENCRYPTION_MODE_DISABLED, TRANSIT_ENCRYPTION_MODE_SERVER_AUTHENTICATION',
    ]);
  });

  it("Memorystore for Redis Cluster: more than 250 usage units", async () => {
    const v = await refusals(() => {
      new gcp.redis.Cluster("units", { name: "units", shardCount: 51, replicaCount: 4, pscConfigs: [{ network: "projects/p/global/networks/n" }] });
    });
    expect(messages(v, "gcp-redis-cluster-shape")).toEqual(["shardCount 51 × (1 + replicaCount 4) = 255 usage units: a cluster has at most 250"]);
  });

  it("Azure Managed Redis: the name, the SKU and capacity, public access, the database", async () => {
    const base = { resourceGroupName: "rg", location: "eastus", publicNetworkAccess: "Disabled" };
    const v = await refusals(() => {
      new azureEnterprise.RedisEnterprise("name", { ...base, clusterName: "-bad--name_", sku: { name: "Balanced_B5" } });
      new azureEnterprise.RedisEnterprise("sku", { ...base, clusterName: "sku", sku: { name: "Premium_P1" }, publicNetworkAccess: "Open" });
      new azureEnterprise.RedisEnterprise("capacity", { ...base, clusterName: "capacity", sku: { name: "Enterprise_E10", capacity: 3 } });
      new azureEnterprise.RedisEnterprise("balanced-capacity", { ...base, clusterName: "balanced-capacity", sku: { name: "Balanced_B5", capacity: 2 } });
      new azureEnterprise.Database("db", { resourceGroupName: "rg", clusterName: "ok", databaseName: "budgets", clusteringPolicy: "Sharded", port: 6380 });
    });
    expect(messages(v, "azure-redis-enterprise-name")).toEqual([
      'clusterName "-bad--name_": allowed characters are A-Z, a-z, 0-9 and hyphen',
      'clusterName "-bad--name_": there can be no leading nor trailing nor consecutive hyphens',
    ]);
    expect(messages(v, "azure-redis-enterprise-sku")).toEqual([
      'sku.name "Premium_P1": not an Azure Managed Redis / Redis Enterprise SKU (Balanced_B5, MemoryOptimized_M10, ComputeOptimized_X5, …)',
      `publicNetworkAccess "Open": only 'Enabled' or 'Disabled' can be set`,
      "sku.capacity 3: valid values are 2, 4, 6, ... for Enterprise SKUs",
      "sku.capacity 2: only used with Enterprise and EnterpriseFlash SKUs, not Balanced_B5",
    ]);
    expect(messages(v, "azure-redis-enterprise-database")).toEqual([
      `databaseName "budgets": the one database of a cluster is named 'default'`,
      'clusteringPolicy "Sharded": expected one of EnterpriseCluster, OSSCluster, NoCluster',
      "port 6380: the database's endpoint is on port 10000",
    ]);
  });
});
