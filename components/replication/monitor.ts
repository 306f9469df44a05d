/**
 * The replication lag monitor (`meridian replication monitor`, runtime/replication) in one region: the
 * `replication-monitor` Service the gateway's health aggregator probes for `/healthz/replication`
 * (REPLICATION_MONITOR in model/workloads/gateway.ts), its Deployment, ServiceAccount, ConfigMap rendered
 * from the topology's copies in the region, PodMonitor and the lag PrometheusRule. Logins come from the
 * Secret `meridian-replication-<writer>` mounted as files; the ConfigMap holds no credential.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { spiffeId } from "../../model/services.js";
import { MERGED_METRICS } from "../../model/security/istio-injection.js";
import { CONFIG_DIR } from "../../model/workloads/spec.js";
import { REPLICATION_MONITOR, REPLICATION_MONITOR_IDENTITY, REPLICATION_MONITOR_POD_SELECTOR } from "../../model/workloads/gateway.js";
import type { EstateSpec } from "../../model/estate.js";
import type { RegionCluster } from "../cluster/region-cluster.js";
import { DATABASE_NAME, type DatabaseCopy } from "./copy.js";
import { replicationLagRules } from "./lag-rules.js";

export const MONITOR_CONFIG_FILE = "monitor.json";
export const MONITOR_CONFIG_DIR = `${CONFIG_DIR}/${REPLICATION_MONITOR.name}`;
const SECRETS_DIR = "/etc/meridian/replication";
const secretName = (writer: string) => `meridian-replication-${writer}`;

/** The database entries of one region's monitor: the writer's own primary, and every other writer's copy here. */
export function monitoredCopies(copies: readonly DatabaseCopy[], regionId: string): { writes?: DatabaseCopy; copies: DatabaseCopy[] } {
  const here = copies.filter((c) => c.region.id === regionId);
  const writes = here.find((c) => c.writer === regionId && c.role === "primary");
  return { ...(writes ? { writes } : {}), copies: here.filter((c) => c !== writes) };
}

/** The monitor's config file: hosts are the copies' outputs; the login and password are mounted Secret files. */
export function monitorConfig(regionId: string, held: { writes?: DatabaseCopy; copies: DatabaseCopy[] }, maxLagSeconds: number): pulumi.Output<string> {
  const entry = (c: DatabaseCopy) =>
    pulumi.interpolate`postgres://${c.host}:5432/${DATABASE_NAME}?sslmode=verify-full`.apply((url) => ({
      writer: c.writer,
      url,
      userFile: `${SECRETS_DIR}/${c.writer}/username`,
      passwordFile: `${SECRETS_DIR}/${c.writer}/password`,
    }));
  return pulumi.all([held.writes ? entry(held.writes) : undefined, pulumi.all(held.copies.map(entry))]).apply(([writes, copies]) =>
    JSON.stringify({ region: regionId, ...(writes ? { writes } : {}), copies, maxLagSeconds, server: { port: REPLICATION_MONITOR.port, host: "0.0.0.0" } }, null, 2),
  );
}

