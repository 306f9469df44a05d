/**
 * The regional gateway's routes, from the model: which public paths reach which runtime service, and
 * what each health signal the DNS providers probe is made of. Every provider's health check probes a
 * path listed here with the service's host name, so the plan can show that every probed path is served.
 * Pure: the gateway component renders these as Istio Gateway/VirtualService routes and the health
 * aggregator's config file.
 * Invariant: every signal path of the traffic policy (and the serving path) has exactly one route.
 */
import { NAMESPACES, serviceFqdn, type EstateSpec } from "../estate.js";
import { runtimeService, serviceHost, type ServiceName, type WorkloadIdentity } from "../services.js";
import { trafficPolicy } from "../traffic/policy.js";
import { SINGLE_WRITER, workloadSpec } from "./spec.js";
import { ledgerRegion } from "./config.js";

/** A public API route: requests whose path starts with `prefix` go to `service` (prefix kept). */
export interface ApiRoute {
  prefix: string;
  service: ServiceName;
  /** Read-only routes answer GET and HEAD only. */
  methods: "any" | "read";
  /** The prefix the service serves these paths under, when it is not `prefix` (the gateway rewrites it). */
  rewrite?: string;
}

/**
 * The public API behind the gateway (the clock is internal: only services call it; the global allocator's
 * `/v1/allocator` is the regional limiters' own protocol, not a public one).
 */
export const API_ROUTES: readonly ApiRoute[] = [
  { prefix: "/v1/inventory", service: "escrow", methods: "any" },
  { prefix: "/v1/reservations", service: "escrow", methods: "any" },
  // Read-only: the store's status and the domain names. A check (POST /v1/ratelimit) names and charges its buckets
  // from the body, so it is never taken from the internet; the gateway's own Envoy asks over gRPC ShouldRateLimit with
  // descriptors it builds from the request (gateway-ratelimit.ts), and in-cluster callers POST over the mesh.
  { prefix: "/v1/ratelimit", service: "ratelimit", methods: "read" },
  // Tenant administrators and their schedulers: the quota service checks their JWTs per route.
  { prefix: "/v1/quota", service: "quota", methods: "any" },
  // Tenants' proven reads of their quota state (batch proofs are a POST; writes are the quota service's alone).
  { prefix: "/v1/maps", service: "map", methods: "any" },
  { prefix: "/checkpoint", service: "prooflog", methods: "read" },
  { prefix: "/tile/", service: "prooflog", methods: "read" },
  { prefix: "/proof/", service: "prooflog", methods: "read" },
  // The monitor publishes what it verified and any equivocation evidence to anyone, and takes gossip from anyone:
  // a gossiped checkpoint counts only once it verifies under the log's key (runtime/prooflog/monitor).
  { prefix: "/monitor/", service: "monitor", methods: "any", rewrite: "/v1/" },
];

/** The VirtualService route's name (Envoy keeps it as the route's name, so an EnvoyFilter can select it). */
export function apiRouteName(r: ApiRoute): string {
  return `${r.service}${r.prefix.replace(/[^a-z0-9]+/g, "-").replace(/-$/, "")}`;
}

/** One upstream readiness probe of a signal: the service's own `/readyz`. */
export interface HealthProbe {
  name: string;
  url: string;
}

export interface HealthSignalRoute {
  name: string;
  path: string;
  /** Empty: the gateway itself answers (reaching it through the load balancer is the signal). */
  probes: HealthProbe[];
}

/** Names a signal may have beyond the runtime services: the gateway alone, or everything the region serves. */
const GATEWAY_SIGNAL = "gateway";

/**
 * A service's own readiness over HTTP: the path its readiness probe asks, else the `/readyz` every
 * service serves.
 */
function readinessOf(spec: EstateSpec, regionId: string, name: ServiceName): HealthProbe {
  const s = runtimeService(name);
  const probe = workloadSpec(spec, regionId, s).readiness;
  const path = probe.kind === "http" && probe.path ? probe.path : "/readyz";
  return { name, url: `http://${serviceHost(s)}:${s.ports[0]!.port}${path}` };
}

/** The services a health signal may probe (the tenants' quota service serves no public traffic of its own). */
export const HEALTH_PROBED_SERVICES: readonly ServiceName[] = ["escrow", "ratelimit", "prooflog", "clock"];

/** Services running in a region (a single writer runs in the ledger region only). */
function servingServices(spec: EstateSpec, regionId: string): ServiceName[] {
  return HEALTH_PROBED_SERVICES.filter((s) => !SINGLE_WRITER.has(s) || regionId === ledgerRegion(spec));
}

