/**
 * Aurora PostgreSQL on AWS: a partition's primary is the writer cluster of an Aurora Global Database
 * (aws.rds.GlobalCluster + regional Cluster + ClusterInstance); AWS regions fed from it are secondary
 * clusters of the same global cluster (storage-level replication), created only once the primary has an
 * instance (the provider's own example orders them so). A subscriber fed from another cloud is a
 * standalone cluster; if AWS regions are fed from it, it becomes the source of its own global cluster.
 * Instances are never publicly accessible; publishers turn on rds.logical_replication.
 *
 * Credentials: RDS cannot manage (or rotate) the master password of a cluster in a global database, so
 * the master password is generated here and kept in the Secrets Manager secret `<cluster id>/master`; the
 * logical-replication tooling reads it from there at run time as the cluster's admin login. A publisher's
 * replication roles (`meridian_replication_a`/`_b`, granted `rds_replication`) have their login in
 * `<cluster id>/replication`, rotated by `meridian replication rotate` (credentials.ts). Passwords, not IAM
 * tokens: a subscription stores its conninfo and reconnects with it long after a 15-minute token expires.
 * IAM database authentication stays enabled for clients that connect anew each time. */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as random from "@pulumi/random";
import type { ReplicationConfig } from "../../model/estate.js";
import { auroraTls } from "./ca.js";
import { awsSecret, initialReplicationLogin, loginJson, monitorLoginJson } from "./credentials.js";
import { DATABASE_NAME, POSTGRES_MAJOR, copyIdentifier, type CopyRequest, type DatabaseCopy } from "./copy.js";

const ENGINE = "aurora-postgresql";
const ENGINE_VERSION = "16.4";
const AURORA_MASTER_USER = "meridian";

/** The master password, generated once and kept in Secrets Manager (`<cluster id>/master`), and the secret's reference. */
function masterPassword(id: string, region: string, opts: pulumi.CustomResourceOptions): { password: pulumi.Output<string>; ref: pulumi.Output<string> } {
  const password = new random.RandomPassword(`${id}-master`, { length: 40, special: false }, opts).result;
  const ref = awsSecret(`${id}/master`, region, "Aurora master login: the admin login of Meridian's replication tooling (read at run time)", loginJson(AURORA_MASTER_USER, password), false, opts);
  return { password, ref };
}

export function auroraCopy(
  req: CopyRequest,
  network: ReplicationConfig["network"]["aws"],
  size: ReplicationConfig["databases"]["aws"],
  feedsAws: boolean,
  opts: pulumi.CustomResourceOptions,
): DatabaseCopy {
  const id = copyIdentifier(req.environment, req.writer, req.region.id);
  const region = req.region.region;
  const common = {
    engine: ENGINE,
    engineVersion: ENGINE_VERSION,
    region,
    dbSubnetGroupName: network.dbSubnetGroupName,
    storageEncrypted: true,
    iamDatabaseAuthenticationEnabled: true,
  };
  const vpc = network.vpcSecurityGroupIds.length ? { vpcSecurityGroupIds: network.vpcSecurityGroupIds } : {};
  const parameters = req.publishes
    ? new aws.rds.ClusterParameterGroup(
        `${id}-params`,
        {
          name: `${id}-params`,
          family: `aurora-postgresql${POSTGRES_MAJOR}`,
          region,
          description: "Meridian publisher: logical decoding for cross-cloud subscribers",
          parameters: [{ name: "rds.logical_replication", value: "1", applyMethod: "pending-reboot" }],
        },
        opts,
      )
    : undefined;
  const paramName = parameters ? { dbClusterParameterGroupName: parameters.name } : {};
  const master = req.role === "replica" ? undefined : masterPassword(id, region, opts);
  const credentials = () => ({ databaseName: DATABASE_NAME, masterUsername: AURORA_MASTER_USER, masterPassword: master!.password });

  let global: aws.rds.GlobalCluster | undefined;
  let cluster: aws.rds.Cluster;
  if (req.role === "replica") {
    // A secondary takes the primary's credentials; RDS refuses a user name or password here.
    cluster = new aws.rds.Cluster(
      id,
      {
        ...common,
        ...vpc,
        ...paramName,
        clusterIdentifier: id,
        globalClusterIdentifier: req.feeder!.replicationSource,
        skipFinalSnapshot: false,
        finalSnapshotIdentifier: `${id}-final`,
      },
      { ...opts, dependsOn: req.feeder!.ready },
    );
  } else if (req.role === "primary") {
    global = new aws.rds.GlobalCluster(
      `${id}-global`,
      { globalClusterIdentifier: `${id}-global`, engine: ENGINE, engineVersion: ENGINE_VERSION, databaseName: DATABASE_NAME, storageEncrypted: true, region, deletionProtection: true },
      opts,
    );
    cluster = new aws.rds.Cluster(
      id,
      {
        ...common,
        ...vpc,
        ...paramName,
        ...credentials(),
        clusterIdentifier: id,
        globalClusterIdentifier: global.id,
        deletionProtection: true,
        finalSnapshotIdentifier: `${id}-final`,
      },
      opts,
    );
  } else {
    cluster = new aws.rds.Cluster(id, { ...common, ...vpc, ...paramName, ...credentials(), clusterIdentifier: id, deletionProtection: true, finalSnapshotIdentifier: `${id}-final` }, opts);
  }
  const instances: aws.rds.ClusterInstance[] = [];
  for (let i = 1; i <= size.instancesPerCluster; i++) {
    instances.push(
      new aws.rds.ClusterInstance(
        `${id}-${i}`,
        { clusterIdentifier: cluster.id, identifier: `${id}-${i}`, instanceClass: size.instanceClass, engine: ENGINE, engineVersion: ENGINE_VERSION, region, publiclyAccessible: false },
        opts,
      ),
    );
  }
  const instance = instances[0]!;
  if (req.role === "subscriber" && feedsAws) {
    // The standalone subscriber becomes the source of its own global database once it has an instance.
    global = new aws.rds.GlobalCluster(
      `${id}-global`,
      { globalClusterIdentifier: `${id}-global`, sourceDbClusterIdentifier: cluster.arn, region, forceDestroy: false },
      { ...opts, dependsOn: [instance] },
    );
  }
  const source = req.role === "replica" ? req.feeder!.replicationSource : global ? global.id : cluster.arn;
  return {
    writer: req.writer,
    region: req.region,
    role: req.role,
    host: cluster.endpoint,
    replicationSource: source,
    // Secondaries must wait for the primary's instance (and the global cluster built on it).
    ready: global ? [instance, global] : [instance],
    // A secondary's roles and passwords are its primary's (storage-level replication).
    secrets:
      req.role === "replica"
        ? req.feeder!.secrets
        : {
            admin: master!.ref,
            monitor: awsSecret(`${id}/monitor`, region, "Meridian replication lag monitor's login (pg_monitor and the heartbeat table only)", monitorLoginJson(id, opts), true, opts),
            ...(req.publishes
              ? {
                  login: awsSecret(
                    `${id}/replication`,
                    region,
                    "Meridian logical-replication login (alternating users; rotated by meridian replication rotate)",
                    initialReplicationLogin(id, opts),
                    true,
                    opts,
                  ),
                }
              : {}),
          },
    replicationGrant: "rds_replication",
    tls: auroraTls(region),
  };
}