export function replicationMonitor(spec: EstateSpec, cluster: RegionCluster, copies: readonly DatabaseCopy[], opts: pulumi.ComponentResourceOptions): pulumi.Resource[] {
  const regionId = cluster.region.id;
  const held = monitoredCopies(copies, regionId);
  if (!held.writes && held.copies.length === 0) return []; // nothing here to measure
  const { name, namespace, port } = REPLICATION_MONITOR;
  const child = { ...opts, provider: cluster.provider };
  const labels = { ...REPLICATION_MONITOR_POD_SELECTOR, "app.kubernetes.io/part-of": "meridian", "app.kubernetes.io/component": "replication-monitor", "meridian.dev/region": regionId };
  const meta = { name, namespace, labels };
  const id = spiffeId(spec.pki.trustDomain, REPLICATION_MONITOR_IDENTITY);
  const writers = [...new Set([held.writes, ...held.copies].filter((c) => c !== undefined).map((c) => c.writer))].sort();
  const data = monitorConfig(regionId, held, spec.replication.maxLagSeconds);
  const sa = new k8s.core.v1.ServiceAccount(`${regionId}-${name}`, { metadata: { ...meta, annotations: { "meridian.dev/spiffe-id": id } }, automountServiceAccountToken: false }, child);
  const config = new k8s.core.v1.ConfigMap(`${regionId}-${name}`, { metadata: { ...meta, name: `${name}-config` }, data: { [MONITOR_CONFIG_FILE]: data } }, child);
  const probe = (path: string, initialDelaySeconds: number, periodSeconds: number) => ({ httpGet: { path, port }, initialDelaySeconds, periodSeconds, failureThreshold: 3 });
  const deployment = new k8s.apps.v1.Deployment(`${regionId}-${name}`, {
    metadata: meta,
    spec: {
      // Two stamp the same heartbeat row (an upsert), so a restart never leaves the signal without a backend.
      replicas: 2,
      selector: { matchLabels: REPLICATION_MONITOR_POD_SELECTOR },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels,
          annotations: {
            "meridian.dev/spiffe-id": id,
            "prometheus.io/scrape": "true",
            "prometheus.io/port": String(port),
            "prometheus.io/path": "/metrics",
            "meridian.dev/config-sha256": data.apply((d) => createHash("sha256").update(d).digest("hex")),
          },
        },
        spec: {
          serviceAccountName: name,
          securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
          containers: [{
            name: "monitor",
            image: spec.runtime.image,
            args: ["replication", "monitor", "--config", `${MONITOR_CONFIG_DIR}/${MONITOR_CONFIG_FILE}`],
            env: [{ name: "MERIDIAN_REGION", value: regionId }, { name: "MERIDIAN_SERVICE", value: name }],
            ports: [{ name: "http", containerPort: port, protocol: "TCP" }],
            resources: { requests: { cpu: "20m", memory: "64Mi" }, limits: { memory: "160Mi" } },
            // /readyz is the lag verdict the gateway's signal reads. As the readiness probe it would take a stale
            // region's pods out of the Service, and the aggregator would see a refused connection instead of the
            // 503 naming the stale copy: readiness is the process's own liveness (/healthz).
            readinessProbe: probe("/healthz", 2, 5),
            livenessProbe: probe("/healthz", 10, 10),
            volumeMounts: [
              { name: "config", mountPath: MONITOR_CONFIG_DIR, readOnly: true },
              ...writers.map((w) => ({ name: `login-${w}`, mountPath: `${SECRETS_DIR}/${w}`, readOnly: true })),
              { name: "tmp", mountPath: "/tmp" },
            ],
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
          }],
          volumes: [
            { name: "config", configMap: { name: `${name}-config` } },
            ...writers.map((w) => ({ name: `login-${w}`, secret: { secretName: secretName(w), defaultMode: 0o400 } })),
            { name: "tmp", emptyDir: {} },
          ],
        },
      },
    },
  }, { ...child, dependsOn: [sa, config] });
  const service = new k8s.core.v1.Service(`${regionId}-${name}`, {
    metadata: meta,
    spec: { type: "ClusterIP", selector: REPLICATION_MONITOR_POD_SELECTOR, ports: [{ name: "http", port, targetPort: "http", protocol: "TCP", appProtocol: "http" }] },
  }, child);
  const podMonitor = new k8s.apiextensions.CustomResource(`${regionId}-${name}-monitor`, {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PodMonitor",
    metadata: meta,
    // Meshed: its own port takes mTLS only, so Prometheus scrapes the sidecar agent's merged endpoint.
    spec: { selector: { matchLabels: REPLICATION_MONITOR_POD_SELECTOR }, podMetricsEndpoints: [{ portNumber: MERGED_METRICS.port, path: MERGED_METRICS.path, interval: "30s" }] },
  }, child);
  const rule = new k8s.apiextensions.CustomResource(`${regionId}-${name}-rules`, {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: { ...meta, name: "replication-lag" },
    spec: replicationLagRules(regionId, writers.filter((w) => w !== held.writes?.writer), spec.replication.maxLagSeconds),
  }, child);
  return [sa, config, deployment, service, podMonitor, rule];
}
