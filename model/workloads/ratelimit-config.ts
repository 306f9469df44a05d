/**
 * The rate limit services' and the global allocator's configuration, computed from the estate model: the
 * estate-wide limit as envoyproxy/ratelimit YAML (one `global: true` limit, or regional shares for `meridian local`),
 * the allocator's file, and how the allocator reaches a managed Redis Cluster on each cloud. Pure, like config.ts.
 * Invariant: the regions' rate-limit shares sum to exactly `runtime.ratelimit.requestsPerSecond`.
 */
import { stringify } from "yaml";
import { regionById, type Cloud, type EstateSpec } from "../estate.js";
import { runtimeService, spiffeId } from "../services.js";
import { ledgerRegion, serviceUrl } from "./config.js";

/**
 * Split `total` over regions in proportion to their capacity by the largest-remainder method (ties go
 * to the region listed first), so shares are whole requests and sum to `total` exactly.
 */
export function rateLimitShares(spec: Pick<EstateSpec, "regions" | "runtime">): Record<string, number> {
  const total = Math.floor(spec.runtime.ratelimit.requestsPerSecond);
  const capacity = spec.regions.reduce((s, r) => s + r.capacity, 0);
  const exact = spec.regions.map((r, i) => ({ id: r.id, i, q: (total * r.capacity) / capacity }));
  const shares = new Map(exact.map((e) => [e.id, Math.floor(e.q)]));
  let left = total - [...shares.values()].reduce((s, n) => s + n, 0);
  for (const e of [...exact].sort((a, b) => b.q - Math.floor(b.q) - (a.q - Math.floor(a.q)) || a.i - b.i)) {
    if (left-- <= 0) break;
    shares.set(e.id, shares.get(e.id)! + 1);
  }
  return Object.fromEntries(shares);
}

export interface RateLimitRegionConfig {
  domain: string;
  region: string;
  requestsPerSecond: number;
  /** envoyproxy/ratelimit YAML (`domain`, `descriptors`, `rate_limit {unit, requests_per_unit}`). */
  yaml: string;
}

/** The descriptor the gateway sends for estate-wide traffic: `generic_key=<domain>`. */
export const ESTATE_DESCRIPTOR = { key: "generic_key" } as const;

export function rateLimitRegionConfig(spec: EstateSpec, regionId: string): RateLimitRegionConfig {
  regionById(spec, regionId);
  const { domain } = spec.runtime.ratelimit;
  const requestsPerSecond = rateLimitShares(spec)[regionId]!;
  const document = {
    domain,
    descriptors: [{ key: ESTATE_DESCRIPTOR.key, value: domain, rate_limit: { name: `${domain}-${regionId}`, unit: "second", requests_per_unit: requestsPerSecond } }],
  };
  return { domain, region: regionId, requestsPerSecond, yaml: stringify(document) };
}

/**
 * The rules the deployed rate limit services enforce: the estate-wide limit as one `global: true` limit of
 * `runtime.ratelimit.requestsPerSecond`, whose per-second budgets every region's replicas take from the allocator
 * (allocatorServiceConfig) — so the regions together admit exactly the limit each second and a busy region may
 * spend what an idle one does not. (`meridian local` still splits it into regional shares: rateLimitRegionConfig.)
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
  const auth = managed ? (managed.auth ? "password" : "none") : cluster?.auth;
  return {
    redisPrefix: "mrl:alloc:",
    // A Redis Cluster the stack names holds the budgets instead (one hash slot per limit: redis-budget.ts); a managed
    // one's nodes are its configuration endpoint, known once it exists: the pod's args carry them (service-parts.ts).
    ...(cluster ? { store: "redis" as const, ...(cluster.nodes ? { redisCluster: cluster.nodes } : {}) } : {}),
    // TLS and credentials from the mounted Secret's files: the file names the paths, never the values.
    ...(cluster?.tls ? { redisTls: { ...(ca ? { caFile: secret("ca.crt") } : {}), ...(cluster.serverName ? { serverName: cluster.serverName } : {}) } } : {}),
    ...(cluster && auth !== "none" ? { redisAuth: { ...(auth === "user" ? { usernameFile: secret("username") } : {}), passwordFile: secret("password") } } : {}),
    callers: [spiffeId(spec.pki.trustDomain, runtimeService("ratelimit"))],
  };
}

/** Where the allocator's pods mount the Secret `meridian-allocator-redis` (its Redis Cluster's credentials). */
export const ALLOCATOR_REDIS_SECRET_DIR = "/etc/meridian/allocator/redis";

/** A port, or a range of them (a NetworkPolicy port with endPort). */
export type PortOrRange = number | { port: number; endPort: number };

/**
 * How the allocator reaches a managed Redis Cluster on each cloud: the endpoint's port (its `nodes`), the ports its
 * nodes answer on (the allocator's egress), whether the Secret carries the cluster's CA (`ca.crt`) and an AUTH
 * password. ElastiCache: every node on the group's port, Amazon-trusted certificates, an AUTH token. Memorystore for
 * Redis Cluster: the discovery endpoint on 6379 and the nodes' PSC endpoints on 11000–13047, certificates from the
 * cluster's own CA, no AUTH (components/workloads/allocator-cluster.ts says why). Azure Managed Redis with the OSS
 * cluster policy: the endpoint on 10000 and each node on a port of 8500–8599, publicly trusted certificates, the
 * database's access key.
 */
export const MANAGED_CLUSTER_ACCESS = {
  aws: { port: 6379, nodePorts: [6379], ca: false, auth: true },
  gcp: { port: 6379, nodePorts: [6379, { port: 11000, endPort: 13047 }], ca: true, auth: false },
  azure: { port: 10000, nodePorts: [10000, { port: 8500, endPort: 8599 }], ca: false, auth: true },
} as const satisfies Record<Cloud, { port: number; nodePorts: readonly PortOrRange[]; ca: boolean; auth: boolean }>;

/** The cloud a managed allocator cluster is built on: the ledger region's, where the allocator runs. */
export function managedClusterCloud(spec: EstateSpec): Cloud {
  return regionById(spec, ledgerRegion(spec)).cloud;
}

/** The allocator's in-cluster URL: its pods run in the ledger region, and the mesh routes every region's calls there. */
export const allocatorUrl = (): string => serviceUrl("allocator");
