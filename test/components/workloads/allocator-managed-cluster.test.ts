// A managed Redis Cluster for the global allocator (meridian:runtime.ratelimit.allocatorRedisCluster.managed), under the
// mocked providers with the offline plan's provider rules: an ElastiCache replication group in cluster mode (TLS, AUTH
// token, automatic failover) in the ledger region only, whose configuration endpoint and token reach the allocator's
// pods through the Secret it mounts and expands into --redis-cluster; priced by the cost model; refused where the
// providers refuse (aws-elasticache-* rules). GCP and Azure: allocator-managed-cluster-clouds.test.ts.
import { beforeAll, describe, expect, it } from "vitest";
import { elasticacheRules } from "../../../components/preview/rules/aws-elasticache.js";
import { priceResources } from "../../../model/cost/pricing/index.js";
import { buildEstateSpec, type EstateSpec } from "../../../model/estate.js";
import { withUnknowns } from "../../../model/resources.js";
import { regionNetworkInputs, regionNetworkPolicies } from "../../../model/security/network.js";
import { parseEstateConfig, readStackConfigMap } from "../../../stacks/load.js";
import { evaluateStack, under, type Plan } from "../../harness.js";
import { messages, refusals } from "../preview/rules/refuse.js";
import { AWS_VPCS, oneCloudDev } from "./one-cloud.js";
import * as aws from "@pulumi/aws";

const WORKLOADS = ["replication", "pki", "workloads"];
const GROUP = "aws:elasticache/replicationGroup:ReplicationGroup";
type Obj = Record<string, unknown>;

// dev moved onto prod's two AWS regions: a managed cluster needs every standby on the ledger's cloud (prod's GCP and
// Azure standbys are refused at load: allocator-standby-path.test.ts), and the AWS standby's VPC peered with the ledger's.
const AWS_DEV = oneCloudDev("aws", { managed: {} }, AWS_VPCS);

