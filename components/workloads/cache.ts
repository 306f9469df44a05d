/**
 * One managed Redis per region, on the region's cloud and only on private networking: an ElastiCache
 * replication group (Multi-AZ, TLS in transit, encrypted at rest) in the estate's cache subnet group,
 * a Memorystore instance reached through private services access on the replication VPC, or an Azure
 * Cache for Redis with public access disabled behind a private endpoint, in the replication resource
 * group. Each returns the connection URL (a secret output) the runtime's `--redis` flag takes.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as random from "@pulumi/random";
import * as gcp from "@pulumi/gcp";
import * as azureRedis from "@pulumi/azure-native/redis/index.js";
import * as azureNetwork from "@pulumi/azure-native/network/index.js";
import type { EstateSpec, Region } from "../../model/estate.js";
import { azureSubnetId } from "../../model/network/azure.js";
import { MANAGED_CLUSTER_PORT } from "../../model/workloads/config.js";

export interface ManagedRedis {
  /** The resource the region's runtime reaches Redis through. */
  resource: pulumi.CustomResource;
  /** `redis://` or `rediss://` URL with credentials, as a secret. */
  url: pulumi.Output<string>;
}

/** Provider-safe cache name: `meridian-prod-aws-use1` (ElastiCache ids ≤ 40, Memorystore ≤ 40). */
function cacheName(environment: string, regionId: string): string {
  return `meridian-${environment}-${regionId}`.slice(0, 40).replace(/-+$/, "");
}

export function managedRedis(spec: EstateSpec, region: Region, opts: pulumi.CustomResourceOptions): ManagedRedis {
  const cfg = spec.runtime.ratelimit.redis;
  const name = cacheName(spec.environment, region.id);
  const labels = { "part-of": "meridian", region: region.id, environment: spec.environment };
  switch (region.cloud) {
    case "aws": {
      const group = new aws.elasticache.ReplicationGroup(
        name,
        {
          replicationGroupId: name,
          description: `Meridian runtime state for ${region.id}`,
          region: region.region,
          engine: "redis",
          engineVersion: "7.1",
          nodeType: cfg.aws.nodeType,
          numNodeGroups: 1,
          replicasPerNodeGroup: cfg.aws.replicasPerNodeGroup,
          automaticFailoverEnabled: cfg.aws.replicasPerNodeGroup > 0,
          multiAzEnabled: cfg.aws.replicasPerNodeGroup > 0,
          subnetGroupName: cfg.aws.subnetGroupName,
          ...(cfg.aws.securityGroupIds.length ? { securityGroupIds: cfg.aws.securityGroupIds } : {}),
          atRestEncryptionEnabled: true,
          transitEncryptionEnabled: true,
          port: 6379,
          tags: labels,
        },
        opts,
      );
      return { resource: group, url: pulumi.secret(pulumi.interpolate`rediss://${group.primaryEndpointAddress}:6379`) };
    }
    case "gcp": {
      const instance = new gcp.redis.Instance(
        name,
        {
          name,
          region: region.region,
          tier: cfg.gcp.tier,
          memorySizeGb: cfg.gcp.memorySizeGb,
          redisVersion: "REDIS_7_2",
          authorizedNetwork: spec.replication.network.gcp.privateNetwork,
          connectMode: "PRIVATE_SERVICE_ACCESS",
          authEnabled: true,
          labels,
        },
        opts,
      );
      return { resource: instance, url: pulumi.secret(pulumi.interpolate`redis://:${instance.authString}@${instance.host}:${instance.port}`) };
    }
    case "azure": {
      const resourceGroupName = spec.replication.network.azure.resourceGroupName;
      const cache = new azureRedis.Redis(
        name,
        {
          name,
          resourceGroupName,
          location: region.region,
          sku: { name: cfg.azure.family === "P" ? "Premium" : "Standard", family: cfg.azure.family, capacity: cfg.azure.capacity },
          publicNetworkAccess: "Disabled",
          enableNonSslPort: false,
          minimumTlsVersion: "1.2",
          redisVersion: "6",
          tags: labels,
        },
        opts,
      );
      new azureNetwork.PrivateEndpoint(
        `${name}-pe`,
        {
          privateEndpointName: `${name}-pe`,
          resourceGroupName,
          location: region.region,
          subnet: { id: azureSubnetId(spec.replication.network.azure, region.region, cfg.azure.privateEndpointSubnetName) },
          privateLinkServiceConnections: [{ name: `${name}-redis`, privateLinkServiceId: cache.id, groupIds: ["redisCache"] }],
          tags: labels,
        },
        opts,
      );
      const keys = azureRedis.listRedisKeysOutput({ name: cache.name, resourceGroupName }, opts);
      return { resource: cache, url: pulumi.secret(pulumi.interpolate`rediss://:${keys.primaryKey}@${cache.hostName}:${cache.sslPort}`) };
    }
  }
}

