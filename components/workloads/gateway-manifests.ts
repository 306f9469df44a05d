/**
 * The regional gateway's objects, as plain shapes built from model/workloads/gateway.ts (tests validate the
 * same shapes the component registers):
 *   - Istio's `gateway` chart values: Envoy pods labelled as the `meridian-gateway` Service (components/cluster)
 *     selects them, running as the gateway's catalogued service account; the chart's own Service is off.
 *   - a Gateway (networking.istio.io/v1) terminating `meridian-gateway-tls` on the Service's HTTPS port for the
 *     region's host names, and a VirtualService routing the public API to the runtime services and every
 *     health signal path the DNS providers probe to the health aggregator (rewritten to `/signals/<name>`);
 *   - the health aggregator (runtime/health): ServiceAccount, ConfigMap `--config`, Deployment, Service, PDB, PodMonitor.
 */
import { createHash } from "node:crypto";
import type * as k8s from "@pulumi/kubernetes";
import { GATEWAY, type EstateSpec } from "../../model/estate.js";
import { GATEWAY_CERTIFICATE } from "../../model/rotation/issuers.js";
import { runtimeService, serviceHost, spiffeId } from "../../model/services.js";
import {
  API_ROUTES,
  gatewayHosts,
  healthAggregatorConfig,
  HEALTH_AGGREGATOR,
  HEALTH_HOST,
  HEALTH_IDENTITY,
  HEALTH_POD_SELECTOR,
  type ApiRoute,
} from "../../model/workloads/gateway.js";
import { CONFIG_DIR } from "../../model/workloads/spec.js";
import { MERGED_METRICS } from "../../model/security/istio-injection.js";
import { signalPath } from "../../runtime/health/index.js";
import type { CustomResourceShape } from "../pki/charts.js";

/** Labels the gateway's pods carry: the Service's selector, and the Gateway resource's. */
export const GATEWAY_POD_LABELS: Record<string, string> = { app: GATEWAY.name, istio: GATEWAY.name };
export const HEALTH_CONFIG_FILE = "health.json";

const partOf = (region: string, component: string) => ({
  "app.kubernetes.io/part-of": "meridian",
  "app.kubernetes.io/component": component,
  "meridian.dev/region": region,
});

/** Values for Istio's `gateway` chart (schema: test/testdata/charts/istio-1.28.0/gateway.values.schema.json). */
export function gatewayChartValues(spec: EstateSpec, regionId: string): Record<string, unknown> {
  const min = Math.max(2, spec.runtime.replicas);
  return {
    // The chart labels the pods with these (and its selector); ambient stays off: this is a sidecar-mode gateway.
    labels: { ...GATEWAY_POD_LABELS, "istio.io/dataplane-mode": "none", "meridian.dev/region": regionId },
    // The LoadBalancer Service with the region's static address is RegionCluster's; Istio reads its
    // port → targetPort (443 → 8443) to bind the Gateway's listener.
    service: { type: "None" },
    serviceAccount: { create: true, name: GATEWAY.name },
    autoscaling: { enabled: true, minReplicas: min, maxReplicas: min * 4, targetCPUUtilizationPercentage: 70 },
    podDisruptionBudget: { minAvailable: 1 },
    resources: { requests: { cpu: "500m", memory: "256Mi" }, limits: { cpu: "2000m", memory: "1024Mi" } },
    // 8443 is unprivileged: no sysctl needed, and the pod stays Pod Security `restricted`.
    securityContext: { runAsNonRoot: true, runAsUser: 1337, runAsGroup: 1337, fsGroup: 1337, seccompProfile: { type: "RuntimeDefault" } },
    topologySpreadConstraints: [
      { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: GATEWAY_POD_LABELS } },
    ],
  };
}

export function gatewayResource(spec: EstateSpec, regionId: string): CustomResourceShape {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "Gateway",
    metadata: { name: GATEWAY.name, namespace: HEALTH_AGGREGATOR.namespace, labels: partOf(regionId, "gateway") },
    spec: {
      selector: { istio: GATEWAY.name },
      servers: [
        {
          // The Service's port; Envoy listens on its targetPort.
          port: { number: GATEWAY.port, name: "https", protocol: "HTTPS" },
          hosts: gatewayHosts(spec, regionId),
          tls: { mode: "SIMPLE", credentialName: GATEWAY_CERTIFICATE, minProtocolVersion: "TLSV1_2" },
        },
      ],
    },
  };
}

const READ_METHODS = "^(GET|HEAD)$";

function apiRoutes(r: ApiRoute): Record<string, unknown>[] {
  const s = runtimeService(r.service);
  const route = [{ destination: { host: serviceHost(s), port: { number: s.ports[0]!.port } } }];
  const name = `${r.service}${r.prefix.replace(/[^a-z0-9]+/g, "-").replace(/-$/, "")}`;
  if (r.methods === "any") return [{ name, match: [{ uri: { prefix: r.prefix } }], route }];
  return [
    { name, match: [{ uri: { prefix: r.prefix }, method: { regex: READ_METHODS } }], route },
    // Anything else on a read-only route stops here.
    { name: `${name}-read-only`, match: [{ uri: { prefix: r.prefix } }], directResponse: { status: 405, body: { string: '{"error":"method not allowed","detail":"this route answers GET and HEAD only"}' } } },
  ];
}

