// replication-writes-on-read-only-copy: a replication Job or CronJob whose connection came from a read-only
// replica (Aurora global secondary, Cloud SQL read replica, Azure read replica) is refused, naming the writable
// primary; the same Jobs on the primary, and a reading Deployment or a CA bundle from a replica, pass.
import { describe, expect, it } from "vitest";
import * as aws from "@pulumi/aws";
import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import * as dbforpostgresql from "@pulumi/azure-native/dbforpostgresql/index.js";
import type * as pulumi from "@pulumi/pulumi";
import { messages, refusals } from "./refuse.js";

const RULE = "replication-writes-on-read-only-copy";
const pod = (host: pulumi.Input<string>) => ({
  template: { spec: { restartPolicy: "OnFailure", containers: [{ name: "psql", image: "postgres", env: [{ name: "PGHOST", value: host }] }] } },
});
const job = (name: string, host: pulumi.Input<string>) => new k8s.batch.v1.Job(name, { metadata: { name, namespace: "meridian" }, spec: pod(host) });

/** An Aurora global database: a writable primary and a read-only secondary cluster. */
function aurora() {
  const global = new aws.rds.GlobalCluster("g", { globalClusterIdentifier: "g", engine: "aurora-postgresql", engineVersion: "16.4", databaseName: "meridian", storageEncrypted: true });
  const primary = new aws.rds.Cluster("primary", {
    clusterIdentifier: "primary",
    engine: "aurora-postgresql",
    engineVersion: "16.4",
    globalClusterIdentifier: global.id,
    masterUsername: "meridian",
    masterPassword: "secret-password",
  });
  const instance = new aws.rds.ClusterInstance("primary-1", { clusterIdentifier: primary.id, instanceClass: "db.r6g.large", engine: "aurora-postgresql", identifier: "primary-1" });
  const secondary = new aws.rds.Cluster(
    "secondary",
    { clusterIdentifier: "secondary", engine: "aurora-postgresql", engineVersion: "16.4", globalClusterIdentifier: global.id, region: "eu-west-1" },
    { dependsOn: [instance] },
  );
  return { primary, secondary };
}

describe("replication-writes-on-read-only-copy", () => {
  it("refuses a publication Job on an Aurora global secondary, naming the primary; the primary's passes", async () => {
    const v = await refusals(() => {
      const { primary, secondary } = aurora();
      job("pub-on-secondary", secondary.endpoint);
      job("pub-on-primary", primary.endpoint);
      // The lag monitor only reads a replica: allowed.
      new k8s.apps.v1.Deployment("monitor", {
        metadata: { name: "monitor", namespace: "meridian" },
        spec: {
          selector: { matchLabels: { app: "m" } },
          template: { metadata: { labels: { app: "m" } }, spec: { containers: [{ name: "m", image: "m", env: [{ name: "HOST", value: secondary.endpoint }] }] } },
        },
      });
    });
    expect(v.filter((x) => x.rule === RULE).map((x) => x.name)).toEqual(["pub-on-secondary"]);
    expect(messages(v, RULE)[0]).toMatch(/^pub-on-secondary connects to secondary, a read-only replica \(aws:rds\/cluster:Cluster\).*cannot execute CREATE PUBLICATION.*writable primary primary,/);
  });

  it("refuses a rotation CronJob whose config ConfigMap names a Cloud SQL read replica; a CA bundle from the replica is no connection", async () => {
    const v = await refusals(() => {
      const settings = { tier: "db-custom-2-8192", edition: "ENTERPRISE" };
      const primary = new gcp.sql.DatabaseInstance("sql-primary", { name: "sql-primary", region: "us-central1", databaseVersion: "POSTGRES_16", settings });
      const replica = new gcp.sql.DatabaseInstance("sql-replica", { name: "sql-replica", region: "europe-west1", databaseVersion: "POSTGRES_16", masterInstanceName: primary.name, settings });
      const config = new k8s.core.v1.ConfigMap("rotate", {
        metadata: { name: "rotate", namespace: "meridian" },
        data: { "rotate.json": replica.privateIpAddress.apply((h) => JSON.stringify({ host: h })) },
      });
      const ca = new k8s.core.v1.ConfigMap("ca", {
        metadata: { name: "meridian-db-ca", namespace: "meridian" },
        data: { "cloudsql-sql-replica.pem": replica.name.apply((n) => `-----BEGIN CERTIFICATE-----\n${n}\n-----END CERTIFICATE-----\n`) },
      });
      const schedule = (name: string, deps: pulumi.Resource[]) =>
        new k8s.batch.v1.CronJob(name, { metadata: { name, namespace: "meridian" }, spec: { schedule: "0 3 * * 1", jobTemplate: { spec: pod("unused") } } }, { dependsOn: deps });
      schedule("rotate-on-replica", [config, ca]);
      schedule("reads-ca-only", [ca]);
    });
    expect(v.filter((x) => x.rule === RULE).map((x) => x.name)).toEqual(["rotate-on-replica"]);
    expect(messages(v, RULE)[0]).toMatch(/connects to sql-replica, a read-only replica .*writable primary sql-primary,/);
  });

  it("refuses a subscription Job whose source is an Azure read replica", async () => {
    const v = await refusals(() => {
      const base = { resourceGroupName: "rg", version: "16", storage: { storageSizeGB: 128 }, sku: { name: "Standard_D2ds_v5", tier: "GeneralPurpose" } };
      const primary = new dbforpostgresql.Server("az-primary", {
        ...base,
        serverName: "az-primary",
        location: "westeurope",
        createMode: "Create",
        administratorLogin: "meridian_admin",
        administratorLoginPassword: "pw",
      });
      const replica = new dbforpostgresql.Server("az-replica", { ...base, serverName: "az-replica", location: "southeastasia", createMode: "Replica", sourceServerResourceId: primary.id });
      job("sub-from-replica", replica.fullyQualifiedDomainName);
    });
    expect(v.filter((x) => x.rule === RULE).map((x) => x.name)).toEqual(["sub-from-replica"]);
    expect(messages(v, RULE)[0]).toMatch(/connects to az-replica, .*writable primary az-primary,/);
  });
});
