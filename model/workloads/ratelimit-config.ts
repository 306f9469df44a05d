/**
 * The rate limit services' and the global allocator's configuration, computed from the estate model: the
 * estate-wide limit as envoyproxy/ratelimit YAML (one `global: true` limit; the regional shares `meridian local`
 * runs are ratelimit-shares.ts's), the allocator's file, and how the allocator reaches a managed Redis Cluster on
 * each cloud. Pure, like config.ts.
 */
import { stringify } from "yaml";
import { regionById, type Cloud, type EstateSpec } from "../estate.js";
import { regionIdentity, runtimeService, spiffeId } from "../services.js";
import { allocatorPeering, allocatorVnetPeering } from "../network/peering.js";
import { ledgerRegion, serviceUrl } from "./config.js";
import { ESTATE_DESCRIPTOR } from "./ratelimit-shares.js";

/**
 * The rules the deployed rate limit services enforce: the estate-wide limit as one `global: true` limit of
 * `runtime.ratelimit.requestsPerSecond`, whose per-second budgets every region's replicas take from the allocator
 * (allocatorServiceConfig) — so the regions together admit exactly the limit each second and a busy region may
 * spend what an idle one does not. (`meridian local` still splits it into regional shares: ratelimit-shares.ts.)
 */
export function rateLimitEstateConfig(spec: EstateSpec): { domain: string; requestsPerSecond: number; yaml: string } {
  const { domain } = spec.runtime.ratelimit;
  const requestsPerSecond = Math.floor(spec.runtime.ratelimit.requestsPerSecond);
  const document = {
    domain,
    descriptors: [{ key: ESTATE_DESCRIPTOR.key, value: domain, rate_limit: { name: domain, unit: "second", requests_per_unit: requestsPerSecond, global: true } }],
  };
  return { domain, requestsPerSecond, yaml: stringify(document) };
}

/**
 * The file `meridian ratelimit allocator --config` reads (runtime/ratelimit/global/server.ts's schema): no Doorman
 * resources, the per-window budgets alone, kept in Redis (`--redis`, the ledger region's managed Redis) so its replicas
 * share them and a restarted pod loses nothing, and the rate limit services as its only callers.
 */
export function allocatorServiceConfig(spec: EstateSpec) {
  const cluster = spec.runtime.ratelimit.allocatorRedisCluster;
  const secret = (key: string) => `${ALLOCATOR_REDIS_SECRET_DIR}/${key}`;
  // A managed cluster is reached as its cloud requires (MANAGED_CLUSTER_ACCESS); an existing one as the stack says.
  const managed = cluster?.managed ? MANAGED_CLUSTER_ACCESS[managedClusterCloud(spec)] : undefined;
  const ca = managed ? managed.ca : cluster?.ca;
  const auth = managed ? managed.auth : cluster?.auth;
  return {
    redisPrefix: "mrl:alloc:",
    // A Redis Cluster the stack names holds the budgets instead (one hash slot per limit: redis-budget.ts); a managed
    // one's nodes are its configuration endpoint, known once it exists: the pod's args carry them (service-parts.ts).
    ...(cluster ? { store: "redis" as const, ...(cluster.nodes ? { redisCluster: cluster.nodes } : {}) } : {}),
    // TLS and credentials from the mounted Secret's files: the file names the paths, never the values.
    ...(cluster?.tls ? { redisTls: { ...(ca ? { caFile: secret("ca.crt") } : {}), ...(cluster.serverName ? { serverName: cluster.serverName } : {}) } } : {}),
    // An IAM-authenticated cluster's password is the pod's access token, which the allocator itself writes and renews
    // (`--redis-gcp-iam-token`, allocatorTokenArgs) into a file of the pod's own /tmp; the others' are Secret files.
    ...(auth === "iam"
      ? { redisAuth: { passwordFile: GCP_IAM_TOKEN_FILE } }
      : cluster && auth !== "none"
        ? { redisAuth: { ...(auth === "user" ? { usernameFile: secret("username") } : {}), passwordFile: secret("password") } }
        : {}),
    // Every region's limiter by its own SPIFFE ID (its own service account: regionIdentity); the allocator holds each
    // one's budgets under that ID (`<SPIFFE ID>#<client>`), so no region's limiter reaches another region's.
    callers: spec.regions.map((r) => spiffeId(spec.pki.trustDomain, regionIdentity(runtimeService("ratelimit"), r.id))),
  };
}

/** Where the allocator's pods mount the Secret `meridian-allocator-redis` (its Redis Cluster's credentials). */
export const ALLOCATOR_REDIS_SECRET_DIR = "/etc/meridian/allocator/redis";

/** Where an allocator on an IAM-authenticated Memorystore cluster keeps its access token: the pod's /tmp (an emptyDir). */
export const GCP_IAM_TOKEN_FILE = "/tmp/redis-iam/token";

/**
 * Where the token comes from: the GKE metadata server, which pods reach at 169.254.169.254:80 and which GKE's
 * Workload Identity serves on port 988 (169.254.169.252 with Dataplane V2): the allocator's egress opens both.
 */
export const GKE_METADATA_PORTS: PortOrRange[] = [80, 988];

