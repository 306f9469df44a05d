/**
 * The allocator's Redis Cluster when the stack asks for a managed one (allocatorRedisCluster.managed), created in the
 * ledger region (where the allocator runs) on that region's cloud. Each returns the keys of the Secret
 * `meridian-allocator-redis` the allocator's pods mount in every region (runtime-services.ts): `nodes`, the endpoint
 * the cluster client starts from (expanded into `--redis-cluster`), and `password` and/or `ca.crt` as the cloud needs
 * (model/workloads/ratelimit-config.ts MANAGED_CLUSTER_ACCESS), and for GCP the annotation naming the allocator's cloud identity.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as gcp from "@pulumi/gcp";
import * as random from "@pulumi/random";
import * as azureEnterprise from "@pulumi/azure-native/redisenterprise/index.js";
import * as azureNetwork from "@pulumi/azure-native/network/index.js";
import type { EstateSpec, Region } from "../../model/estate.js";
import { azurePrivateEndpointSecurityGroupName, azureRedisEnterprisePrivateDnsZone, azureSubnetId, azureVirtualNetworkId, azureVirtualNetworkName } from "../../model/network/azure.js";
import { allocatorPeering, allocatorVnetPeering, type AllocatorPeering, type AllocatorVnetPeering } from "../../model/network/peering.js";
import { runtimeService } from "../../model/services.js";
import { MANAGED_CLUSTER_ACCESS } from "../../model/workloads/ratelimit-config.js";
import { allocatorClusterSecurityGroup, allocatorVpcPeering } from "../network/peering.js";
import { allocatorClusterSecurityRules, allocatorPrivateDnsZone, allocatorVnetPeerings } from "../network/azure-peering.js";
import { gcpAccountId } from "../replication/identity.js";
import { cacheName } from "./cache.js";

export interface ManagedRedisCluster {
  resource: pulumi.CustomResource;
  /** The keys of the Secret `meridian-allocator-redis` every region running an allocator Deployment carries. */
  secretData: Record<string, pulumi.Output<string>>;
  /** For the allocator's Kubernetes ServiceAccount in every such region: the cloud identity it authenticates as (GCP). */
  serviceAccountAnnotations?: Record<string, pulumi.Output<string>>;
}

type Managed = NonNullable<NonNullable<EstateSpec["runtime"]["ratelimit"]["allocatorRedisCluster"]>["managed"]>;

export function managedRedisCluster(spec: EstateSpec, region: Region, opts: pulumi.CustomResourceOptions): ManagedRedisCluster {
  const managed = spec.runtime.ratelimit.allocatorRedisCluster?.managed;
  if (!managed) throw new Error("managedRedisCluster: the stack asks for no managed allocator cluster");
  const name = cacheName(spec.environment, `${region.id}-rl`);
  const labels = { "part-of": "meridian", region: region.id, environment: spec.environment };
  switch (region.cloud) {
    case "aws":
      return elasticacheCluster(spec, region, managed.aws, name, labels, opts);
    case "gcp":
      return memorystoreCluster(spec, region, managed.gcp, name, labels, opts);
    case "azure":
      return azureManagedRedis(spec, region, managed.azure, name, labels, opts);
  }
}

/**
 * ElastiCache replication group in cluster mode (its own redis7 parameter group: cluster-enabled, noeviction; automatic failover,
 * which cluster mode requires; Multi-AZ with replicas), TLS in transit with an AUTH token (40 alphanumerics: within
 * ElastiCache's 16–128 and its allowed characters), encrypted at rest, in the managed Redis's subnet group.
 */
