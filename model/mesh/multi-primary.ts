/**
 * Cross-cluster identity: Istio multi-primary on different networks (istio.io, "Install Multi-Primary on different
 * networks"), over the one trust domain every region's SPIRE already shares (docs/pki.md). Each region runs its own
 * istiod (a primary) with the environment's meshID, `multiCluster.clusterName` = SPIRE's clusterName = the region
 * id, and its own network; an east-west gateway per cluster publishes the cluster's services on 15443 with
 * AUTO_PASSTHROUGH, so a sidecar's mTLS (SNI `outbound_.<port>_._.<host>`) goes end to end to the peer's pod and the
 * peer's sidecar verifies the caller's SVID against the shared root; and every istiod reads the peers' endpoints
 * through a remote secret: a kubeconfig for a read-only ServiceAccount of the peer cluster, labelled
 * `istio/multiCluster: "true"`, shaped as `istioctl create-remote-secret` writes it.
 *
 * Only a stack with two or more regions is a multi-cluster mesh; with one region none of this is rendered.
 * Invariants (checked at load time and again on the rendered values): one network per cluster, cluster names
 * that are DNS-1123 labels and distinct, istiod's clusterName equal to SPIRE's, a remote secret keyed by its
 * peer's clusterName and never one for the cluster itself. Pure: no Pulumi, no I/O.
 */
import { parse, stringify } from "yaml";
import type { ConfigProblem } from "../config/errors.js";
import type { EstateConfig, RegionConfig } from "../config/index.js";
import { kubeconfigSource } from "../estate.js";
import { podSelector, runtimeService, type RuntimeService, type ServiceName } from "../services.js";

/** The label every Meridian pod carries with its region (components/workloads/manifests.ts). */
export const REGION_LABEL = "meridian.dev/region";

/** The label Istio reads a pod's (or, on istio-system, the cluster's default) network from. */
export const NETWORK_LABEL = "topology.istio.io/network";
/** istiod watches Secrets with this label in its namespace for remote clusters' kubeconfigs. */
export const MULTI_CLUSTER_SECRET_LABEL = "istio/multiCluster";
/** The annotation `istioctl create-remote-secret` puts on the secret: the remote cluster's name. */
export const CLUSTER_ANNOTATION = "networking.istio.io/cluster";

/** The east-west gateway as Istio's docs install it from the `gateway` chart (`name`, `networkGateway`). */
export const EAST_WEST_GATEWAY = {
  release: "istio-eastwestgateway",
  /** The chart's selector label: `istio` = the name without `istio-`. */
  selector: { istio: "eastwestgateway" },
  /** mTLS passthrough for cross-network service traffic (the chart's `tls` Service port). */
  port: 15443,
  /** Envoy's health port, which cloud load balancers probe. */
  statusPort: 15021,
  /**
   * The ports the pinned chart's Service publishes when `networkGateway` is set (templates/service.yaml at 1.28.0):
   * status-port, tls, tls-istiod, tls-webhook — each a listener of the cloud load balancer.
   */
  servicePorts: [15021, 15443, 15012, 15017],
} as const;

/**
 * The east-west gateway's pod labels as the pinned chart's `gateway.selectorLabels` writes them (templates/_helpers.tpl
 * at 1.28.0: `app` = `labels.app`, else the name; `istio` = `labels.istio`, else the name without `istio-`): what the
 * Deployment and Service select on, so what a PodMonitor must select too.
 */
export const EAST_WEST_POD_SELECTOR: Readonly<Record<string, string>> = { app: EAST_WEST_GATEWAY.release, ...EAST_WEST_GATEWAY.selector };

/**
 * The read-only identity peers' istiod use on this cluster: a ServiceAccount bound to the ClusterRole the pinned
 * istiod chart installs for exactly this (`istio-reader-clusterrole-<namespace>`, no revision), and one long-lived
 * token Secret per reading region, so one region's access is revoked by deleting its Secret.
 */
export const MESH_READER = { serviceAccount: "meridian-mesh-reader", clusterRole: "istio-reader-clusterrole-istio-system" } as const;

