/**
 * MeshMonitors (`meridian:monitoring:MeshMonitors`): one regional cluster's prometheus-operator monitors for the
 * mesh's own components (model/security/scrape-targets.ts) — SPIRE server and agents, istiod, the gateway's
 * Envoy, and in a multi-cluster mesh the east-west gateway's Envoy — each in its component's namespace, on the plaintext port the pinned chart opens for metrics. The
 * PodMonitor/ServiceMonitor CRDs come with the monitoring stack, which the monitoring namespace's owner installs.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { NAMESPACES, type NamespaceRole } from "../../model/estate.js";
import type { ScrapeTarget } from "../../model/security/scrape-targets.js";
import type { RegionCluster } from "../cluster/region-cluster.js";

export interface MonitorShape {
  apiVersion: "monitoring.coreos.com/v1";
  kind: "PodMonitor" | "ServiceMonitor";
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: Record<string, unknown>;
}

const LABELS = { "app.kubernetes.io/part-of": "meridian", "app.kubernetes.io/managed-by": "pulumi" };

/** One target's monitor: a PodMonitor selects pods by label, a ServiceMonitor a Service; both name the port. */
export function monitorShape(t: ScrapeTarget, interval = "30s"): MonitorShape {
  const endpoint = { port: t.port, path: t.path, interval };
  const selector = { matchLabels: t.selector };
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: t.kind,
    metadata: { name: t.name, namespace: t.namespace, labels: LABELS },
    spec: t.kind === "PodMonitor" ? { selector, podMetricsEndpoints: [endpoint] } : { selector, endpoints: [endpoint] },
  };
}

export interface MeshMonitorsArgs {
  cluster: RegionCluster;
  /** The stack's mesh scrape targets (model/security/scrape-targets.ts meshScrapeTargets). */
  targets: readonly ScrapeTarget[];
}

export class MeshMonitors extends pulumi.ComponentResource {
  public readonly monitors: k8s.apiextensions.CustomResource[];

  constructor(name: string, args: MeshMonitorsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("meridian:monitoring:MeshMonitors", name, {}, opts);
    const { cluster } = args;
    const roleOf = new Map((Object.keys(NAMESPACES) as NamespaceRole[]).map((r) => [NAMESPACES[r] as string, r]));
    this.monitors = args.targets.map((t) => {
      const role = roleOf.get(t.namespace)!;
      return new k8s.apiextensions.CustomResource(`${cluster.region.id}-${t.name}-monitor`, monitorShape(t), {
        parent: this,
        provider: cluster.provider,
        dependsOn: [cluster.namespaces[role]],
      });
    });
    this.registerOutputs({});
  }
}
