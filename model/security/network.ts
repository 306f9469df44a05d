/**
 * NetworkPolicies (networking.k8s.io/v1) for one regional cluster: every Meridian namespace denies all
 * ingress and egress by default, then allows exactly what its pods need. Meridian's own pods get allows
 * per service, derived from the service catalogue's callers (model/services.ts) and each workload's stores;
 * chart-managed namespaces (cert-manager, SPIRE, Istio, monitoring) get namespace-wide allows per port, since
 * their pod labels are the charts' to choose.
 *
 * Addresses the plan cannot know — the API server's endpoint, managed Postgres and Redis (private endpoints
 * outside the cluster), node IPs of host-network pods — are allowed by port only. NetworkPolicy works below the
 * mesh: it names the destination port the client dialled, which a sidecar preserves, so the allow-lists here
 * and the AuthorizationPolicies (by SPIFFE ID and route) both have to pass.
 */
import type { Cloud } from "../config/vocabulary.js";
import { GATEWAY, NAMESPACES, type EstateSpec, type NamespaceRole } from "../estate.js";
import { SERVICE_ROUTES } from "./routes.js";
import { GATEWAY_POD_SELECTOR, OPERATOR_IDENTITY, OPERATOR_POD_SELECTOR, RUNTIME_SERVICES, callerIdentity, podSelector, type Caller, type RuntimeService, type ServiceName } from "../services.js";
import { GRANDMASTER, TIME_AGENT, timeHierarchy } from "../time/hierarchy.js";
import { regionWorkloads } from "../workloads/spec.js";
import type { PortOrRange } from "../workloads/ratelimit-config.js";
import { HEALTH_AGGREGATOR, HEALTH_POD_SELECTOR, HEALTH_PROBED_SERVICES, REPLICATION_MONITOR, REPLICATION_MONITOR_POD_SELECTOR } from "../workloads/gateway.js";
import { MERGED_METRICS } from "./istio-injection.js";
import { EAST_WEST_GATEWAY } from "../mesh/multi-primary.js";
import { NAMESPACE_POSTURE } from "./posture.js";

type Protocol = "TCP" | "UDP";
interface Port {
  protocol: Protocol;
  port: number;
  /** The last port of a range from `port` (NetworkPolicy endPort). */
  endPort?: number;
}
interface Peer {
  namespaceSelector?: { matchLabels: Record<string, string> };
  podSelector?: { matchLabels: Record<string, string> };
  ipBlock?: { cidr: string };
}
interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: Port[];
}
export interface NetworkPolicyShape {
  apiVersion: "networking.k8s.io/v1";
  kind: "NetworkPolicy";
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: { podSelector: { matchLabels?: Record<string, string> }; policyTypes: ("Ingress" | "Egress")[]; ingress?: Rule[]; egress?: Rule[] };
}

export const POSTGRES_PORT = 5432;
/** Managed Redis: ElastiCache and Memorystore on 6379; Azure Cache for Redis serves TLS on 6380 only (non-TLS port disabled). */
export function redisPort(cloud: Cloud): number {
  return cloud === "azure" ? 6380 : 6379;
}
export const ISTIOD_PORTS = { xds: 15012, webhook: 15017, monitoring: 15014 } as const;
export const ENVOY_STATS_PORT = 15090;
const CERT_MANAGER_PORTS = { webhook: 10250, metrics: 9402 } as const;
export const SPIRE_PORTS = { server: 8081, webhook: 9443, metrics: 9988 } as const;
const X509_EXPORTER_PORT = 9793;
/** cert-manager checks DNS-01 propagation against these public resolvers (components/pki/cert-manager.ts). */
const PUBLIC_RESOLVERS = ["1.1.1.1", "8.8.8.8"] as const;