describe("the allocator's managed Redis Cluster (dev on AWS, ElastiCache cluster mode)", () => {
  let plan: Plan;
  let spec: EstateSpec;
  const inRegion = (id: string) => under(plan, "meridian:workloads:RuntimeServices", `${id}-runtime`);
  beforeAll(async () => {
    plan = await evaluateStack("dev", { areas: WORKLOADS, configOverrides: AWS_DEV });
    spec = buildEstateSpec("dev", parseEstateConfig(AWS_DEV, "dev on AWS (managed)"));
  }, 240_000);

  it("is one cluster-mode replication group in the ledger region, TLS with an AUTH token, failover on, and passes the provider rules", () => {
    const clusters = plan.resources.filter((r) => r.type === GROUP && r.inputs["clusterMode"] === "enabled");
    expect(clusters.map((c) => c.name)).toEqual(["meridian-dev-aws-use1-rl"]);
    expect(inRegion("aws-use1")).toContain(clusters[0]);
    expect(clusters[0]!.inputs).toMatchObject({
      replicationGroupId: "meridian-dev-aws-use1-rl",
      engine: "redis",
      parameterGroupName: "meridian-dev-aws-use1-rl-params",
      numNodeGroups: 3,
      replicasPerNodeGroup: 1,
      automaticFailoverEnabled: true,
      multiAzEnabled: true,
      transitEncryptionEnabled: true,
      atRestEncryptionEnabled: true,
      subnetGroupName: spec.runtime.ratelimit.redis.aws.subnetGroupName,
      port: 6379,
    });
    expect(String(clusters[0]!.inputs["authToken"])).toMatch(/^[0-9A-Za-z]{40}$/);
    // Its own parameter group: cluster mode, and no eviction (the default group's volatile-lru could evict a lease).
    const params = plan.resources.find((r) => r.type === "aws:elasticache/parameterGroup:ParameterGroup")!;
    expect(params.inputs).toMatchObject({ name: "meridian-dev-aws-use1-rl-params", family: "redis7" });
    expect(params.inputs["parameters"]).toEqual(
      expect.arrayContaining([
        { name: "cluster-enabled", value: "yes" },
        { name: "maxmemory-policy", value: "noeviction" },
      ]),
    );
    expect(clusters[0]!.dependencies).toContain(params.urn);
    // The plan evaluated: every provider rule passed on it (a refusal throws); and each ElastiCache rule looked at it.
    for (const rule of elasticacheRules) expect(rule.check(clusters[0]!, undefined as never)).toEqual([]);
  });

  it("feeds the allocator: the Secret carries the configuration endpoint and the token, the pod expands and mounts it", () => {
    const rs = inRegion("aws-use1");
    const group = rs.find((r) => r.type === GROUP && r.inputs["clusterMode"] === "enabled")!;
    const secret = rs.find((r) => r.type === "kubernetes:core/v1:Secret" && (r.inputs["metadata"] as Obj)["name"] === "meridian-allocator-redis")!;
    const data = secret.inputs["stringData"] as Record<string, string>;
    expect(data["nodes"]).toMatch(/^clustercfg\.meridian-dev-aws-use1-rl\.[a-z0-9]+\.use1\.cache\.amazonaws\.com:6379$/);
    expect(data["password"]).toBe(group.inputs["authToken"]);
    const deployment = rs.find((r) => r.type === "kubernetes:apps/v1:Deployment" && (r.inputs["metadata"] as Obj)["name"] === "allocator")!;
    expect(deployment.dependencies).toContain(secret.urn);
    const pod = ((deployment.inputs["spec"] as Obj)["template"] as Obj)["spec"] as { containers: Obj[]; volumes: Obj[] };
    const c = pod.containers[0] as { args: string[]; env: Obj[]; volumeMounts: Obj[] };
    expect(c.args).toEqual(expect.arrayContaining(["--redis-cluster", "$(MERIDIAN_ALLOCATOR_REDIS_NODES)"]));
    expect(c.args).not.toContain("--redis");
    expect(c.env).toContainEqual({ name: "MERIDIAN_ALLOCATOR_REDIS_NODES", valueFrom: { secretKeyRef: { name: "meridian-allocator-redis", key: "nodes" } } });
    const volume = pod.volumes.find((v) => (v["secret"] as Obj | undefined)?.["secretName"] === "meridian-allocator-redis")!;
    expect(c.volumeMounts).toContainEqual(expect.objectContaining({ name: volume["name"], mountPath: "/etc/meridian/allocator/redis", readOnly: true }));
    const config = rs.find((r) => r.type === "kubernetes:core/v1:ConfigMap" && r.name === "aws-use1-allocator-config")!;
    const file = JSON.parse((config.inputs["data"] as Record<string, string>)["allocator.json"]!) as Obj;
    expect(file).toMatchObject({ store: "redis", redisTls: {}, redisAuth: { passwordFile: "/etc/meridian/allocator/redis/password" } });
    expect(file).not.toHaveProperty("redisCluster");
    expect(JSON.stringify(file)).not.toContain(String(group.inputs["authToken"]));
    // The allocator's pods may reach the cluster's port (every node of a cluster-mode group listens on it).
    const policy = regionNetworkPolicies(regionNetworkInputs(spec, "aws-use1", "aws")).find((p) => p.metadata.name === "allow-allocator")!;
    expect((policy.spec.egress ?? []).flatMap((r) => (r.ports ?? []).map((p) => p.port))).toContain(6379);
    // The other regions create no cluster.
    for (const region of spec.regions.filter((r) => r.id !== "aws-use1")) expect(inRegion(region.id).filter((r) => r.type === GROUP && r.inputs["clusterMode"] === "enabled")).toHaveLength(0);
  });

  it("survives a failover: every region's allocator Deployment (the standbys' at 0 replicas) finds its Secret, with the ledger's endpoint and token", () => {
    const secretIn = (id: string) => inRegion(id).find((r) => r.type === "kubernetes:core/v1:Secret" && (r.inputs["metadata"] as Obj)["name"] === "meridian-allocator-redis");
    const ledger = secretIn("aws-use1")!.inputs["stringData"];
    for (const region of spec.regions) {
      const rs = inRegion(region.id);
      const deployment = rs.find((r) => r.type === "kubernetes:apps/v1:Deployment" && (r.inputs["metadata"] as Obj)["name"] === "allocator")!;
      expect(deployment, region.id).toBeDefined();
      // Every Secret the pod names (env and volumes) exists in this region's cluster: scaling it to 1 starts a pod.
      const pod = ((deployment.inputs["spec"] as Obj)["template"] as Obj)["spec"] as { containers: { env?: Obj[] }[]; volumes?: Obj[] };
      const named = new Set([
        ...pod.containers.flatMap((c) => (c.env ?? []).map((e) => ((e["valueFrom"] as Obj | undefined)?.["secretKeyRef"] as Obj | undefined)?.["name"])),
        ...(pod.volumes ?? []).map((v) => (v["secret"] as Obj | undefined)?.["secretName"]),
      ]);
      named.delete(undefined);
      const secrets = rs.filter((r) => r.type === "kubernetes:core/v1:Secret").map((r) => (r.inputs["metadata"] as Obj)["name"]);
      for (const name of named) expect(secrets, `${region.id}: allocator names Secret ${String(name)}`).toContain(name);
      const secret = secretIn(region.id)!;
      expect(secret.inputs["stringData"], region.id).toEqual(ledger);
      expect(deployment.dependencies, region.id).toContain(secret.urn);
    }
  });

  it("is priced by the cost model: shards × (1 + replicas) nodes of its node type, at a rate marked unverified", () => {
    const group = plan.resources.find((r) => r.type === GROUP && r.inputs["clusterMode"] === "enabled")!;
    const priced = priceResources([{ type: group.type, name: group.name, urn: group.urn, props: withUnknowns(group.inputs) as Obj }], spec).priced[0]!;
    expect(priced.components[0]).toMatchObject({ name: "ElastiCache (on-demand, cache.r7g.large)", monthlyQuantity: 730 * 6 });
    // The table's cache.r7g.large rate is not a verified price (FACTS has none for ElastiCache): the report says so.
    expect(JSON.stringify(priced.components[0])).toContain('"verified":false');
  });
});