/**
 * Where the peers' istiod reach a cluster's API server: the region's `mesh.apiServer` when set (an override), else
 * the `server` of the kubeconfig the stack already holds for the region under a secret key (kubeconfigServer).
 */
export type ApiServerSource = { kind: "setting"; url: string } | { kind: "kubeconfig"; key: string };

export interface MeshMember {
  region: string;
  /** istiod's `global.multiCluster.clusterName`: SPIRE's clusterName, the key of the peer's remote secret. */
  clusterName: string;
  network: string;
  /** Where the peers' istiod reach this cluster's API server. */
  apiServer: ApiServerSource;
  /** The public CIDRs the cluster's outbound traffic leaves from: the peers' east-west load balancers admit these. */
  egress: string[];
}

export interface MultiPrimaryMesh {
  meshID: string;
  members: MeshMember[];
}

export class MultiPrimaryError extends Error {
  constructor(public readonly problems: string[]) {
    super(`the multi-cluster mesh would not work:\n- ${problems.join("\n- ")}`);
    this.name = "MultiPrimaryError";
  }
}

type MeshConfigView = Pick<EstateConfig, "environment"> & { regions: readonly Pick<RegionConfig, "id" | "mesh" | "kubeconfig">[] };

function apiServerSource(r: Pick<RegionConfig, "id" | "mesh" | "kubeconfig">): ApiServerSource | undefined {
  if (r.mesh?.apiServer !== undefined) return { kind: "setting", url: r.mesh.apiServer };
  const source = kubeconfigSource(r);
  // A context of the ambient kubeconfig is not read by the program (the provider resolves it): no server to take.
  return source.kind === "secret" ? { kind: "kubeconfig", key: source.key } : undefined;
}

function meshId(environment: string): string {
  return `meridian-${environment}`;
}

/** The stack's multi-primary mesh, or undefined when it has one region (nothing crosses clusters). Throws on problems. */
export function multiPrimaryMesh(config: MeshConfigView): MultiPrimaryMesh | undefined {
  if (config.regions.length < 2) return undefined;
  const problems = multiPrimaryProblems(config);
  if (problems.length > 0) throw new MultiPrimaryError(problems.map((p) => `${p.keyPath}: ${p.expected}`));
  return {
    meshID: meshId(config.environment),
    members: config.regions.map((r) => ({ region: r.id, clusterName: r.id, network: r.mesh?.network ?? r.id, apiServer: apiServerSource(r)!, egress: r.mesh!.egress! })),
  };
}