/** The allocator's extra args for its managed cluster: on GCP (IAM authentication) it fetches and renews its own token. */
export function allocatorTokenArgs(spec: EstateSpec): string[] {
  const cluster = spec.runtime.ratelimit.allocatorRedisCluster;
  return cluster?.managed && MANAGED_CLUSTER_ACCESS[managedClusterCloud(spec)].auth === "iam" ? ["--redis-gcp-iam-token", GCP_IAM_TOKEN_FILE] : [];
}

/** A port, or a range of them (a NetworkPolicy port with endPort). */
export type PortOrRange = number | { port: number; endPort: number };

/**
 * How the allocator reaches a managed Redis Cluster on each cloud: the endpoint's port (its `nodes`), the ports its
 * nodes answer on (the allocator's egress), whether the Secret carries the cluster's CA (`ca.crt`), and how the
 * allocator authenticates: `password`, a Secret's AUTH password; `iam`, its own OAuth2 access token. ElastiCache: every
 * node on the group's port, Amazon-trusted certificates, an AUTH token. Memorystore for Redis Cluster: the discovery
 * endpoint on 6379 and the nodes' PSC endpoints on 11000–13047, certificates from the cluster's own CA, IAM
 * authentication (components/workloads/allocator-cluster.ts). Azure Managed Redis with the OSS cluster policy: the
 * endpoint on 10000 and each node on a port of 8500–8599, publicly trusted certificates, the database's access key.
 */
export const MANAGED_CLUSTER_ACCESS = {
  aws: { port: 6379, nodePorts: [6379], ca: false, auth: "password" },
  gcp: { port: 6379, nodePorts: [6379, { port: 11000, endPort: 13047 }], ca: true, auth: "iam" },
  azure: { port: 10000, nodePorts: [10000, { port: 8500, endPort: 8599 }], ca: false, auth: "password" },
} as const satisfies Record<Cloud, { port: number; nodePorts: readonly PortOrRange[]; ca: boolean; auth: "password" | "iam" }>;

/** The cloud a managed allocator cluster is built on: the ledger region's, where the allocator runs. */
export function managedClusterCloud(spec: EstateSpec): Cloud {
  return regionById(spec, ledgerRegion(spec)).cloud;
}

/**
 * Why a standby allocator on another cloud than the ledger's cannot reach the ledger's managed cluster: the cluster
 * has only private addresses of the ledger cloud's network, which the plan routes to no other cloud (its site-to-site
 * VPNs carry replication between database networks, not the allocator's), and on GCP its credential exists only there.
 */
const CROSS_CLOUD: Record<Cloud, string> = {
  aws: "its ElastiCache nodes have only private addresses of the ledger's VPC, which the plan peers with AWS VPCs alone",
  gcp: "it authenticates with a GKE Workload Identity access token, which only GKE pods obtain, and its Private Service Connect endpoints are addresses of the GCP VPC that no other cloud is routed to",
  azure: "its private endpoint is an address of the ledger's VNet, which the plan peers with Azure VNets alone",
};

/**
 * Why a standby allocator in `regionId` (its Deployment at 0 replicas, scaled up after a failover) could not use the
 * ledger region's managed cluster as the plan builds it, or undefined when it can. One rule for every cloud: a standby
 * on another cloud has no path (CROSS_CLOUD). On one cloud: GCP's VPC is global, Memorystore serves clients in other
 * regions, and every GKE cluster of the workload pool mints the same identity's token; AWS peers the two regions' VPCs
 * (model/network/peering.ts: refused when the stack does not describe them or their CIDRs overlap); Azure peers the
 * two regions' VNets both ways and links the private endpoint's DNS zone to the standby's VNet (refused when the
 * stack gives no address space for either VNet or they overlap).
 */
export function standbyClusterPathProblem(spec: EstateSpec, regionId: string): string | undefined {
  const cloud = managedClusterCloud(spec);
  const standby = regionById(spec, regionId);
  const ledger = ledgerRegion(spec);
  const cannot = `a standby allocator in ${regionId} (${standby.cloud}) cannot reach the ledger region ${ledger}'s ${MANAGED_CLUSTER_NAMES[cloud]}`;
  const instead = "give allocatorRedisCluster.nodes (a cluster every region reaches)";
  if (standby.cloud !== cloud) return `${cannot}: ${CROSS_CLOUD[cloud]} — keep every region on ${cloud}, or ${instead}`;
  if (cloud === "aws") {
    const peering = allocatorPeering(spec, regionId);
    return typeof peering === "string" ? `${cannot} over a VPC peering: ${peering}` : undefined;
  }
  if (cloud === "azure") {
    const peering = allocatorVnetPeering(spec, regionId);
    return typeof peering === "string" ? `${cannot} over a global VNet peering: ${peering}` : undefined;
  }
  return undefined;
}

const MANAGED_CLUSTER_NAMES: Record<Cloud, string> = { aws: "ElastiCache cluster", gcp: "Memorystore cluster", azure: "Azure Managed Redis cluster" };

/** The allocator's in-cluster URL: its pods run in the ledger region, and the mesh routes every region's calls there. */
export const allocatorUrl = (): string => serviceUrl("allocator");
