/**
 * Cloud SQL for PostgreSQL on GCP: the partition's primary instance, cross-region read replicas
 * (`masterInstanceName` = the feeding instance; a replica of a replica is a cascading replica), or a
 * standalone subscriber. Private IP only (ipv4Enabled false, privateNetwork set); publishers turn on
 * the `cloudsql.logical_decoding` flag. The edition is always explicit: PostgreSQL 16 defaults to
 * ENTERPRISE_PLUS, which refuses the custom tiers ENTERPRISE takes (meridian:replication.instances.gcp).
 * Clients that connect anew each time may authenticate as Cloud SQL IAM users (`cloudsql.iam_authentication`).
 * Logical replication needs passwords (a subscription reconnects with its stored conninfo): every primary
 * and subscriber gets the built-in user `meridian_admin` with a generated password kept in Secret Manager
 * (`<instance>-admin`), and a publisher its alternating replication login (`<instance>-replication`,
 * rotated by `meridian replication rotate`; credentials.ts). Replicas share their master's users.
 */
import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import type { ReplicationConfig } from "../../model/estate.js";
import { cloudSqlTls } from "./ca.js";
import { gcpSecret, generatedPassword, initialReplicationLogin, loginJson, monitorLoginJson, type CopySecrets } from "./credentials.js";
import { POSTGRES_MAJOR, copyIdentifier, type CopyRequest, type DatabaseCopy } from "./copy.js";

/** Cloud SQL's built-in users are members of cloudsqlsuperuser: they may create roles and grant REPLICATION. */
const ADMIN_USER = "meridian_admin";

export function cloudSqlCopy(req: CopyRequest, network: ReplicationConfig["network"]["gcp"], size: ReplicationConfig["databases"], opts: pulumi.CustomResourceOptions): DatabaseCopy {
  const name = copyIdentifier(req.environment, req.writer, req.region.id);
  const flags = [{ name: "cloudsql.iam_authentication", value: "on" }, ...(req.publishes ? [{ name: "cloudsql.logical_decoding", value: "on" }] : [])];
  const instance = new gcp.sql.DatabaseInstance(
    name,
    {
      name,
      region: req.region.region,
      databaseVersion: `POSTGRES_${POSTGRES_MAJOR}`,
      deletionProtection: true,
      ...(req.role === "replica" ? { masterInstanceName: req.feeder!.replicationSource, replicaConfiguration: { failoverTarget: false } } : {}),
      settings: {
        edition: size.gcp.edition,
        tier: size.gcp.tier,
        diskType: "PD_SSD",
        diskSize: size.storageGB,
        availabilityType: req.role === "replica" ? "ZONAL" : "REGIONAL",
        ipConfiguration: { ipv4Enabled: false, privateNetwork: network.privateNetwork, sslMode: "ENCRYPTED_ONLY" },
        ...(req.role === "replica" ? {} : { backupConfiguration: { enabled: true, pointInTimeRecoveryEnabled: true, transactionLogRetentionDays: 7 } }),
        databaseFlags: flags,
      },
    },
    { ...opts, dependsOn: req.role === "replica" ? req.feeder!.ready : [] },
  );
  let secrets: CopySecrets;
  if (req.role === "replica") secrets = req.feeder!.secrets;
  else {
    const password = generatedPassword(`${name}-admin`, opts);
    // The project the databases' VPC belongs to (projects/<project>/global/networks/<name>).
    const project = network.privateNetwork.split("/")[1]!;
    new gcp.sql.User(`${name}-admin`, { instance: instance.name, name: ADMIN_USER, type: "BUILT_IN", password }, opts);
    secrets = {
      admin: gcpSecret(project, `${name}-admin`, loginJson(ADMIN_USER, password), false, opts),
      monitor: gcpSecret(project, `${name}-monitor`, monitorLoginJson(name, opts), true, opts),
      ...(req.publishes ? { login: gcpSecret(project, `${name}-replication`, initialReplicationLogin(name, opts), true, opts) } : {}),
    };
  }
  return {
    writer: req.writer,
    region: req.region,
    role: req.role,
    host: instance.privateIpAddress,
    replicationSource: instance.name,
    ready: [instance],
    secrets,
    replicationGrant: "attribute",
    tls: cloudSqlTls(name, instance.serverCaCerts),
  };
}