/** The member for one region of a multi-cluster stack, or undefined for a single-region stack. */
export function meshMember(config: MeshConfigView, regionId: string): MeshMember | undefined {
  const mesh = multiPrimaryMesh(config);
  if (!mesh) return undefined;
  const m = mesh.members.find((x) => x.region === regionId);
  if (!m) throw new Error(`unknown region ${regionId}; the mesh has ${mesh.members.map((x) => x.region).join(", ")}`);
  return m;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Load-time problems with the regions' mesh settings (empty for a single-region stack). */
export function multiPrimaryProblems(config: MeshConfigView): ConfigProblem[] {
  if (config.regions.length < 2) return [];
  const out: ConfigProblem[] = [];
  const networks = new Map<string, string>();
  config.regions.forEach((r, i) => {
    if (!apiServerSource(r)) {
      out.push({
        keyPath: `meridian:regions[${i}].mesh.apiServer`,
        value: "(missing)",
        expected: `the https:// URL the other regions' istiod reach ${r.id}'s Kubernetes API at: a stack of ${config.regions.length} regions is a multi-cluster mesh, and each istiod discovers its peers' endpoints there (${r.id}'s kubeconfig is a context of the ambient kubeconfig, which the program does not read; with a kubeconfig secret its server is taken from there)`,
      });
    }
    if (!r.mesh?.egress) {
      out.push({
        keyPath: `meridian:regions[${i}].mesh.egress`,
        value: "(missing)",
        expected: `the public CIDRs ${r.id}'s cluster egresses from (NAT gateway / Cloud NAT / Azure NAT gateway addresses): the other regions' east-west gateway load balancers admit only their peers' egress addresses`,
      });
    }
    // Istio keys remote clusters and names their secrets by clusterName: it must be a DNS-1123 label.
    if (!DNS1123_LABEL.test(r.id)) out.push({ keyPath: `meridian:regions[${i}].id`, value: r.id, expected: "a DNS-1123 label (Istio's clusterName and the remote secret's name derive from it)" });
    const network = r.mesh?.network ?? r.id;
    const other = networks.get(network);
    if (other !== undefined)
      out.push({
        keyPath: `meridian:regions[${i}].mesh.network`,
        value: network,
        expected: `a network of its own (${other} is on ${network}): the clusters are on different networks, so Istio must route between them through east-west gateways, not to pod addresses it would believe reachable`,
      });
    else networks.set(network, r.id);
  });
  return out;
}

/** istiod's multi-cluster values for one member (merged into components/pki/mesh-tls.ts istiodValues). */
export function istiodMeshValues(mesh: MultiPrimaryMesh, member: MeshMember): { meshID: string; multiCluster: { clusterName: string }; network: string } {
  return { meshID: mesh.meshID, multiCluster: { clusterName: member.clusterName }, network: member.network };
}

/**
 * The addresses one member's east-west load balancer admits: every peer's egress CIDRs (sorted, deduplicated), never
 * its own (its own pods reach its services directly). 15443 carries only mTLS the callee's sidecar verifies, but the
 * chart's Service also publishes istiod's 15012 and 15017, so the internet at large gets no listener at all.
 */
export function eastWestSourceRanges(mesh: MultiPrimaryMesh, member: MeshMember): string[] {
  return [...new Set(mesh.members.filter((m) => m.region !== member.region).flatMap((m) => m.egress))].sort();
}

/**
 * The annotations each cloud documents for the east-west load balancer. AWS: the AWS Load Balancer Controller's NLB
 * with IP targets, internet-facing (without them the in-tree controller would make a Classic Load Balancer); GCP and
 * Azure's cloud controllers make an external passthrough load balancer by default. The source restriction is the
 * Service's `loadBalancerSourceRanges`, which all three controllers enforce (security group, firewall, NSG rules).
 */
function eastWestServiceAnnotations(region: Pick<RegionConfig, "cloud" | "gateway">): Record<string, string> {
  switch (region.cloud) {
    case "aws":
      return {
        "service.beta.kubernetes.io/aws-load-balancer-type": "external",
        "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
        "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
        // The region's public subnets, as its ingress gateway's NLB uses (without Elastic IPs: nothing publishes these addresses).
        ...(region.gateway ? { "service.beta.kubernetes.io/aws-load-balancer-subnets": region.gateway.subnets.join(",") } : {}),
      };
    case "gcp":
    case "azure":
      return {};
  }
}

/** Values for the pinned `gateway` chart that make it the cluster's east-west gateway (Istio's documented install). */
export function eastWestGatewayValues(mesh: MultiPrimaryMesh, member: MeshMember, region: Pick<RegionConfig, "cloud" | "gateway">): Record<string, unknown> {
  return {
    name: EAST_WEST_GATEWAY.release,
    service: { type: "LoadBalancer", loadBalancerSourceRanges: eastWestSourceRanges(mesh, member), annotations: eastWestServiceAnnotations(region) },
    // The chart then labels pods and Service with topology.istio.io/network, sets ISTIO_META_REQUESTED_NETWORK_VIEW,
    // and publishes 15021, 15443, 15012 and 15017 (the Gateway below opens 15443 only).
    networkGateway: member.network,
    // The chart puts these on the pods and the Service; the region label lets the cost model price the load balancer.
    labels: { ...EAST_WEST_POD_SELECTOR, "istio.io/dataplane-mode": "none", [REGION_LABEL]: member.region },
    autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 5, targetCPUUtilizationPercentage: 80 },
    podDisruptionBudget: { minAvailable: 1 },
  };
}

/** The cross-network Gateway: every `*.local` service of this cluster, mTLS passed through to its pod. */
export function crossNetworkGateway(namespace: string): { apiVersion: string; kind: string; metadata: { name: string; namespace: string }; spec: Record<string, unknown> } {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "Gateway",
    metadata: { name: "cross-network-gateway", namespace },
    spec: {
      selector: { ...EAST_WEST_GATEWAY.selector },
      servers: [{ port: { number: EAST_WEST_GATEWAY.port, name: "tls", protocol: "TLS" }, tls: { mode: "AUTO_PASSTHROUGH" }, hosts: ["*.local"] }],
    },
  };
}

