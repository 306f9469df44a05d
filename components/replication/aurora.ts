/**
 * Aurora PostgreSQL on AWS: a partition's primary is the writer cluster of an Aurora Global Database
 * (aws.rds.GlobalCluster + regional Cluster + ClusterInstance); AWS regions fed from it are secondary
 * clusters of the same global cluster (storage-level replication). A subscriber fed from another cloud
 * is a standalone cluster; if AWS regions are fed from it, it becomes the source of its own global
 * cluster. Instances are never publicly accessible; publishers turn on rds.logical_replication.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { ReplicationConfig } from "../../model/estate.js";
import { DATABASE_NAME, POSTGRES_MAJOR, copyIdentifier, type CopyRequest, type DatabaseCopy } from "./copy.js";

const ENGINE = "aurora-postgresql";
const ENGINE_VERSION = "16.4";
export function auroraCopy(req: CopyRequest, network: ReplicationConfig["network"]["aws"], size: ReplicationConfig["databases"]["aws"], feedsAws: boolean, opts: pulumi.CustomResourceOptions): DatabaseCopy {
  const id = copyIdentifier(req.environment, req.writer, req.region.id);
  const region = req.region.region;
  const common = { engine: ENGINE, engineVersion: ENGINE_VERSION, region, dbSubnetGroupName: network.dbSubnetGroupName, storageEncrypted: true };
  const vpc = network.vpcSecurityGroupIds.length ? { vpcSecurityGroupIds: network.vpcSecurityGroupIds } : {};
  const parameters = req.publishes
    ? new aws.rds.ClusterParameterGroup(`${id}-params`, {
        family: `aurora-postgresql${POSTGRES_MAJOR}`,
        region,
        description: "Meridian publisher: logical decoding for cross-cloud subscribers",
        parameters: [{ name: "rds.logical_replication", value: "1", applyMethod: "pending-reboot" }],
      }, opts)
    : undefined;
  const paramName = parameters ? { dbClusterParameterGroupName: parameters.name } : {};

  let global: aws.rds.GlobalCluster | undefined;
  let cluster: aws.rds.Cluster;
  if (req.role === "replica") {
    cluster = new aws.rds.Cluster(id, { ...common, ...vpc, ...paramName, clusterIdentifier: id, globalClusterIdentifier: req.feeder!.replicationSource, skipFinalSnapshot: false, finalSnapshotIdentifier: `${id}-final` }, opts);
  } else if (req.role === "primary") {
    global = new aws.rds.GlobalCluster(`${id}-global`, { globalClusterIdentifier: `${id}-global`, engine: ENGINE, engineVersion: ENGINE_VERSION, databaseName: DATABASE_NAME, storageEncrypted: true, region, deletionProtection: true }, opts);
    cluster = new aws.rds.Cluster(id, {
      ...common, ...vpc, ...paramName,
      clusterIdentifier: id,
      globalClusterIdentifier: global.id,
      databaseName: DATABASE_NAME,
      masterUsername: "meridian",
      manageMasterUserPassword: true,
      deletionProtection: true,
      finalSnapshotIdentifier: `${id}-final`,
    }, opts);
  } else {
    cluster = new aws.rds.Cluster(id, { ...common, ...vpc, ...paramName, clusterIdentifier: id, databaseName: DATABASE_NAME, masterUsername: "meridian", manageMasterUserPassword: true, deletionProtection: true, finalSnapshotIdentifier: `${id}-final` }, opts);
    if (feedsAws) {
      global = new aws.rds.GlobalCluster(`${id}-global`, { globalClusterIdentifier: `${id}-global`, sourceDbClusterIdentifier: cluster.arn, region, forceDestroy: false }, opts);
    }
  }
  for (let i = 1; i <= size.instancesPerCluster; i++) {
    new aws.rds.ClusterInstance(`${id}-${i}`, { clusterIdentifier: cluster.id, identifier: `${id}-${i}`, instanceClass: size.instanceClass, engine: ENGINE, engineVersion: ENGINE_VERSION, region, publiclyAccessible: false }, opts);
  }
  const source = req.role === "replica" ? req.feeder!.replicationSource : global ? global.id : cluster.arn;
  return { writer: req.writer, region: req.region, role: req.role, host: cluster.endpoint, replicationSource: source };
}
