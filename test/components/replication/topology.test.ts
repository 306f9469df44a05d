import { beforeAll, describe, expect, it } from "vitest";
import { Job } from "kubernetes-models/batch/v1/Job";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { evaluateStack, ofType, sharedPlan, under, type Plan, type RecordedResource } from "../../harness.js";
import { reportResources } from "../../../model/cost/report.js";
import { modelFromResources } from "../../../policies/model-source.js";
import { readStackConfigMap } from "../../../stacks/load.js";

const TOPOLOGY = "meridian:replication:Topology";

/** Writers whose primary has a monitor-login Job (`<w>-mon-<w>`), and those of them with no `<w>-rotate-<w>` CronJob. */
function primariesWithoutRotation(plan: Plan): { primaries: string[]; unrotated: string[] } {
  const primaries = ofType(plan, "kubernetes:batch/v1:Job")
    .map((j) => /^(.+)-mon-\1$/.exec(j.name)?.[1])
    .filter((w) => w !== undefined);
  const cronJobs = new Set(ofType(plan, "kubernetes:batch/v1:CronJob").map((j) => j.name));
  return { primaries, unrotated: primaries.filter((w) => !cronJobs.has(`${w}-rotate-${w}`)) };
}
const props = (r: RecordedResource) => r.inputs as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe("meridian:replication:Topology (prod, hierarchical)", () => {
  let plan: Plan;
  beforeAll(async () => {
    plan = await sharedPlan("prod");
  }, 240_000);

  it("builds an Aurora Global Database for each AWS writer with a secondary cluster in the other AWS region", () => {
    const globals = ofType(plan, "aws:rds/globalCluster:GlobalCluster")
      .map((r) => r.name)
      .sort();
    expect(globals).toEqual(["meridian-prod-aws-euw1-global", "meridian-prod-aws-use1-global"]);
    const secondary = ofType(plan, "aws:rds/cluster:Cluster").find((r) => r.name === "meridian-prod-aws-use1-at-aws-euw1")!;
    expect(props(secondary)).toMatchObject({ region: "eu-west-1", engine: "aurora-postgresql", globalClusterIdentifier: "meridian-prod-aws-use1-global-id", dbSubnetGroupName: "meridian-prod-db" });
    expect(props(secondary)["masterUsername"]).toBeUndefined();
    for (const i of ofType(plan, "aws:rds/clusterInstance:ClusterInstance")) expect(props(i)["publiclyAccessible"]).toBe(false);
  });

  it("gives every Cloud SQL instance a private IP only and every Azure server a delegated subnet", () => {
    for (const i of ofType(plan, "gcp:sql/databaseInstance:DatabaseInstance")) {
      expect(props(i)["settings"]["ipConfiguration"]).toMatchObject({ ipv4Enabled: false, privateNetwork: "projects/meridian-prod/global/networks/meridian" });
    }
    const asne1 = ofType(plan, "gcp:sql/databaseInstance:DatabaseInstance").find((r) => r.name === "meridian-prod-gcp-asne1")!;
    expect(props(asne1)["settings"]["databaseFlags"]).toEqual([
      { name: "cloudsql.iam_authentication", value: "on" },
      { name: "cloudsql.logical_decoding", value: "on" },
    ]);
    expect(props(asne1)["settings"]).toMatchObject({ edition: "ENTERPRISE", tier: "db-custom-4-16384" });
    for (const s of ofType(plan, "azure-native:dbforpostgresql:Server")) {
      expect(props(s)["network"]).toMatchObject({ publicNetworkAccess: "Disabled" });
      expect(props(s)["network"]["delegatedSubnetResourceId"]).toContain(`virtualNetworks/meridian-${props(s)["location"]}/subnets/postgres`);
    }
  });

  it("feeds cross-cloud links with a publication on the feeder and a subscription on the target", () => {
    const jobs = ofType(plan, "kubernetes:batch/v1:Job");
    const names = jobs.map((j) => j.name);
    // gcp-asne1's writes reach azure-sea directly (Asia) and aws-use1 / aws-euw1 as relays.
    expect(names).toEqual(expect.arrayContaining(["gcp-asne1-pub-gcp-asne1", "azure-sea-sub-gcp-asne1-from-gcp-asne1", "aws-use1-sub-gcp-asne1-from-gcp-asne1"]));
    // aws-use1 relays gcp-asne1's writes to gcp-usc1 (a cascaded logical subscription).
    expect(names).toContain("gcp-usc1-sub-gcp-asne1-from-aws-use1");
    for (const j of jobs) expect(new Job(props(j)).validate()).toBeUndefined();
    // Each Job runs in its own region's cluster (that region's Kubernetes provider).
    for (const j of jobs) expect(j.provider).toContain(`::${j.name.split(/-(?:pub|sub|mon)-/)[0]}-k8s::`);
    const script = ofType(plan, "kubernetes:core/v1:ConfigMap").find((c) => c.name === "azure-sea-sub-gcp-asne1-from-gcp-asne1")!;
    expect(props(script)["data"]["subscribe.sh"]).toMatch(/CREATE SUBSCRIPTION meridian_gcp_asne1_from_gcp_asne1 CONNECTION :'conninfo' PUBLICATION meridian_gcp_asne1/);
  });

  it("publishes and rotates on writable copies only: a cross-cloud subscriber of an Aurora secondary's region subscribes from the primary", () => {
    const jobs = ofType(plan, "kubernetes:batch/v1:Job").map((j) => j.name);
    // aws-euw1 holds aws-use1's data as a global secondary (read-only): azure-weu subscribes from aws-use1 itself.
    expect(jobs).toContain("azure-weu-sub-aws-use1-from-aws-use1");
    expect(jobs).toContain("gcp-usc1-sub-aws-euw1-from-aws-euw1");
    expect(jobs).not.toContain("aws-euw1-pub-aws-use1");
    expect(jobs).not.toContain("aws-use1-pub-aws-euw1");
    const cronJobs = ofType(plan, "kubernetes:batch/v1:CronJob").map((j) => j.name);
    expect(cronJobs).not.toContain("aws-euw1-rotate-aws-use1");
    expect(cronJobs).not.toContain("aws-use1-rotate-aws-euw1");
  });

  it("rotates every writer's primary's logins: each primary with a monitor login has a rotation CronJob in its region", () => {
    expect(primariesWithoutRotation(plan)).toEqual({ primaries: expect.arrayContaining(["aws-use1", "gcp-asne1"]), unrotated: [] });
  });

  it("publishes the estate and the model's priced links for the policy pack", () => {
    const maps = ofType(plan, "kubernetes:core/v1:ConfigMap").filter((c) => props(c)["metadata"]["name"] === "meridian-replication");
    expect(maps).toHaveLength(6);
    for (const m of maps) new ConfigMap(props(m)).validate();
    const links = JSON.parse(props(maps[0]!)["data"]["links.json"]) as { monthlyUSD: string; links: unknown[] };
    expect(links.monthlyUSD).toBe("4098.84");
    expect(links.links).toHaveLength(11);
    const model = modelFromResources(plan.resources.map((r) => ({ type: r.type, name: r.name, props: r.inputs })));
    // The pack prices the plan it sees: egress ($4,098.84 of replication links, $1.83 of east-west calls between
    // regions, on the same meters: docs/cost.md) is one part of the total, beside the databases, caches, load
    // balancers, DNS and health checks.
    const egress = reportResources(model!.report).filter((r) => r.metadata["category"] === "egress");
    expect(egress.reduce((s, r) => s + Math.round(Number(r.monthlyCost) * 100), 0)).toBe(410067);
    expect(Number(model!.report.totalMonthlyCost)).toBeGreaterThan(4100.67 + 3000);
    expect(under(plan, TOPOLOGY, "prod-replication").length).toBeGreaterThan(40);
  });
});

