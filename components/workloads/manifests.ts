/**
 * Kubernetes objects for one runtime service in one region, built from its WorkloadSpec one to one:
 * ServiceAccount (the pod's SPIFFE identity), ConfigMap (the model's config files), Deployment — or a
 * StatefulSet with a PersistentVolumeClaim per pod when the service keeps durable state —
 * Service, HorizontalPodAutoscaler (autoscaling/v2) and PodDisruptionBudget (policy/v1). Plain objects,
 * so tests validate the same shapes the component registers. Every container also learns how HLC
 * timestamps travel between services (model/time/hlc-wire.ts) and where the region's clock is.
 */
import { createHash } from "node:crypto";
import type * as k8s from "@pulumi/kubernetes";
import { HLC_GRPC_METADATA_KEY, HLC_HTTP_HEADER } from "../../model/time/hlc-wire.js";
import { podSelector, runtimeService, serviceHost, spiffeId, type RuntimeService } from "../../model/services.js";
import { MERGED_METRICS } from "../../model/security/istio-injection.js";
import { CONFIG_DIR, STATE_DIR, type Probe, type WorkloadSpec } from "../../model/workloads/spec.js";

export interface ManifestContext {
  environment: string;
  trustDomain: string;
  /** The HLC max offset every service enforces on incoming timestamps (meridian:time.maxOffsetMs). */
  maxOffsetMs: number;
  /** Whether services refuse HLC timestamps that name no epoch (meridian:time.gateway.requireEpoch). */
  requireEpoch: boolean;
}

function labelsOf(w: WorkloadSpec, environment: string): Record<string, string> {
  return {
    ...podSelector(w.service),
    "app.kubernetes.io/component": "runtime",
    "app.kubernetes.io/part-of": "meridian",
    "meridian.dev/region": w.region,
    "meridian.dev/environment": environment,
  };
}

const meta = (w: WorkloadSpec, ctx: ManifestContext, name: string = w.service.name) => ({ name, namespace: w.service.namespace, labels: labelsOf(w, ctx.environment) });

function configMapName(service: RuntimeService): string {
  return `${service.name}-config`;
}

/** How every service propagates HLC timestamps and reaches the region's clock service. */
export function hlcEnv(maxOffsetMs: number, requireEpoch: boolean): { name: string; value: string }[] {
  const clock = runtimeService("clock");
  return [
    { name: "MERIDIAN_HLC_HTTP_HEADER", value: HLC_HTTP_HEADER },
    { name: "MERIDIAN_HLC_GRPC_METADATA", value: HLC_GRPC_METADATA_KEY },
    { name: "MERIDIAN_HLC_MAX_OFFSET_MS", value: String(maxOffsetMs) },
    { name: "MERIDIAN_HLC_REQUIRE_EPOCH", value: String(requireEpoch) },
    { name: "MERIDIAN_CLOCK_URL", value: `http://${serviceHost(clock)}:${clock.ports[0]!.port}` },
  ];
}

function probe(p: Probe, initialDelaySeconds: number, periodSeconds: number): Record<string, unknown> {
  const check = p.kind === "http" ? { httpGet: { path: p.path ?? "/", port: p.port } } : { tcpSocket: { port: p.port } };
  return { ...check, initialDelaySeconds, periodSeconds, failureThreshold: 3 };
}

function serviceAccount(w: WorkloadSpec, ctx: ManifestContext): k8s.core.v1.ServiceAccountArgs {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { ...meta(w, ctx, w.service.serviceAccount), annotations: { "meridian.dev/spiffe-id": spiffeId(ctx.trustDomain, w.service) } },
    automountServiceAccountToken: false,
  };
}

function configMap(w: WorkloadSpec, ctx: ManifestContext): k8s.core.v1.ConfigMapArgs {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: meta(w, ctx, configMapName(w.service)), data: w.config };
}

