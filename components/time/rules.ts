/**
 * Clock-health monitoring for one region: the PrometheusRule (alerts from model/time/alerts.ts), a
 * PodMonitor scraping the node time agent's chrony series on every node and one scraping the grandmaster. The grandmaster is meshed, so
 * its admin port accepts mTLS only: Prometheus, outside the mesh, scrapes the sidecar agent's plaintext merged
 * endpoint (MERGED_METRICS: the app's /metrics, named by the pod's prometheus.io annotations, plus Envoy's stats).
 * Custom resources of prometheus-operator's monitoring.coreos.com/v1 (its CRDs must be installed).
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { MERGED_METRICS } from "../../model/security/istio-injection.js";
import { timeAlerts } from "../../model/time/alerts.js";
import { GRANDMASTER } from "../../model/time/hierarchy.js";
import type { TimeConfig } from "../../model/estate.js";
import { labels, opts, type RegionScope } from "./labels.js";

export function prometheusRuleSpec(time: TimeConfig, region: string) {
  return {
    groups: [
      {
        name: "meridian-time",
        rules: timeAlerts(time).map((r) => ({
          alert: r.alert,
          expr: r.expr,
          for: r.for,
          labels: { severity: r.severity, region },
          annotations: { summary: r.summary, description: r.description },
        })),
      },
    ],
  };
}

export function clockMonitoring(scope: RegionScope, time: TimeConfig, grandmasterEnabled: boolean): pulumi.Resource[] {
  const meta = labels(scope, "time-monitoring");
  const out: pulumi.Resource[] = [
    new k8s.apiextensions.CustomResource(
      `${scope.region}-clock-health`,
      { apiVersion: "monitoring.coreos.com/v1", kind: "PrometheusRule", metadata: { name: "clock-health", namespace: scope.namespace, labels: meta }, spec: prometheusRuleSpec(time, scope.region) },
      opts(scope),
    ),
    new k8s.apiextensions.CustomResource(
      `${scope.region}-chrony-monitor`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PodMonitor",
        metadata: { name: "chrony", namespace: scope.namespace, labels: meta },
        spec: { selector: { matchLabels: { app: "chrony" } }, podMetricsEndpoints: [{ port: "agent", path: "/metrics", interval: "30s" }] },
      },
      opts(scope),
    ),
  ];
  if (grandmasterEnabled) {
    out.push(
      new k8s.apiextensions.CustomResource(
        `${scope.region}-grandmaster-monitor`,
        {
          apiVersion: "monitoring.coreos.com/v1",
          kind: "PodMonitor",
          metadata: { name: GRANDMASTER.name, namespace: scope.namespace, labels: meta },
          spec: { selector: { matchLabels: { app: GRANDMASTER.name } }, podMetricsEndpoints: [{ portNumber: MERGED_METRICS.port, path: MERGED_METRICS.path, interval: "15s" }] },
        },
        opts(scope),
      ),
    );
  }
  return out;
}