/**
 * Every signal path the DNS providers probe, with what it is made of: a runtime service's name probes
 * that service; `gateway` is answered by the gateway; `replication` probes the region's replication
 * monitor; any other name (the default `serving` signal) is every service the region runs.
 */
function healthSignalRoutes(spec: EstateSpec, regionId: string): HealthSignalRoute[] {
  const policy = trafficPolicy(spec);
  const services = servingServices(spec, regionId);
  const readyzOf = (name: ServiceName) => readinessOf(spec, regionId, name);
  const routes = policy.signals.map((signal): HealthSignalRoute => {
    if (signal.name === GATEWAY_SIGNAL) return { name: signal.name, path: signal.path, probes: [] };
    if ((services as string[]).includes(signal.name)) return { name: signal.name, path: signal.path, probes: [readyzOf(signal.name as ServiceName)] };
    if (signal.name === "replication") return { name: signal.name, path: signal.path, probes: [REPLICATION_MONITOR_PROBE] };
    return { name: signal.name, path: signal.path, probes: services.map(readyzOf) };
  });
  // The serving path (the default signal) is always answered, even when signals name other paths.
  if (!routes.some((r) => r.path === spec.dns.healthCheck.path)) {
    routes.push({ name: "serving", path: spec.dns.healthCheck.path, probes: services.map(readyzOf) });
  }
  return routes;
}

/** The replication monitor (components/replication) answers `/readyz` while replication lag is within bounds. */
export const REPLICATION_MONITOR = { name: "replication-monitor", namespace: "meridian", port: 8080 } as const;
export const REPLICATION_MONITOR_IDENTITY: WorkloadIdentity = { namespace: REPLICATION_MONITOR.namespace, serviceAccount: REPLICATION_MONITOR.name };
export const REPLICATION_MONITOR_POD_SELECTOR: Record<string, string> = { app: REPLICATION_MONITOR.name };
export const REPLICATION_MONITOR_READINESS = "/readyz";
export const REPLICATION_MONITOR_PROBE: HealthProbe = {
  name: "replication",
  url: `http://${REPLICATION_MONITOR.name}.${REPLICATION_MONITOR.namespace}.svc.cluster.local:${REPLICATION_MONITOR.port}${REPLICATION_MONITOR_READINESS}`,
};

/** Host names the gateway answers for in a region: the service's name and the region's own name. */
export function gatewayHosts(spec: EstateSpec, regionId: string): string[] {
  return [serviceFqdn(spec), `${regionId}.${serviceFqdn(spec)}`];
}

/**
 * The health aggregator (runtime/health, `meridian health serve`) behind the gateway: the gateway rewrites
 * each signal path to it. It runs beside the gateway with an identity of its own, the only one that may
 * call the services' readiness routes through the mesh.
 */
export const HEALTH_AGGREGATOR = { name: "meridian-health", namespace: NAMESPACES.gateway, port: 8080 } as const;
export const HEALTH_IDENTITY: WorkloadIdentity = { namespace: HEALTH_AGGREGATOR.namespace, serviceAccount: HEALTH_AGGREGATOR.name };
export const HEALTH_POD_SELECTOR: Record<string, string> = { app: HEALTH_AGGREGATOR.name };
export const HEALTH_HOST = `${HEALTH_AGGREGATOR.name}.${HEALTH_AGGREGATOR.namespace}.svc.cluster.local`;

/** The aggregator's config file (runtime/health's healthConfigSchema): one signal per probed path. */
export interface HealthAggregatorConfig {
  region: string;
  probeTimeoutMs: number;
  signals: HealthSignalRoute[];
}

export function healthAggregatorConfig(spec: EstateSpec, regionId: string): HealthAggregatorConfig {
  // Answer within the DNS providers' own timeout, with room for the hop through the gateway.
  const probeTimeoutMs = Math.min(2000, Math.floor((spec.dns.healthCheck.timeoutSeconds * 1000) / 2));
  return { region: regionId, probeTimeoutMs, signals: healthSignalRoutes(spec, regionId) };
}

/**
 * What the aggregator may ask each service through the mesh: GET on its readiness path (the same in every
 * region), for the per-route AuthorizationPolicies.
 */
export function healthProbePaths(spec: EstateSpec): Partial<Record<ServiceName, string>> {
  const region = ledgerRegion(spec);
  return Object.fromEntries(servingServices(spec, region).map((name) => [name, new URL(readinessOf(spec, region, name).url).pathname]));
}