const tcp = (port: number): Port => ({ protocol: "TCP", port });
const inNamespace = (ns: string): Peer => ({ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } } });
const pods = (ns: string, labels: Record<string, string>): Peer => ({ ...inNamespace(ns), podSelector: { matchLabels: labels } });
const KUBE_DNS: Rule = { to: [pods("kube-system", { "k8s-app": "kube-dns" })], ports: [{ protocol: "UDP", port: 53 }, tcp(53)] };
/** The API server's address differs per cloud and is not a pod: allowed by port. */
const API_SERVER: Rule = { ports: [tcp(443), tcp(6443)] };
const ISTIOD: Rule = { to: [pods(NAMESPACES.istio, { app: "istiod" })], ports: [tcp(ISTIOD_PORTS.xds)] };
const PROMETHEUS: Peer = inNamespace(NAMESPACES.monitoring);
/** The east-west gateway's pods: they pass a peer region's sidecar mTLS through to the pod (AUTO_PASSTHROUGH). */
const EAST_WEST_PODS: Peer = pods(NAMESPACES.istio, { ...EAST_WEST_GATEWAY.selector });
/** Services some other service calls: in a multi-cluster mesh those callers may be in another region. */
const CROSS_REGION_TARGETS = RUNTIME_SERVICES.filter((t) => t.callers.some((c) => "service" in c));

export interface RegionNetworkInputs {
  cloud: Cloud;
  /** Which stores each runtime service of the region uses (model/workloads). */
  stores: Partial<Record<ServiceName, { redis: boolean; postgres: boolean; redisCluster?: PortOrRange[] }>>;
  grandmaster: boolean;
  /** The grandmaster is a relay (cloud regions): it polls its references over NTP, so its pods need UDP 123 out. */
  grandmasterRelay?: boolean;
  /** The cluster is one of several primaries (model/mesh/multi-primary.ts): service-to-service calls cross east-west gateways. */
  multiCluster?: boolean;
}

function policy(namespace: string, name: string, selector: Record<string, string> | null, ingress: Rule[] | null, egress: Rule[] | null): NetworkPolicyShape {
  const types: ("Ingress" | "Egress")[] = [...(ingress ? (["Ingress"] as const) : []), ...(egress ? (["Egress"] as const) : [])];
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace, labels: { "app.kubernetes.io/part-of": "meridian", "meridian.dev/policy": "network" } },
    spec: { podSelector: selector ? { matchLabels: selector } : {}, policyTypes: types, ...(ingress ? { ingress } : {}), ...(egress ? { egress } : {}) },
  };
}

/** Deny everything in and out of the namespace; the allows below are additive. */
function defaultDeny(ns: string): NetworkPolicyShape {
  return policy(ns, "default-deny", null, [], []);
}

/** Every pod: DNS, and for meshed namespaces the sidecar's xDS/CA connection and the merged-metrics scrape. */
function baseline(role: NamespaceRole): NetworkPolicyShape {
  const ns = NAMESPACES[role];
  const meshed = NAMESPACE_POSTURE[role].injection;
  return policy(ns, "allow-dns-and-mesh", null, meshed ? [{ from: [PROMETHEUS], ports: [tcp(MERGED_METRICS.port), tcp(ENVOY_STATS_PORT)] }] : [], meshed ? [KUBE_DNS, ISTIOD] : [KUBE_DNS]);
}

/** Where a caller's connections come from: a catalogued service's pods, the gateway's, or the SPIRE pods that hold the identity. */
function callerPeer(c: Caller): Peer {
  if ("spire" in c) return pods(c.spire.namespace, c.spire.selector);
  const id = callerIdentity(c);
  const caller = RUNTIME_SERVICES.find((x) => x.namespace === id.namespace && x.serviceAccount === id.serviceAccount);
  return caller ? pods(caller.namespace, podSelector(caller)) : pods(id.namespace, GATEWAY_POD_SELECTOR);
}
const calls = (from: RuntimeService): RuntimeService[] => RUNTIME_SERVICES.filter((t) => t.callers.some((c) => "service" in c && c.service === from.name));