describe("refusals", () => {
  it("the providers' documented rules for a replication group", async () => {
    const base = { engine: "redis", nodeType: "cache.r7g.large", description: "d", region: "us-east-1" };
    const v = await refusals(() => {
      new aws.elasticache.ReplicationGroup("plain-token", { ...base, replicationGroupId: "plain-token", transitEncryptionEnabled: false, authToken: "0123456789abcdef0123" });
      new aws.elasticache.ReplicationGroup("short-token", { ...base, replicationGroupId: "short-token", transitEncryptionEnabled: true, authToken: "short/@" });
      new aws.elasticache.ReplicationGroup("no-failover", { ...base, replicationGroupId: "no-failover", clusterMode: "enabled", parameterGroupName: "default.redis7.cluster.on", numNodeGroups: 3 });
      new aws.elasticache.ReplicationGroup("shards", { ...base, replicationGroupId: "shards", numNodeGroups: 2, automaticFailoverEnabled: true });
      new aws.elasticache.ReplicationGroup("az", { ...base, replicationGroupId: "az", multiAzEnabled: true, numCacheClusters: 2, replicasPerNodeGroup: 1 });
      new aws.elasticache.ReplicationGroup("Bad--id-", { ...base, replicationGroupId: "1bad--id-" });
    });
    expect(messages(v, "aws-elasticache-auth-token")).toEqual([
      "AuthToken can be specified only on replication groups where TransitEncryptionEnabled is true",
      "AuthToken must be at least 16 characters and no more than 128 characters in length (has 7)",
      'AuthToken: the only permitted printable special characters are !, &, #, $, ^, <, >, and - (found "/", "@")',
    ]);
    expect(messages(v, "aws-elasticache-cluster-mode").sort()).toEqual(
      [
        "automaticFailoverEnabled: must be enabled for Redis (cluster mode enabled) replication groups",
        "numNodeGroups 2: several node groups (shards) need cluster mode (clusterMode enabled, a cluster-enabled parameter group)",
        '"num_cache_clusters": conflicts with num_node_groups and replicas_per_node_group',
        "multiAzEnabled: if true, automaticFailoverEnabled must also be enabled",
      ].sort(),
    );
    expect(messages(v, "aws-elasticache-replication-group-id")).toEqual([
      'replicationGroupId "1bad--id-": the first character must be a letter',
      'replicationGroupId "1bad--id-": a name cannot end with a hyphen or contain two consecutive hyphens',
    ]);
  });

  it("the stack: nodes and managed together, a managed cluster without TLS", () => {
    const parse = (stack: string, cluster: unknown) => () => {
      const map = readStackConfigMap(stack);
      const runtime = map["meridian:runtime"] as Record<string, Record<string, unknown>>;
      map["meridian:runtime"] = { ...runtime, ratelimit: { ...runtime["ratelimit"], allocatorRedisCluster: cluster } };
      return buildEstateSpec(stack, parseEstateConfig(map, stack));
    };
    expect(parse("prod", { nodes: ["10.0.0.1:6379"], managed: {} })).toThrow(/give nodes \(an existing cluster\) or managed/);
    expect(parse("prod", { managed: {}, tls: false })).toThrow(/a managed cluster is reached over TLS as its cloud requires/);
    expect(parse("prod", { nodes: ["10.0.0.1:6379"], tls: false, ca: true })).toThrow(/ca and serverName are TLS settings/);
  });
});