export function virtualService(spec: EstateSpec, regionId: string): CustomResourceShape {
  const signals = healthAggregatorConfig(spec, regionId).signals;
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "VirtualService",
    metadata: { name: "meridian-api", namespace: HEALTH_AGGREGATOR.namespace, labels: partOf(regionId, "gateway") },
    spec: {
      hosts: gatewayHosts(spec, regionId),
      gateways: [GATEWAY.name],
      http: [
        ...signals.map((s) => ({
          name: `signal-${s.name}`,
          match: [{ uri: { exact: s.path } }],
          rewrite: { uri: signalPath(s.name) },
          route: [{ destination: { host: HEALTH_HOST, port: { number: HEALTH_AGGREGATOR.port } } }],
        })),
        ...API_ROUTES.flatMap(apiRoutes),
      ],
    },
  };
}

export interface HealthAggregatorManifests {
  serviceAccount: k8s.core.v1.ServiceAccountArgs;
  configMap: k8s.core.v1.ConfigMapArgs & { data: Record<string, string> };
  deployment: k8s.apps.v1.DeploymentArgs;
  service: k8s.core.v1.ServiceArgs;
  podDisruptionBudget: k8s.policy.v1.PodDisruptionBudgetArgs;
  /** Its merged app + Envoy metrics from the sidecar agent, as every meshed Meridian pod's. */
  podMonitor: CustomResourceShape;
}

/** The aggregator's command line after the image's ENTRYPOINT (`node bin/meridian.mjs`). */
export function healthArgs(): string[] {
  return ["health", "serve", "--config", `${CONFIG_DIR}/health/${HEALTH_CONFIG_FILE}`, "--port", String(HEALTH_AGGREGATOR.port), "--host", "0.0.0.0"];
}

export function healthAggregatorManifests(spec: EstateSpec, regionId: string): HealthAggregatorManifests {
  const { name, namespace, port } = HEALTH_AGGREGATOR;
  const labels = { ...HEALTH_POD_SELECTOR, ...partOf(regionId, "health"), "meridian.dev/environment": spec.environment };
  const meta = { name, namespace, labels };
  const data = { [HEALTH_CONFIG_FILE]: JSON.stringify(healthAggregatorConfig(spec, regionId), null, 2) };
  const id = spiffeId(spec.pki.trustDomain, HEALTH_IDENTITY);
  const probe = (path: string, initialDelaySeconds: number, periodSeconds: number) => ({ httpGet: { path, port }, initialDelaySeconds, periodSeconds, failureThreshold: 3 });
  return {
    serviceAccount: { apiVersion: "v1", kind: "ServiceAccount", metadata: { ...meta, annotations: { "meridian.dev/spiffe-id": id } }, automountServiceAccountToken: false },
    configMap: { apiVersion: "v1", kind: "ConfigMap", metadata: { ...meta, name: `${name}-config` }, data },
    deployment: {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta,
      spec: {
        replicas: 2,
        selector: { matchLabels: HEALTH_POD_SELECTOR },
        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: {
          metadata: {
            labels,
            annotations: {
              "meridian.dev/spiffe-id": id,
              "prometheus.io/scrape": "true",
              "prometheus.io/port": String(port),
              "prometheus.io/path": "/metrics",
              // A changed signal list rolls the pods onto it.
              "meridian.dev/config-sha256": createHash("sha256").update(JSON.stringify(data)).digest("hex"),
            },
          },
          spec: {
            serviceAccountName: name,
            securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
            topologySpreadConstraints: [
              { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: HEALTH_POD_SELECTOR } },
            ],
            containers: [
              {
                name: "health",
                image: spec.runtime.image,
                args: healthArgs(),
                env: [{ name: "MERIDIAN_REGION", value: regionId }, { name: "MERIDIAN_SERVICE", value: "health" }],
                ports: [{ name: "http", containerPort: port, protocol: "TCP" }],
                resources: { requests: { cpu: "50m", memory: "96Mi" }, limits: { memory: "192Mi" } },
                // The aggregator's own liveness and readiness (the kit's), never the signals: a failing service
                // must show as a 503 signal, not as a gateway with no backend.
                readinessProbe: probe("/readyz", 2, 5),
                livenessProbe: probe("/healthz", 10, 10),
                volumeMounts: [
                  { name: "config", mountPath: `${CONFIG_DIR}/health`, readOnly: true },
                  { name: "tmp", mountPath: "/tmp" },
                ],
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
              },
            ],
            volumes: [
              { name: "config", configMap: { name: `${name}-config` } },
              { name: "tmp", emptyDir: {} },
            ],
          },
        },
      },
    },
    service: {
      apiVersion: "v1",
      kind: "Service",
      metadata: meta,
      spec: { type: "ClusterIP", selector: HEALTH_POD_SELECTOR, ports: [{ name: "http", port, targetPort: "http", protocol: "TCP", appProtocol: "http" }] },
    },
    podDisruptionBudget: { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: meta, spec: { maxUnavailable: 1, selector: { matchLabels: HEALTH_POD_SELECTOR } } },
    podMonitor: {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "PodMonitor",
      metadata: meta,
      spec: { selector: { matchLabels: HEALTH_POD_SELECTOR }, podMetricsEndpoints: [{ portNumber: MERGED_METRICS.port, path: MERGED_METRICS.path, interval: "30s" }] },
    },
  };
}