/** One runtime service: ingress from its catalogued callers on its ports; egress to the services it calls and its stores. */
function runtimeServicePolicy(s: RuntimeService, inputs: RegionNetworkInputs): NetworkPolicyShape {
  const from: Peer[] = s.callers.map(callerPeer);
  // A catalogued service calling from another region arrives through this cluster's east-west gateway.
  if (inputs.multiCluster && CROSS_REGION_TARGETS.includes(s)) from.push(EAST_WEST_PODS);
  const unique = [...new Map(from.map((p) => [JSON.stringify(p), p])).values()];
  const stores = inputs.stores[s.name] ?? { redis: false, postgres: false };
  const egress: Rule[] = [
    ...calls(s).map((t) => ({ to: [pods(t.namespace, podSelector(t))], ports: t.ports.map((p) => tcp(p.port)) })),
    // The same services in the other regions, through their east-west gateways (load-balancer addresses: by port).
    ...(inputs.multiCluster && calls(s).length > 0 ? [{ ports: [tcp(EAST_WEST_GATEWAY.port)] }] : []),
    // Managed stores sit behind private endpoints outside the cluster: by port.
    ...(stores.postgres ? [{ ports: [tcp(POSTGRES_PORT)] }] : []),
    ...(stores.redis ? [{ ports: [tcp(redisPort(inputs.cloud))] }] : []),
    ...(stores.redisCluster?.length ? [{ ports: stores.redisCluster.map((p) => (typeof p === "number" ? tcp(p) : { ...tcp(p.port), endPort: p.endPort })) }] : []),
    // Every service's clock is measured by its node's chrony, through the node time agent (runtime/clock/agent.ts),
    // which listens on the node's address (host network): no pod selector matches it, so by port.
    { ports: [tcp(TIME_AGENT.port)] },
  ];
  // The gateway's health aggregator asks the service's readiness on its HTTP port.
  const health: Rule[] = HEALTH_PROBED_SERVICES.includes(s.name) ? [{ from: [HEALTH_PODS], ports: [tcp(s.ports[0]!.port)] }] : [];
  // Operator toolbox pods reach a service with admin routes (the mesh admits them to those routes only): their
  // egress allow (operatorPolicy) needs this ingress beside it, or the admin routes are unreachable.
  const operators: Rule[] = SERVICE_ROUTES[s.name].admin.length > 0 ? [{ from: [pods(OPERATOR_IDENTITY.namespace, OPERATOR_POD_SELECTOR)], ports: s.ports.map((p) => tcp(p.port)) }] : [];
  return policy(s.namespace, `allow-${s.name}`, podSelector(s), [{ from: unique, ports: s.ports.map((p) => tcp(p.port)) }, ...health, ...operators], egress);
}

const HEALTH_PODS = pods(HEALTH_AGGREGATOR.namespace, HEALTH_POD_SELECTOR);

function gatewayPolicy(): NetworkPolicyShape {
  const targets = RUNTIME_SERVICES.filter((s) => s.callers.some((c) => "identity" in c && c.identity.namespace === NAMESPACES.gateway));
  return policy(
    NAMESPACES.gateway,
    "allow-gateway",
    GATEWAY_POD_SELECTOR,
    // The load balancer delivers from client addresses: the HTTPS target port is open to any source.
    [{ ports: [tcp(GATEWAY.targetPort)] }],
    [
      ...targets.map((t) => ({ to: [pods(t.namespace, podSelector(t))], ports: t.ports.map((p) => tcp(p.port)) })),
      // Health signal paths go to the aggregator.
      { to: [HEALTH_PODS], ports: [tcp(HEALTH_AGGREGATOR.port)] },
    ],
  );
}

const MONITOR_PODS = pods(REPLICATION_MONITOR.namespace, REPLICATION_MONITOR_POD_SELECTOR);

/** The health aggregator: from the gateway; to the readiness port of every service a signal probes, and the replication monitor's. */
function healthPolicy(): NetworkPolicyShape {
  const probed = RUNTIME_SERVICES.filter((s) => HEALTH_PROBED_SERVICES.includes(s.name));
  return policy(
    HEALTH_AGGREGATOR.namespace,
    "allow-health",
    HEALTH_POD_SELECTOR,
    [{ from: [pods(NAMESPACES.gateway, GATEWAY_POD_SELECTOR)], ports: [tcp(HEALTH_AGGREGATOR.port)] }],
    [...probed.map((t) => ({ to: [pods(t.namespace, podSelector(t))], ports: [tcp(t.ports[0]!.port)] })), { to: [MONITOR_PODS], ports: [tcp(REPLICATION_MONITOR.port)] }],
  );
}

/** The replication lag monitor (components/replication/monitor.ts): asked by the aggregator; reads the region's Postgres copies, by port. */
function replicationMonitorPolicy(): NetworkPolicyShape {
  return policy(
    REPLICATION_MONITOR.namespace,
    "allow-replication-monitor",
    REPLICATION_MONITOR_POD_SELECTOR,
    [{ from: [HEALTH_PODS], ports: [tcp(REPLICATION_MONITOR.port)] }],
    [{ ports: [tcp(POSTGRES_PORT)] }],
  );
}

