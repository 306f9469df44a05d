// A writer's primary that publishes to no other cloud (dev's gcp-usc1) holds a lag-monitor login and no
// replication login: its rotation CronJob rotates that login only. Built under the recording mock runtime
// (with the offline provider rules), one Cloud SQL primary by itself.
import * as k8s from "@pulumi/kubernetes";
import { CronJob } from "kubernetes-models/batch/v1/CronJob";
import { beforeAll, describe, expect, it } from "vitest";
import { buildEstateSpec, regionById } from "../../../model/estate.js";
import { loadStack } from "../../../stacks/load.js";
import { runUnderMocks, type RecordedResource } from "../../../components/preview/mock-runtime.js";
import type { RegionCluster } from "../../../components/cluster/region-cluster.js";
import { cloudSqlCopy } from "../../../components/replication/cloudsql.js";
import { loginRotation } from "../../../components/replication/rotation.js";
import { rotateConfigSchema } from "../../../runtime/replication/index.js";

const spec = buildEstateSpec("dev", loadStack("dev"));
/** The databases' VPC's project, where their secrets live (projects/<project>/global/networks/…). */
const PROJECT = spec.replication.network.gcp.privateNetwork.split("/")[1];
let resources: RecordedResource[] = [];
const ofType = (type: string) => resources.filter((r) => r.type === type);
const inputs = (r: RecordedResource) => r.inputs as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

beforeAll(async () => {
  const run = await runUnderMocks(
    () => {
      const region = regionById(spec, "gcp-usc1");
      const primary = cloudSqlCopy({ writer: "gcp-usc1", region, role: "primary", publishes: false, environment: "dev" }, spec.replication.network.gcp, spec.replication.databases, {});
      const cluster = { region, provider: new k8s.Provider("gcp-usc1-k8s", { kubeconfig: "{}" }) } as unknown as RegionCluster;
      loginRotation(spec, primary, [], cluster, {});
    },
    { stack: "dev", config: {}, cloudValues: "fake" },
  );
  resources = run.resources;
}, 120_000);

describe("the rotation of a primary that publishes nowhere", () => {
  it("is a CronJob like the publishers' (schedule, no overlap, the rotate command) in the primary's region", () => {
    const [cron] = ofType("kubernetes:batch/v1:CronJob");
    expect(cron!.name).toBe("gcp-usc1-rotate-gcp-usc1");
    expect(new CronJob(inputs(cron!) as ConstructorParameters<typeof CronJob>[0]).validate()).toBeUndefined();
    expect(inputs(cron!)["spec"]).toMatchObject({ schedule: spec.replication.loginRotationSchedule, concurrencyPolicy: "Forbid" });
    const [container] = inputs(cron!)["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"];
    expect(container["args"]).toEqual(["replication", "rotate", "--config", "/etc/meridian/replication-rotate/rotate.json"]);
    expect(cron!.provider).toContain("::gcp-usc1-k8s::");
  });

  it("its config, parsed by the command's schema, rotates the primary's monitor login only, under its admin", () => {
    const map = ofType("kubernetes:core/v1:ConfigMap").find((m) => inputs(m)["metadata"]["name"] === "rotate-gcp-usc1")!;
    const config = rotateConfigSchema.parse(JSON.parse(inputs(map)["data"]["rotate.json"] as string));
    expect([config.publisher, config.login, config.subscribers]).toEqual([undefined, undefined, []]);
    expect(config.monitors).toEqual([
      {
        // No login in the address (it comes from the admin secret); verified with the instance's own CA.
        url: expect.stringMatching(/^postgres:\/\/[^@/]+:5432\/meridian\?sslmode=verify-ca&sslrootcert=\/etc\/meridian\/db-ca\/cloudsql-meridian-dev-gcp-usc1\.pem&/),
        admin: `gcp-secretmanager://projects/${PROJECT}/secrets/meridian-dev-gcp-usc1-admin`,
        login: `gcp-secretmanager://projects/${PROJECT}/secrets/meridian-dev-gcp-usc1-monitor`,
      },
    ]);
  });

  it("its identity may read the admin secret and read and add versions to the monitor secret — nothing else", () => {
    const grants = ofType("gcp:secretmanager/secretIamMember:SecretIamMember")
      .map(inputs)
      .map((m) => [m["secretId"], m["role"]])
      .sort();
    expect(grants).toEqual([
      ["meridian-dev-gcp-usc1-admin", "roles/secretmanager.secretAccessor"],
      ["meridian-dev-gcp-usc1-monitor", "roles/secretmanager.secretAccessor"],
      ["meridian-dev-gcp-usc1-monitor", "roles/secretmanager.secretVersionAdder"],
    ]);
  });

  it("the command refuses a config that is half a publisher's, or rotates nothing", () => {
    const monitors = [{ url: "postgres://10.0.0.1/meridian", admin: "file:///a", login: "file:///m" }];
    expect(rotateConfigSchema.safeParse({ monitors }).success).toBe(true);
    expect(rotateConfigSchema.safeParse({}).error?.issues.map((i) => i.message)).toEqual(["nothing to rotate: no publisher and no monitor logins"]);
    expect(rotateConfigSchema.safeParse({ login: "file:///l", monitors }).error?.issues.map((i) => i.path.join("."))).toEqual(["publisher", "subscribers"]);
  });
});
