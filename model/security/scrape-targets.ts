/**
 * Where the mesh's own components serve Prometheus metrics, as the pinned charts open them, and the
 * prometheus-operator monitor that scrapes each. None of these endpoints sits behind the mesh's mTLS: SPIRE and
 * istiod run in unmeshed namespaces, and a gateway pod is Envoy itself, whose stats listener is plaintext. Meshed
 * Meridian pods (runtime services, the grandmaster) are scraped on the sidecar agent's merged port instead
 * (MERGED_METRICS), because their own ports accept mTLS only.
 *
 * Chart facts (at the versions components/pki/charts.ts pins):
 * - spire 0.27.0: with `telemetry.prometheus.enabled` the server container opens `containerPort: 9988, name: prom`
 *   (charts/spire-server/templates/server-resource.yaml; the port is fixed) and the agent `telemetry.prometheus.port`
 *   (default 9988) as `prom` (spire-agent/templates/daemonset.yaml). Pods carry the subcharts' selector labels:
 *   `app.kubernetes.io/name` = the umbrella's nameOverride (`server`, `agent`), `app.kubernetes.io/instance` = release.
 * - istiod 1.28.0: the `istiod` Service (labels `app: istiod`, `istio: pilot`) publishes `http-monitoring` 15014, /metrics.
 * - Istio's gateway injection template: the proxy container opens `http-envoy-prom` 15090, /stats/prometheus. The
 *   `gateway` chart's Deployment declares the same port (templates/deployment.yaml) and labels its pods with its
 *   selectorLabels (`app`, `istio`), which the east-west gateway sets (model/mesh/multi-primary.ts).
 */
import { GATEWAY, NAMESPACES } from "../estate.js";
import { GATEWAY_POD_SELECTOR } from "../services.js";
import { EAST_WEST_POD_SELECTOR } from "../mesh/multi-primary.js";
import { ENVOY_STATS_PORT, ISTIOD_PORTS, SPIRE_PORTS } from "./network.js";

/** The Helm release name the spire chart is installed under (components/pki/charts.ts names releases after their chart). */
const SPIRE_RELEASE = "spire";

export interface ScrapeTarget {
  /** The monitor's name; Prometheus's `job` label is `<namespace>/<name>` for a PodMonitor and the Service name for a ServiceMonitor. */
  name: string;
  kind: "PodMonitor" | "ServiceMonitor";
  namespace: string;
  /** Pod labels (PodMonitor) or Service labels (ServiceMonitor). */
  selector: Record<string, string>;
  /** The named container port (PodMonitor) or Service port (ServiceMonitor). */
  port: string;
  /** Its number, for the NetworkPolicy that must let Prometheus reach it. */
  portNumber: number;
  path: string;
  /** What scraping it tells: a sentence for the alerts that use it. */
  what: string;
}

export const MESH_SCRAPE_TARGETS: readonly ScrapeTarget[] = [
  {
    name: "spire-server",
    kind: "PodMonitor",
    namespace: NAMESPACES.spire,
    selector: { "app.kubernetes.io/name": "server", "app.kubernetes.io/instance": SPIRE_RELEASE },
    port: "prom",
    portNumber: SPIRE_PORTS.metrics,
    path: "/metrics",
    what: "SPIRE server: CA preparation and rotation, SVID signing",
  },
  {
    name: "spire-agent",
    kind: "PodMonitor",
    namespace: NAMESPACES.spire,
    selector: { "app.kubernetes.io/name": "agent", "app.kubernetes.io/instance": SPIRE_RELEASE },
    port: "prom",
    portNumber: SPIRE_PORTS.metrics,
    path: "/metrics",
    what: "SPIRE agents: their own SVID rotation and the workload SVIDs they cache",
  },
  {
    name: "istiod",
    kind: "ServiceMonitor",
    namespace: NAMESPACES.istio,
    selector: { app: "istiod", istio: "pilot" },
    port: "http-monitoring",
    portNumber: ISTIOD_PORTS.monitoring,
    path: "/metrics",
    what: "istiod: xDS pushes and rejections, CSR signing",
  },
  {
    name: "gateway-envoy",
    kind: "PodMonitor",
    namespace: NAMESPACES.gateway,
    selector: GATEWAY_POD_SELECTOR,
    port: "http-envoy-prom",
    portNumber: ENVOY_STATS_PORT,
    path: "/stats/prometheus",
    what: `the ${GATEWAY.name} Envoy: listener TLS handshakes and upstream errors`,
  },
];

/**
 * The east-west gateway's Envoy (multi-cluster stacks only, where the gateway exists): every cross-region call
 * passes through it, so its connection and upstream counters are the cross-network path's health.
 */
export const EAST_WEST_SCRAPE_TARGET: ScrapeTarget = {
  name: "eastwest-gateway-envoy",
  kind: "PodMonitor",
  namespace: NAMESPACES.istio,
  selector: { ...EAST_WEST_POD_SELECTOR },
  port: "http-envoy-prom",
  portNumber: ENVOY_STATS_PORT,
  path: "/stats/prometheus",
  what: "the east-west gateway's Envoy: cross-network mTLS passthrough connections and upstream errors",
};

/** The mesh's scrape targets on one cluster: the east-west gateway's only when the cluster is one of several primaries. */
export function meshScrapeTargets(multiCluster: boolean): readonly ScrapeTarget[] {
  return multiCluster ? [...MESH_SCRAPE_TARGETS, EAST_WEST_SCRAPE_TARGET] : MESH_SCRAPE_TARGETS;
}

/** The `job` label Prometheus gives a target's series (prometheus-operator's default, no jobLabel set). */
export function scrapeJob(t: ScrapeTarget): string {
  return t.kind === "PodMonitor" ? `${t.namespace}/${t.name}` : t.name;
}