function timePolicies(inputs: RegionNetworkInputs): NetworkPolicyShape[] {
  if (!inputs.grandmaster) return [];
  // chrony runs on the host network (node addresses, not pods), so NTP is open by port; the admin API is
  // reached only through the mesh (the AuthorizationPolicy decides who may call which route).
  return [
    policy(
      NAMESPACES.time,
      "allow-grandmaster",
      { app: GRANDMASTER.name },
      [{ ports: [{ protocol: "UDP", port: GRANDMASTER.containerPort }] }, { from: [{ namespaceSelector: { matchLabels: { "istio-injection": "enabled" } } }], ports: [tcp(GRANDMASTER.adminPort)] }],
      // The references are outside the cluster (NTS servers, GPS appliances, the cloud's time service); Istio leaves UDP alone.
      inputs.grandmasterRelay === true ? [{ ports: [{ protocol: "UDP", port: 123 }] }] : [],
    ),
  ];
}

/**
 * The east-west gateway (multi-cluster stacks): 15443 and its health port open to the peers' sidecars and the load
 * balancer, its Envoy stats to Prometheus; out to istiod for its configuration and to the services other regions call, on their ports.
 */
function eastWestPolicy(): NetworkPolicyShape {
  return policy(
    NAMESPACES.istio,
    "allow-eastwest-gateway",
    { ...EAST_WEST_GATEWAY.selector },
    // Its Envoy's stats (the east-west PodMonitor, model/security/scrape-targets.ts) to Prometheus only.
    [{ ports: [tcp(EAST_WEST_GATEWAY.port), tcp(EAST_WEST_GATEWAY.statusPort)] }, { from: [PROMETHEUS], ports: [tcp(ENVOY_STATS_PORT)] }],
    [ISTIOD, ...CROSS_REGION_TARGETS.map((t) => ({ to: [pods(t.namespace, podSelector(t))], ports: t.ports.map((p) => tcp(p.port)) }))],
  );
}

/** The runtime services a SPIRE pod calls (attest: the server, for node attestation), on their ports. */
const SPIRE_CALLS: Rule[] = RUNTIME_SERVICES.filter((t) => t.callers.some((c) => "spire" in c)).map((t) => ({ to: [pods(t.namespace, podSelector(t))], ports: t.ports.map((p) => tcp(p.port)) }));

function systemPolicies(multiCluster: boolean): NetworkPolicyShape[] {
  const meshed = (Object.keys(NAMESPACES) as NamespaceRole[]).filter((r) => NAMESPACE_POSTURE[r].injection).map((r) => inNamespace(NAMESPACES[r]));
  return [
    policy(
      NAMESPACES.certManager,
      "allow-cert-manager",
      null,
      [{ ports: [tcp(CERT_MANAGER_PORTS.webhook)] }, { from: [PROMETHEUS], ports: [tcp(CERT_MANAGER_PORTS.metrics)] }],
      // ACME directories and the DNS providers' APIs are public HTTPS; propagation checks ask the public resolvers.
      [API_SERVER, { to: PUBLIC_RESOLVERS.map((ip) => ({ ipBlock: { cidr: `${ip}/32` } })), ports: [{ protocol: "UDP", port: 53 }, tcp(53)] }],
    ),
    policy(
      NAMESPACES.spire,
      "allow-spire",
      null,
      [{ ports: [tcp(SPIRE_PORTS.server), tcp(SPIRE_PORTS.webhook)] }, { from: [PROMETHEUS], ports: [tcp(SPIRE_PORTS.metrics)] }],
      // Agents attest workloads through the kubelet's read-only API on their node; the server asks the services that
      // catalogue it as a caller (the attestation verifier, for node attestation).
      [API_SERVER, { to: [inNamespace(NAMESPACES.spire)], ports: [tcp(SPIRE_PORTS.server)] }, { ports: [tcp(10250)] }, ...SPIRE_CALLS],
    ),
    policy(
      NAMESPACES.istio,
      "allow-istiod",
      null,
      [
        { from: multiCluster ? [...meshed, EAST_WEST_PODS] : meshed, ports: [tcp(ISTIOD_PORTS.xds)] },
        { ports: [tcp(ISTIOD_PORTS.webhook)] },
        { from: [PROMETHEUS], ports: [tcp(ISTIOD_PORTS.monitoring)] },
      ],
      // In a multi-cluster mesh istiod also watches the peers' API servers (their remote secrets), on the same ports.
      [API_SERVER],
    ),
    policy(
      NAMESPACES.monitoring,
      "allow-prometheus",
      null,
      [{ from: [PROMETHEUS] }],
      [
        API_SERVER,
        { to: meshed, ports: [tcp(MERGED_METRICS.port), tcp(ENVOY_STATS_PORT)] },
        { to: [inNamespace(NAMESPACES.certManager)], ports: [tcp(CERT_MANAGER_PORTS.metrics)] },
        { to: [inNamespace(NAMESPACES.spire)], ports: [tcp(SPIRE_PORTS.metrics)] },
        { to: [inNamespace(NAMESPACES.istio)], ports: [tcp(ISTIOD_PORTS.monitoring)] },
        ...(multiCluster ? [{ to: [EAST_WEST_PODS], ports: [tcp(ENVOY_STATS_PORT)] }] : []),
        { to: [inNamespace(NAMESPACES.monitoring)], ports: [tcp(X509_EXPORTER_PORT)] },
        // chrony's series come from the node time agent, on the host network: node addresses, by port.
        { ports: [tcp(TIME_AGENT.port)] },
      ],
    ),
  ];
}