/** The name of the reader's token Secret a region's istiod uses on a peer cluster. */
export function readerTokenSecretName(reader: string): string {
  return `${MESH_READER.serviceAccount}-${reader}-token`;
}

/** The remote secret's name in the reading cluster, as istioctl names it. */
export function remoteSecretName(peer: MeshMember): string {
  return `istio-remote-secret-${peer.clusterName}`;
}

const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3}|\[::1\]|0\.0\.0\.0)$/i;

/**
 * The API server a kubeconfig (the one the stack deploys a region with) points at: the `server` of its current
 * context's cluster — for EKS, GKE and AKS the cluster's own endpoint, whose certificate the cluster CA (the one the
 * reader's token Secret carries) signs. Refused where peers could not use it: not https, or a loopback address (a
 * kind cluster, a `kubectl proxy` or tunnel on the operator's machine); then `mesh.apiServer` must say where the peers
 * reach the cluster. `where` names the config key in errors.
 */
export function kubeconfigServer(kubeconfig: string, where: string): string {
  const fail = (why: string): never => {
    throw new Error(`${where}: ${why}; set meridian:regions[].mesh.apiServer to the URL the other regions' istiod reach this cluster's API at`);
  };
  let doc: unknown;
  try {
    doc = parse(kubeconfig);
  } catch {
    return fail("is not a kubeconfig (YAML does not parse)");
  }
  const d = (doc ?? {}) as { "current-context"?: unknown; contexts?: unknown; clusters?: unknown };
  const named = (list: unknown, name: unknown) => (Array.isArray(list) ? (list as { name?: unknown }[]).find((x) => x?.name === name) : undefined);
  const contexts = Array.isArray(d.contexts) ? (d.contexts as { name?: unknown; context?: { cluster?: unknown } }[]) : [];
  // kubectl's rule: the current context; a kubeconfig with a single context and none current is unambiguous too.
  const context = d["current-context"] !== undefined ? named(contexts, d["current-context"]) : contexts.length === 1 ? contexts[0] : undefined;
  if (!context) return fail(`has no current context${d["current-context"] !== undefined ? ` named ${JSON.stringify(d["current-context"])}` : ""}`);
  const clusterName = (context as { context?: { cluster?: unknown } }).context?.cluster;
  const cluster = named(d.clusters, clusterName) as { cluster?: { server?: unknown } } | undefined;
  const server = cluster?.cluster?.server;
  if (typeof server !== "string") return fail(`names no server for cluster ${JSON.stringify(clusterName)}`);
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    return fail(`server ${JSON.stringify(server)} is not a URL`);
  }
  if (url.protocol !== "https:") return fail(`server ${server} is not https`);
  if (LOOPBACK_HOST.test(url.hostname)) return fail(`server ${server} is a loopback address, which the other clusters cannot reach`);
  return server;
}

/**
 * The kubeconfig of a remote secret, as `istioctl create-remote-secret` encodes it: one cluster, context and user,
 * all named by the peer's clusterName, with the peer's API server (`server`: the setting, or what kubeconfigServer
 * read), the CA from the token Secret (base64, as `certificate-authority-data` takes it) and the bearer token.
 */
export function remoteKubeconfig(peer: MeshMember, server: string, caData: string, token: string): string {
  if (!caData) throw new Error(`remote secret for ${peer.clusterName}: the reader token Secret has no ca.crt`);
  if (!token) throw new Error(`remote secret for ${peer.clusterName}: the reader token Secret has no token`);
  const name = peer.clusterName;
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name, cluster: { server, "certificate-authority-data": caData } }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    "current-context": name,
    preferences: {},
    users: [{ name, user: { token } }],
  });
}

/**
 * Problems with what one region renders, read back from the rendered values: istiod's clusterName must be SPIRE's
 * (the SPIFFE IDs and Istio's endpoint attribution name the same cluster), its network and meshID the mesh's, and
 * each remote secret must be keyed by a peer's clusterName (istiod names the remote cluster by the key), never the
 * cluster's own (istiod would watch itself twice).
 */