/** The pod template every controller runs; a workload with `state` mounts its claim `state`. */
function podTemplate(w: WorkloadSpec, ctx: ManifestContext) {
  const labels = labelsOf(w, ctx.environment);
  const volumes = [
    { name: "config", configMap: { name: configMapName(w.service) } },
    ...w.secretMounts.map((m, i) => ({ name: `secret-${i}`, secret: { secretName: m.secret, defaultMode: 0o400 } })),
    // The image runs as a non-root user on a read-only root filesystem; node and the CLI need /tmp.
    { name: "tmp", emptyDir: {} },
  ];
  // A StatefulSet's claim template `state` is the volume of that name (statefulSet below).
  const mounts = [
    { name: "config", mountPath: `${CONFIG_DIR}/${w.service.name}`, readOnly: true },
    ...w.secretMounts.map((m, i) => ({ name: `secret-${i}`, mountPath: m.mountPath, readOnly: true })),
    { name: "tmp", mountPath: "/tmp" },
    ...(w.state ? [{ name: "state", mountPath: `${STATE_DIR}/${w.service.name}` }] : []),
  ];
  return {
    metadata: {
      labels,
      annotations: {
        "meridian.dev/spiffe-id": spiffeId(ctx.trustDomain, w.service),
        // Istio's metrics merging: the sidecar agent serves these app metrics with Envoy's on MERGED_METRICS (STRICT mTLS
        // leaves that port plaintext for Prometheus, which is outside the mesh); the PodMonitor scrapes it.
        "prometheus.io/scrape": "true",
        "prometheus.io/port": String(w.service.ports[0]!.port),
        "prometheus.io/path": "/metrics",
        // A config change changes the pod template, so the controller rolls its pods onto it.
        "meridian.dev/config-sha256": createHash("sha256").update(JSON.stringify(w.config)).digest("hex"),
      },
    },
    spec: {
      serviceAccountName: w.service.serviceAccount,
      securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
      topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: podSelector(w.service) } }],
      containers: [
        {
          name: w.service.name,
          image: w.image,
          args: w.args,
          env: [...w.env, ...hlcEnv(ctx.maxOffsetMs, ctx.requireEpoch)],
          ports: w.service.ports.map((p) => ({ name: p.name, containerPort: p.port, protocol: "TCP" })),
          resources: w.resources,
          readinessProbe: probe(w.readiness, 2, 5),
          livenessProbe: probe(w.readiness, 15, 10),
          volumeMounts: mounts,
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
        },
      ],
      volumes,
    },
  };
}

function deployment(w: WorkloadSpec, ctx: ManifestContext): k8s.apps.v1.DeploymentArgs {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: meta(w, ctx),
    spec: {
      // With an HPA, it owns the replica count from here on; this is the count before it first acts.
      replicas: w.replicas,
      selector: { matchLabels: podSelector(w.service) },
      strategy: w.strategy === "Recreate" ? { type: "Recreate" } : { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: podTemplate(w, ctx),
    },
  };
}

/**
 * A workload with durable per-pod state: each pod gets its own ReadWriteOnce claim (the cluster's default
 * StorageClass), which follows it through restarts, eviction and rescheduling and is kept when the set is
 * scaled down or deleted, so a pod that comes back finds what it wrote. Pods start in parallel: they do
 * not depend on one another.
 */
function statefulSet(w: WorkloadSpec & { state: { size: string } }, ctx: ManifestContext): k8s.apps.v1.StatefulSetArgs {
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: meta(w, ctx),
    spec: {
      serviceName: w.service.name,
      replicas: w.replicas,
      selector: { matchLabels: podSelector(w.service) },
      podManagementPolicy: "Parallel",
      updateStrategy: { type: "RollingUpdate" },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
      template: podTemplate(w, ctx),
      volumeClaimTemplates: [{ metadata: { name: "state", labels: labelsOf(w, ctx.environment) }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: w.state.size } } } }],
    },
  };
}

/** The pod controller: a StatefulSet for a workload with state, else a Deployment. */
function controller(w: WorkloadSpec, ctx: ManifestContext): { kind: "Deployment"; args: k8s.apps.v1.DeploymentArgs } | { kind: "StatefulSet"; args: k8s.apps.v1.StatefulSetArgs } {
  return w.state ? { kind: "StatefulSet", args: statefulSet({ ...w, state: w.state }, ctx) } : { kind: "Deployment", args: deployment(w, ctx) };
}