/** Operator toolbox pods: to every runtime service and the grandmaster's admin API (the mesh checks the routes). */
function operatorPolicy(inputs: RegionNetworkInputs): NetworkPolicyShape {
  return policy(
    NAMESPACES.runtime,
    "allow-operator",
    OPERATOR_POD_SELECTOR,
    [],
    [
      ...RUNTIME_SERVICES.map((t) => ({ to: [pods(t.namespace, podSelector(t))], ports: t.ports.map((p) => tcp(p.port)) })),
      ...(inputs.grandmaster ? [{ to: [pods(NAMESPACES.time, { app: GRANDMASTER.name })], ports: [tcp(GRANDMASTER.adminPort)] }] : []),
    ],
  );
}

/** The logical-replication Jobs (components/replication/logical.ts): Postgres only, by port. */
function replicationJobsPolicy(): NetworkPolicyShape {
  return policy(NAMESPACES.runtime, "allow-replication-jobs", { "app.kubernetes.io/component": "replication" }, [], [{ ports: [tcp(POSTGRES_PORT)] }]);
}

/**
 * The replication-login rotation (components/replication/rotation.ts): Postgres by port, and HTTPS to the
 * clouds' secret managers and token endpoints; port 80 for the node-local identity endpoints (EKS Pod
 * Identity agent, GKE metadata server).
 */
function replicationRotatePolicy(): NetworkPolicyShape {
  return policy(NAMESPACES.runtime, "allow-replication-rotate", { "app.kubernetes.io/component": "replication-rotate" }, [], [{ ports: [tcp(POSTGRES_PORT), tcp(443), tcp(80)] }]);
}

/** What a region's policies depend on, from the estate: its workloads' stores and whether it runs a grandmaster. */
export function regionNetworkInputs(spec: EstateSpec, regionId: string, cloud: Cloud): RegionNetworkInputs {
  const stores = Object.fromEntries(regionWorkloads(spec, regionId).map((w) => [w.service.name, w.stores]));
  const gm = timeHierarchy(spec).find((p) => p.region === regionId)?.grandmaster ?? null;
  return { cloud, stores, grandmaster: gm !== null, grandmasterRelay: gm?.mode === "relay", multiCluster: spec.regions.length >= 2 };
}

/** Every NetworkPolicy of one region's cluster. */
export function regionNetworkPolicies(inputs: RegionNetworkInputs): NetworkPolicyShape[] {
  const roles = Object.keys(NAMESPACES) as NamespaceRole[];
  return [
    ...roles.flatMap((r) => [defaultDeny(NAMESPACES[r]), baseline(r)]),
    gatewayPolicy(),
    healthPolicy(),
    ...RUNTIME_SERVICES.map((s) => runtimeServicePolicy(s, inputs)),
    ...timePolicies(inputs),
    replicationJobsPolicy(),
    replicationRotatePolicy(),
    replicationMonitorPolicy(),
    operatorPolicy(inputs),
    ...systemPolicies(inputs.multiCluster === true),
    ...(inputs.multiCluster ? [eastWestPolicy()] : []),
  ];
}