function elasticacheCluster(spec: EstateSpec, region: Region, cfg: Managed["aws"], name: string, tags: Record<string, string>, opts: pulumi.CustomResourceOptions): ManagedRedisCluster {
  const network = spec.runtime.ratelimit.redis.aws;
  const { port } = MANAGED_CLUSTER_ACCESS.aws;
  const token = new random.RandomPassword(`${name}-auth`, { length: 40, special: false }, opts);
  // The cluster-mode default group (default.redis7.cluster.on) evicts volatile-lru: an evicted lease would be granted
  // twice, so the group's own parameters keep cluster mode and refuse writes under memory pressure instead.
  const parameters = new aws.elasticache.ParameterGroup(
    `${name}-params`,
    {
      name: `${name}-params`,
      family: "redis7",
      region: region.region,
      description: `Meridian global rate limit budgets (${region.id}): cluster mode, no eviction`,
      parameters: [
        { name: "cluster-enabled", value: "yes" },
        { name: "maxmemory-policy", value: "noeviction" },
      ],
      tags,
    },
    opts,
  );
  // Every other AWS region is a standby a failover scales up onto this cluster: its VPC is peered with the ledger's
  // (load refuses a stack that does not describe both VPCs or whose CIDRs overlap; stacks/semantic.ts).
  const peerings = spec.regions
    .filter((r) => r.cloud === "aws" && r.id !== region.id)
    .map((r) => {
      const p = allocatorPeering(spec, r.id);
      if (typeof p === "string") throw new Error(`managedRedisCluster: ${p}`);
      return p;
    });
  const peered = peerings.length ? standbyPath(name, peerings, port, opts) : [];
  const securityGroupIds = [...network.securityGroupIds, ...peered.map((g) => g.id)];
  const group = new aws.elasticache.ReplicationGroup(
    name,
    {
      replicationGroupId: name,
      description: `Meridian global rate limit budgets (${region.id})`,
      region: region.region,
      engine: "redis",
      engineVersion: "7.1",
      parameterGroupName: parameters.name,
      clusterMode: "enabled",
      nodeType: cfg.nodeType,
      numNodeGroups: cfg.shards,
      replicasPerNodeGroup: cfg.replicasPerShard,
      automaticFailoverEnabled: true,
      multiAzEnabled: cfg.replicasPerShard > 0,
      subnetGroupName: network.subnetGroupName,
      ...(securityGroupIds.length ? { securityGroupIds } : {}),
      atRestEncryptionEnabled: true,
      transitEncryptionEnabled: true,
      authToken: token.result,
      port,
      tags,
    },
    opts,
  );
  return { resource: group, secretData: { nodes: pulumi.interpolate`${group.configurationEndpointAddress}:${port}`, password: pulumi.secret(token.result) } };
}

/** The standbys' peerings and the cluster's security group admitting them (components/network/peering.ts). */
function standbyPath(name: string, peerings: AllocatorPeering[], port: number, opts: pulumi.CustomResourceOptions): aws.ec2.SecurityGroup[] {
  for (const p of peerings) allocatorVpcPeering(`${name}-peer-${p.standby.region.id}`, p, opts);
  return [
    allocatorClusterSecurityGroup(
      `${name}-clients`,
      peerings[0]!.ledger,
      peerings.map((p) => p.standby),
      port,
      opts,
    ),
  ];
}

/**
 * Memorystore for Redis Cluster, reached only through Private Service Connect endpoints in the replication VPC (a
 * service connection policy for the `gcp-memorystore-redis` class hands them addresses from `pscSubnetwork`), TLS with
 * server authentication: the Secret carries the cluster's own CA (`managedServerCas`) as `ca.crt`; zones spread; no
 * eviction.
 *
 * IAM authentication (AUTH_MODE_IAM_AUTH, which Memorystore allows only with TLS): a connection AUTHs with an OAuth2
 * access token of a principal holding `roles/redis.dbConnectionUser`. That principal is a Google service account of
 * the allocator's own, granted the role on the project (as the Memorystore docs grant it) and impersonable by the
 * allocator's Kubernetes ServiceAccount through GKE Workload Identity (`roles/iam.workloadIdentityUser` for
 * `<pool>.svc.id.goog[<namespace>/<account>]`, the KSA annotated `iam.gke.io/gcp-service-account`). The member names
 * the KSA in the project's workload pool, not one cluster: every GKE cluster of the pool — the ledger region's and a
 * GCP standby's — gets the same identity. The allocator writes the pod's token to a file and renews it before expiry
 * (`--redis-gcp-iam-token`, runtime/ratelimit/store/gcp-token.ts); its credential follower hands each new connection the
 * current one. No password exists to leak or rotate.
 */
