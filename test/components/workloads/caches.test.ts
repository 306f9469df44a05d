// The managed Redis each region's runtime uses, per cloud, under the mocked providers: private
// networking only (the replication area's networks and resource group), TLS where the service offers
// it, and a `meridian-redis` Secret whose URL points at the cache the region created.
import { beforeAll, describe, expect, it } from "vitest";
import { buildEstateSpec, type EstateSpec } from "../../../model/estate.js";
import { loadStack } from "../../../stacks/load.js";
import { COMPUTED, evaluateStack, under, type Plan, type RecordedResource } from "../../harness.js";
import { prodPlan } from "./plan.js";

type Obj = Record<string, unknown>;
/** A variation of the caches needs their area, and the replication area it reads the databases from. */
// The workloads area needs the mesh (pki) for its gateway; the assertions here are about RuntimeServices only.
const WORKLOADS = ["replication", "pki", "workloads"];
const regionOf = (spec: EstateSpec, cloud: string) => spec.regions.find((r) => r.cloud === cloud)!;

describe("managed Redis per cloud (prod)", () => {
  let plan: Plan;
  let spec: EstateSpec;
  const inRegion = (id: string) => under(plan, "meridian:workloads:RuntimeServices", `${id}-runtime`);
  const one = (rs: RecordedResource[], type: string): Obj => {
    const found = rs.filter((r) => r.type === type);
    expect(found, type).toHaveLength(1);
    return found[0]!.inputs;
  };
  beforeAll(async () => {
    plan = await prodPlan();
    spec = buildEstateSpec("prod", loadStack("prod"));
  }, 120_000);

  it("AWS: an ElastiCache replication group, Multi-AZ, encrypted in transit and at rest, in the cache subnet group", () => {
    const region = regionOf(spec, "aws");
    const group = one(inRegion(region.id), "aws:elasticache/replicationGroup:ReplicationGroup");
    const cfg = spec.runtime.ratelimit.redis.aws;
    expect(group).toMatchObject({
      replicationGroupId: `meridian-prod-${region.id}`,
      region: region.region,
      engine: "redis",
      nodeType: cfg.nodeType,
      subnetGroupName: cfg.subnetGroupName,
      transitEncryptionEnabled: true,
      atRestEncryptionEnabled: true,
      automaticFailoverEnabled: true,
      multiAzEnabled: true,
    });
  });

  it("GCP: a Memorystore instance with AUTH on the replication VPC through private services access", () => {
    const region = regionOf(spec, "gcp");
    const instance = one(inRegion(region.id), "gcp:redis/instance:Instance");
    expect(instance).toMatchObject({
      region: region.region,
      tier: "STANDARD_HA",
      connectMode: "PRIVATE_SERVICE_ACCESS",
      authorizedNetwork: spec.replication.network.gcp.privateNetwork,
      authEnabled: true,
    });
  });

  it("Azure: Azure Cache for Redis without public access, TLS only, behind a private endpoint in the replication resource group", () => {
    const region = regionOf(spec, "azure");
    const objects = inRegion(region.id);
    const cache = one(objects, "azure-native:redis:Redis");
    expect(cache).toMatchObject({
      resourceGroupName: spec.replication.network.azure.resourceGroupName,
      location: region.region,
      publicNetworkAccess: "Disabled",
      enableNonSslPort: false,
      minimumTlsVersion: "1.2",
      sku: { name: "Premium", family: "P" },
    });
    const endpoint = one(objects, "azure-native:network:PrivateEndpoint") as { subnet: { id: string }; privateLinkServiceConnections: { groupIds: string[]; privateLinkServiceId: string }[] };
    expect(endpoint.subnet.id).toContain(`/virtualNetworks/meridian-${region.region}/subnets/`);
    expect(endpoint.privateLinkServiceConnections[0]!.groupIds).toEqual(["redisCache"]);
    expect(endpoint.privateLinkServiceConnections[0]!.privateLinkServiceId).toBeTruthy();
  });

  it("every region publishes its cache's URL in the meridian-redis Secret the rate limiter reads", () => {
    for (const region of spec.regions) {
      const secret = inRegion(region.id).find((r) => r.type === "kubernetes:core/v1:Secret" && r.name === `${region.id}-meridian-redis`);
      expect(secret, region.id).toBeDefined();
      const url = JSON.stringify((secret!.inputs as { stringData: unknown }).stringData);
      const scheme = region.cloud === "gcp" ? "redis://" : "rediss://";
      expect(url).toContain(scheme);
    }
  });

  it("in a preview, endpoints the clouds assign stay unknown rather than invented", async () => {
    const preview = await evaluateStack("prod", { cloudValues: "computed", areas: WORKLOADS });
    const aws = regionOf(spec, "aws");
    const endpoints = under(preview, "meridian:workloads:RuntimeServices", `${aws.id}-runtime`).find((r) => r.name === `${aws.id}-meridian-endpoints`)!;
    expect((endpoints.inputs as { data: Record<string, string> }).data["postgres-host"]).toBe(COMPUTED);
  }, 120_000);

  it("a stack can size the caches; the schema rejects a subnet name ARM would refuse", async () => {
    const custom = await evaluateStack("prod", {
      areas: WORKLOADS,
      configOverrides: {
        "meridian:runtime": { ...loadStack("prod").runtime, ratelimit: { domain: "meridian", requestsPerSecond: 20000, redis: { aws: { nodeType: "cache.m7g.xlarge", replicasPerNodeGroup: 0 } } } },
      },
    });
    const aws = regionOf(spec, "aws");
    const group = under(custom, "meridian:workloads:RuntimeServices", `${aws.id}-runtime`).find((r) => r.type === "aws:elasticache/replicationGroup:ReplicationGroup")!;
    expect(group.inputs).toMatchObject({ nodeType: "cache.m7g.xlarge", replicasPerNodeGroup: 0, automaticFailoverEnabled: false, multiAzEnabled: false });
    await expect(
      evaluateStack("prod", { configOverrides: { "meridian:runtime": { ...loadStack("prod").runtime, ratelimit: { redis: { azure: { privateEndpointSubnetName: "/subnets/x" } } } } } }),
    ).rejects.toThrow(/privateEndpointSubnetName/);
  }, 120_000);
});