export interface ManagedRedisCluster {
  resource: pulumi.CustomResource;
  /** The configuration endpoint, `host:port`: the seed node the allocator's cluster client starts from. */
  nodes: pulumi.Output<string>;
  /** The AUTH token (secret). */
  password: pulumi.Output<string>;
  /** The keys of the Secret `meridian-allocator-redis` every region running an allocator Deployment carries. */
  secretData: Record<string, pulumi.Output<string>>;
}

/**
 * The allocator's Redis Cluster when the stack asks for a managed one (allocatorRedisCluster.managed), in the
 * region the allocator runs: on AWS an ElastiCache replication group in cluster mode (the `default.redis7.cluster.on`
 * parameter group; automatic failover, which cluster mode requires; Multi-AZ with replicas), TLS in transit with an
 * AUTH token (40 alphanumerics: within ElastiCache's 16–128 and its allowed characters), encrypted at rest, in the
 * managed Redis's subnet group and security groups. Other clouds are refused by name (not built yet).
 */
export function managedRedisCluster(spec: EstateSpec, region: Region, opts: pulumi.CustomResourceOptions): ManagedRedisCluster {
  const managed = spec.runtime.ratelimit.allocatorRedisCluster?.managed;
  if (!managed) throw new Error("managedRedisCluster: the stack asks for no managed allocator cluster");
  if (region.cloud !== "aws")
    throw new Error(
      `meridian:runtime.ratelimit.allocatorRedisCluster.managed: the allocator runs in ${region.id} (${region.cloud}); a managed cluster is built on AWS ElastiCache only so far — name an existing cluster's nodes instead`,
    );
  const cfg = managed.aws;
  const network = spec.runtime.ratelimit.redis.aws;
  const name = cacheName(spec.environment, `${region.id}-rl`);
  const token = new random.RandomPassword(`${name}-auth`, { length: 40, special: false }, opts);
  const group = new aws.elasticache.ReplicationGroup(
    name,
    {
      replicationGroupId: name,
      description: `Meridian global rate limit budgets (${region.id})`,
      region: region.region,
      engine: "redis",
      engineVersion: "7.1",
      parameterGroupName: "default.redis7.cluster.on",
      clusterMode: "enabled",
      nodeType: cfg.nodeType,
      numNodeGroups: cfg.shards,
      replicasPerNodeGroup: cfg.replicasPerShard,
      automaticFailoverEnabled: true,
      multiAzEnabled: cfg.replicasPerShard > 0,
      subnetGroupName: network.subnetGroupName,
      ...(network.securityGroupIds.length ? { securityGroupIds: network.securityGroupIds } : {}),
      atRestEncryptionEnabled: true,
      transitEncryptionEnabled: true,
      authToken: token.result,
      port: MANAGED_CLUSTER_PORT,
      tags: { "part-of": "meridian", region: region.id, environment: spec.environment },
    },
    opts,
  );
  const nodes = pulumi.interpolate`${group.configurationEndpointAddress}:${MANAGED_CLUSTER_PORT}`;
  const password = pulumi.secret(token.result);
  return { resource: group, nodes, password, secretData: { nodes, password } };
}
