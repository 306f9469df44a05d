/**
 * One managed Redis per region, on the region's cloud and only on private networking: an ElastiCache
 * replication group (Multi-AZ, TLS in transit, encrypted at rest) in the estate's cache subnet group,
 * a Memorystore instance reached through private services access on the replication VPC, or an Azure
 * Cache for Redis with public access disabled behind a private endpoint, in the replication resource
 * group. Each returns the connection URL (a secret output) the runtime's `--redis` flag takes.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as gcp from "@pulumi/gcp";
import * as azureRedis from "@pulumi/azure-native/redis/index.js";
import * as azureNetwork from "@pulumi/azure-native/network/index.js";
import type { EstateSpec, Region } from "../../model/estate.js";
import { azureSubnetId } from "../../model/network/azure.js";

export interface ManagedRedis {
  /** The resource the region's runtime reaches Redis through. */
  resource: pulumi.CustomResource;
  /** `redis://` or `rediss://` URL with credentials, as a secret. */
  url: pulumi.Output<string>;
}

/** Provider-safe cache name: `meridian-prod-aws-use1` (ElastiCache ids ≤ 40, Memorystore ≤ 40). */
export function cacheName(environment: string, regionId: string): string {
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