function service(w: WorkloadSpec, ctx: ManifestContext): k8s.core.v1.ServiceArgs {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta(w, ctx),
    spec: {
      type: "ClusterIP",
      selector: podSelector(w.service),
      ports: w.service.ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.name, protocol: "TCP", appProtocol: p.appProtocol })),
    },
  };
}

function horizontalPodAutoscaler(w: WorkloadSpec, ctx: ManifestContext): k8s.autoscaling.v2.HorizontalPodAutoscalerArgs | null {
  if (w.autoscaling === null) return null;
  return {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: meta(w, ctx),
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: w.state ? "StatefulSet" : "Deployment", name: w.service.name },
      minReplicas: w.autoscaling.minReplicas,
      maxReplicas: w.autoscaling.maxReplicas,
      metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: w.autoscaling.targetCpuPercent } } }],
      // Scale down slowly: a flash sale's second wave should find the pods still there.
      behavior: { scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: "Pods", value: 1, periodSeconds: 60 }] } },
    },
  };
}

function podDisruptionBudget(w: WorkloadSpec, ctx: ManifestContext): k8s.policy.v1.PodDisruptionBudgetArgs {
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: meta(w, ctx),
    spec: { maxUnavailable: w.maxUnavailable, selector: { matchLabels: podSelector(w.service) } },
  };
}

/** The service's PodMonitor (monitoring.coreos.com/v1): its pods' merged app + Envoy metrics from the sidecar agent. */
function podMonitor(w: WorkloadSpec, ctx: ManifestContext): PodMonitorShape {
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PodMonitor",
    metadata: meta(w, ctx),
    spec: {
      selector: { matchLabels: podSelector(w.service) },
      podMetricsEndpoints: [{ portNumber: MERGED_METRICS.port, path: MERGED_METRICS.path, interval: "30s" }],
    },
  };
}

/** The service's own alerts (WorkloadSpec.alerts) as a PrometheusRule (monitoring.coreos.com/v1); null when it has none. */
function prometheusRule(w: WorkloadSpec, ctx: ManifestContext): PrometheusRuleShape | null {
  if (w.alerts.length === 0) return null;
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: meta(w, ctx),
    spec: {
      groups: [
        {
          name: `meridian-${w.service.name}`,
          rules: w.alerts.map((r) => ({
            alert: r.alert,
            expr: r.expr,
            for: r.for,
            labels: { severity: r.severity, region: w.region },
            annotations: { summary: r.summary, description: r.description },
          })),
        },
      ],
    },
  };
}

export interface PrometheusRuleShape {
  apiVersion: "monitoring.coreos.com/v1";
  kind: "PrometheusRule";
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: { groups: { name: string; rules: { alert: string; expr: string; for: string; labels: Record<string, string>; annotations: Record<string, string> }[] }[] };
}

export interface PodMonitorShape {
  apiVersion: "monitoring.coreos.com/v1";
  kind: "PodMonitor";
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: { selector: { matchLabels: Record<string, string> }; podMetricsEndpoints: { portNumber: number; path: string; interval: string }[] };
}

export interface WorkloadManifests {
  serviceAccount: k8s.core.v1.ServiceAccountArgs;
  configMap: k8s.core.v1.ConfigMapArgs;
  controller: ReturnType<typeof controller>;
  service: k8s.core.v1.ServiceArgs;
  /** Null for a single writer. */
  horizontalPodAutoscaler: k8s.autoscaling.v2.HorizontalPodAutoscalerArgs | null;
  podDisruptionBudget: k8s.policy.v1.PodDisruptionBudgetArgs;
  podMonitor: PodMonitorShape;
  prometheusRule: PrometheusRuleShape | null;
}

/** Every object of one service's workload. */
export function workloadManifests(w: WorkloadSpec, ctx: ManifestContext): WorkloadManifests {
  return {
    serviceAccount: serviceAccount(w, ctx),
    configMap: configMap(w, ctx),
    controller: controller(w, ctx),
    service: service(w, ctx),
    horizontalPodAutoscaler: horizontalPodAutoscaler(w, ctx),
    podDisruptionBudget: podDisruptionBudget(w, ctx),
    podMonitor: podMonitor(w, ctx),
    prometheusRule: prometheusRule(w, ctx),
  };
}