describe("managed replicas where the feeding region is on the same cloud (full mesh, an Azure writer)", () => {
  let plan: Plan;
  beforeAll(async () => {
    plan = await evaluateStack("prod", {
      areas: ["replication"],
      configOverrides: {
        "meridian:replication": {
          ...(readStackConfigMap("prod")["meridian:replication"] as object),
          placement: undefined,
          topology: "full-mesh",
          writers: ["gcp-asne1", "azure-weu"],
          writeGBPerMonth: { "gcp-asne1": 100, "azure-weu": 100 },
        },
      },
    });
  });
  it("Cloud SQL cross-region replica names its master", () => {
    const replica = ofType(plan, "gcp:sql/databaseInstance:DatabaseInstance").find((r) => r.name === "meridian-prod-gcp-asne1-at-gcp-usc1")!;
    expect(props(replica)).toMatchObject({ region: "us-central1", masterInstanceName: "meridian-prod-gcp-asne1" });
  });
  it("Azure flexible-server replica is created in Replica mode from the source server", () => {
    const replica = ofType(plan, "azure-native:dbforpostgresql:Server").find((r) => r.name === "meridian-prod-azure-weu-at-azure-sea")!;
    expect(props(replica)).toMatchObject({ createMode: "Replica", location: "southeastasia", sourceServerResourceId: "meridian-prod-azure-weu-id" });
    expect(ofType(plan, "azure-native:dbforpostgresql:Configuration").map((c) => props(c)["value"])).toContain("logical");
  });
});

describe("meridian:replication:Topology (dev: gcp-usc1's primary publishes nowhere)", () => {
  it("still rotates that primary's monitor login, by a CronJob in its region", async () => {
    const plan = await evaluateStack("dev");
    expect(primariesWithoutRotation(plan)).toEqual({ primaries: ["gcp-usc1"], unrotated: [] });
    expect(ofType(plan, "kubernetes:batch/v1:CronJob").map((j) => j.name)).toEqual(["gcp-usc1-rotate-gcp-usc1"]);
  }, 240_000);
});