export function renderedMeshProblems(mesh: MultiPrimaryMesh, member: MeshMember, rendered: { istiodGlobal: Record<string, unknown>; spireClusterName: unknown; remoteSecretKeys: string[] }): string[] {
  const out: string[] = [];
  const g = rendered.istiodGlobal;
  const clusterName = (g["multiCluster"] as { clusterName?: unknown } | undefined)?.clusterName;
  if (clusterName !== rendered.spireClusterName)
    out.push(`${member.region}: istiod's global.multiCluster.clusterName ${JSON.stringify(clusterName)} is not SPIRE's clusterName ${JSON.stringify(rendered.spireClusterName)}`);
  if (clusterName !== member.clusterName) out.push(`${member.region}: istiod's clusterName ${JSON.stringify(clusterName)} is not the mesh's ${JSON.stringify(member.clusterName)}`);
  if (g["network"] !== member.network) out.push(`${member.region}: istiod's global.network ${JSON.stringify(g["network"])} is not ${JSON.stringify(member.network)}`);
  if (g["meshID"] !== mesh.meshID) out.push(`${member.region}: istiod's global.meshID ${JSON.stringify(g["meshID"])} is not ${JSON.stringify(mesh.meshID)}`);
  const peers = new Set(mesh.members.filter((m) => m.region !== member.region).map((m) => m.clusterName));
  const keys = new Set(rendered.remoteSecretKeys);
  for (const k of rendered.remoteSecretKeys) {
    if (k === member.clusterName) out.push(`${member.region}: a remote secret for its own cluster ${k}`);
    else if (!peers.has(k)) out.push(`${member.region}: a remote secret keyed ${JSON.stringify(k)}, which is no peer's clusterName (${[...peers].join(", ")})`);
  }
  for (const p of peers) if (!keys.has(p)) out.push(`${member.region}: no remote secret for peer ${p}, so its istiod never sees ${p}'s endpoints`);
  return out;
}

/**
 * Services a caller addresses per region: escrow forwards an operation on a reservation to the escrow of the region
 * that holds it (runtime/escrow `peers`); each region's proof log monitor gossips checkpoints with every other region's
 * (runtime/prooflog/monitor `peers`); the log asks each deployed witness, in its own region, to cosign; every region's
 * certificate chain follows the ledger region's. Each gets one Service per region, `<service>-<region>`, in every cluster,
 * selecting only that region's pods: every cluster has the name (so DNS resolves everywhere), only the owning
 * cluster has endpoints, and Istio, which merges a Service's endpoints across clusters by namespace and name, sends
 * the call through that cluster's east-west gateway. The callee's sidecar verifies the caller's SVID as for any call.
 */
export const REGION_ADDRESSED: readonly ServiceName[] = ["escrow", "monitor", "witness", "certchain"];

export interface RegionalService {
  region: string;
  service: RuntimeService;
  name: string;
  /** The service's pod selector narrowed to one region's pods (the pods carry `meridian.dev/region`). */
  selector: Record<string, string>;
}

/** Every region-addressed Service each cluster of a multi-cluster stack carries (none for a single region). */
export function regionalServices(config: MeshConfigView): RegionalService[] {
  const mesh = multiPrimaryMesh(config);
  if (!mesh) return [];
  return REGION_ADDRESSED.flatMap((n) => {
    const service = runtimeService(n);
    return mesh.members.map((m) => ({ region: m.region, service, name: `${service.name}-${m.region}`, selector: { ...podSelector(service), [REGION_LABEL]: m.region } }));
  });
}

/** `peers` for one region's `service`: each other region's base URL through the mesh ({} for a single region). */
export function meshPeerUrls(config: MeshConfigView, name: ServiceName, regionId: string): Record<string, string> {
  const port = runtimeService(name).ports[0]!.port;
  return Object.fromEntries(
    regionalServices(config)
      .filter((r) => r.service.name === name && r.region !== regionId)
      .map((r) => [r.region, `http://${r.name}.${r.service.namespace}.svc.cluster.local:${port}`]),
  );
}
