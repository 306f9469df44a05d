/**
 * Cloud SQL for PostgreSQL on GCP: the partition's primary instance, cross-region read replicas
 * (`masterInstanceName` = the feeding instance; a replica of a replica is a cascading replica), or a
 * standalone subscriber. Private IP only (ipv4Enabled false, privateNetwork set); publishers turn on
 * the `cloudsql.logical_decoding` flag. The edition is always explicit: PostgreSQL 16 defaults to
 * ENTERPRISE_PLUS, which refuses the custom tiers ENTERPRISE takes (meridian:replication.instances.gcp).
 * Clients authenticate as Cloud SQL IAM users (`cloudsql.iam_authentication`): a token per connection.
 */
import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp";
import type { ReplicationConfig } from "../../model/estate.js";
import { cloudSqlTls } from "./ca.js";
import { POSTGRES_MAJOR, copyIdentifier, type CopyRequest, type DatabaseCopy } from "./copy.js";

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
  return {
    writer: req.writer,
    region: req.region,
    role: req.role,
    host: instance.privateIpAddress,
    replicationSource: instance.name,
    ready: [instance],
    auth: "gcp-iam",
    tls: cloudSqlTls(name, instance.serverCaCerts),
  };
}