function memorystoreCluster(spec: EstateSpec, region: Region, cfg: Managed["gcp"], name: string, labels: Record<string, string>, opts: pulumi.CustomResourceOptions): ManagedRedisCluster {
  const network = spec.replication.network.gcp.privateNetwork;
  const project = network.split("/")[1]!;
  const policy = new gcp.networkconnectivity.ServiceConnectionPolicy(
    `${name}-psc`,
    {
      name: `${name}-psc`,
      project,
      location: region.region,
      serviceClass: "gcp-memorystore-redis",
      network,
      pscConfig: { subnetworks: [`projects/${project}/regions/${region.region}/subnetworks/${cfg.pscSubnetwork}`] },
      labels,
    },
    opts,
  );
  const cluster = new gcp.redis.Cluster(
    name,
    {
      name,
      project,
      region: region.region,
      shardCount: cfg.shards,
      replicaCount: cfg.replicasPerShard,
      nodeType: cfg.nodeType,
      authorizationMode: "AUTH_MODE_IAM_AUTH",
      transitEncryptionMode: "TRANSIT_ENCRYPTION_MODE_SERVER_AUTHENTICATION",
      pscConfigs: [{ network }],
      zoneDistributionConfig: { mode: "MULTI_ZONE" },
      // Memorystore's default is volatile-lru: an evicted lease would be granted twice, so memory pressure refuses writes.
      redisConfigs: { "maxmemory-policy": "noeviction" },
      // The budgets are per window: the cluster may be recreated; only a stack change should delete it.
      deletionProtectionEnabled: true,
      labels,
    },
    { ...opts, dependsOn: [policy] },
  );
  const nodes = cluster.discoveryEndpoints.apply((endpoints) => {
    const e = endpoints[0];
    if (!e?.address) throw new Error(`${name}: Memorystore reported no discovery endpoint`);
    return `${e.address}:${e.port ?? MANAGED_CLUSTER_ACCESS.gcp.port}`;
  });
  const ca = cluster.managedServerCas.apply((cas) => cas.flatMap((c) => c.caCerts.flatMap((x) => x.certificates)).join("\n"));
  const allocator = runtimeService("allocator");
  const pool = spec.replication.identity.gcp.workloadPoolProject ?? project;
  const account = new gcp.serviceaccount.Account(
    `${name}-client`,
    { project, accountId: gcpAccountId(region.id, `${allocator.serviceAccount}-redis`), displayName: `Meridian allocator: IAM client of ${name}` },
    opts,
  );
  new gcp.serviceaccount.IAMMember(
    `${name}-client-wi`,
    { serviceAccountId: account.name, role: "roles/iam.workloadIdentityUser", member: `serviceAccount:${pool}.svc.id.goog[${allocator.namespace}/${allocator.serviceAccount}]` },
    opts,
  );
  new gcp.projects.IAMMember(
    `${name}-client-connect`,
    {
      project,
      role: "roles/redis.dbConnectionUser",
      member: account.member,
      // Granted on the project, as Memorystore's IAM auth documents it: the account may connect to every IAM cluster of
      // the project. It is the allocator's alone, so no other workload gains a cluster through it. Not narrowed by an
      // IAM condition on resource.name: https://cloud.google.com/memorystore/docs/cluster/about-iam-auth says bindings
      // can be restricted to a cluster without naming how, and the services whose resources carry resource attributes
      // (https://cloud.google.com/iam/docs/conditions-resource-attributes) do not include redis.googleapis.com —
      // "other services and resource types do not recognize resource attributes" — so such a condition could deny all.
    },
    opts,
  );
  return { resource: cluster, secretData: { nodes, "ca.crt": ca }, serviceAccountAnnotations: { "iam.gke.io/gcp-service-account": account.email } };
}

/**
 * Azure Managed Redis (the Redis Enterprise resource provider): a high-availability cluster of `sku` with TLS 1.2 and
 * no public network access, its one database (`default`, as the service names it) with the OSS cluster policy (the
 * Redis Cluster protocol the allocator's client speaks), TLS only, access-key authentication and no eviction (an
 * evicted lease would be granted twice); a private endpoint in the region's VNet, registered in the private DNS zone
 * its SKU's host names resolve through (linked to the ledger's VNet and every Azure standby's, whose VNets are peered
 * with the ledger's: components/network/azure-peering.ts). The Secret carries the primary key.
 */
function azureManagedRedis(spec: EstateSpec, region: Region, cfg: Managed["azure"], name: string, tags: Record<string, string>, opts: pulumi.CustomResourceOptions): ManagedRedisCluster {
  const resourceGroupName = spec.replication.network.azure.resourceGroupName;
  const { port } = MANAGED_CLUSTER_ACCESS.azure;
  const cluster = new azureEnterprise.RedisEnterprise(
    name,
    { clusterName: name, resourceGroupName, location: region.region, sku: { name: cfg.sku }, minimumTlsVersion: "1.2", publicNetworkAccess: "Disabled", highAvailability: "Enabled", tags },
    opts,
  );
  const database = new azureEnterprise.Database(
    `${name}-default`,
    {
      clusterName: name,
      resourceGroupName,
      databaseName: "default",
      clusteringPolicy: "OSSCluster",
      clientProtocol: "Encrypted",
      port,
      evictionPolicy: "NoEviction",
      accessKeysAuthentication: "Enabled",
    },
    { ...opts, dependsOn: [cluster] },
  );
  const endpoint = new azureNetwork.PrivateEndpoint(
    `${name}-pe`,
    {
      privateEndpointName: `${name}-pe`,
      resourceGroupName,
      location: region.region,
      subnet: { id: azureSubnetId(spec.replication.network.azure, region.region, cfg.privateEndpointSubnetName) },
      privateLinkServiceConnections: [{ name: `${name}-redis`, privateLinkServiceId: cluster.id, groupIds: ["redisEnterprise"] }],
      tags,
    },
    opts,
  );
  const azure = spec.replication.network.azure;
  // Every other Azure region is a standby a failover scales up onto this cluster (load refuses a stack that gives no
  // address space for either VNet, or overlapping ones: stacks/semantic.ts); one in the ledger's own VNet needs no peering.
  const peerings = spec.regions
    .filter((r) => r.cloud === "azure" && r.id !== region.id)
    .map((r) => {
      const p = allocatorVnetPeering(spec, r.id);
      if (typeof p === "string") throw new Error(`managedRedisCluster: ${p}`);
      return p;
    })
    .filter((p) => p.standby.id !== p.ledger.id);
  const ledgerVnet = { region, name: azureVirtualNetworkName(azure, region.region), id: azureVirtualNetworkId(azure, region.region) };
  const zone = allocatorPrivateDnsZone(name, azureRedisEnterprisePrivateDnsZone(cfg.sku), [ledgerVnet, ...peerings.map((p) => p.standby)], resourceGroupName, opts);
  new azureNetwork.PrivateDnsZoneGroup(
    `${name}-pe-dns`,
    { resourceGroupName, privateEndpointName: `${name}-pe`, privateDnsZoneGroupName: "default", privateDnsZoneConfigs: [{ name: "redis", privateDnsZoneId: zone.id }] },
    { ...opts, dependsOn: [endpoint] },
  );
  if (peerings.length) standbyVnetPath(name, spec, region, peerings, resourceGroupName, opts);
  // Listed once the database exists (its id known), by the names given above.
  const keys = azureEnterprise.listDatabaseKeysOutput({ clusterName: database.id.apply(() => name), databaseName: "default", resourceGroupName }, opts);
  return { resource: cluster, secretData: { nodes: pulumi.interpolate`${cluster.hostName}:${port}`, password: pulumi.secret(keys.primaryKey) } };
}

/** The standbys' VNet peerings and the ledger's private-endpoint NSG rules admitting them (components/network/azure-peering.ts). */
function standbyVnetPath(name: string, spec: EstateSpec, region: Region, peerings: AllocatorVnetPeering[], resourceGroupName: string, opts: pulumi.CustomResourceOptions): void {
  const pairs = allocatorVnetPeerings(`${name}-peer`, peerings, resourceGroupName, opts);
  allocatorClusterSecurityRules(
    `${name}-clients`,
    azurePrivateEndpointSecurityGroupName(spec.replication.network.azure, region.region),
    peerings.map((peering, i) => ({ peering, over: pairs[i]! })),
    MANAGED_CLUSTER_ACCESS.azure.nodePorts,
    resourceGroupName,
    opts,
  );
}
