/**
 * The regional gateway's objects, as plain shapes built from model/workloads/gateway.ts (tests validate the
 * same shapes the component registers):
 *   - Istio's `gateway` chart values: Envoy pods labelled as the `meridian-gateway` Service (components/cluster)
 *     selects them, running as the gateway's catalogued service account; the chart's own Service is off.
 *   - a Gateway (networking.istio.io/v1) terminating `meridian-gateway-tls` on the Service's HTTPS port for the
 *     region's host names, and a VirtualService routing the public API to the runtime services and every
 *     health signal path the DNS providers probe to the health aggregator (rewritten to `/signals/<name>`);
 *   - the health aggregator (runtime/health) as a kit service (kit-service.ts): ServiceAccount, ConfigMap
 *     `--config`, Deployment, Service, PDB, PodMonitor.
 */
import { GATEWAY, type EstateSpec } from "../../model/estate.js";
import { GATEWAY_CERTIFICATE } from "../../model/rotation/issuers.js";
import { runtimeService, serviceHost, spiffeId } from "../../model/services.js";
import { gatewayRateLimitFilter, type EnvoyFilterShape } from "../../model/workloads/gateway-ratelimit.js";
import { API_ROUTES, apiRouteName, gatewayHosts, healthAggregatorConfig, HEALTH_AGGREGATOR, HEALTH_HOST, HEALTH_IDENTITY, HEALTH_POD_SELECTOR, type ApiRoute } from "../../model/workloads/gateway.js";
import { CONFIG_DIR, deployedServices } from "../../model/workloads/spec.js";
import { signalPath } from "../../runtime/health/index.js";
import type { CustomResourceShape } from "../pki/charts.js";
import { kitServiceManifests, type KitServiceManifests } from "./kit-service.js";
import { hlcEnv } from "./manifests.js";

/** Labels the gateway's pods carry: the Service's selector, and the Gateway resource's. */
const GATEWAY_POD_LABELS: Record<string, string> = { app: GATEWAY.name, istio: GATEWAY.name };
const HEALTH_CONFIG_FILE = "health.json";

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
    topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: GATEWAY_POD_LABELS } }],
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
  const name = apiRouteName(r);
  const rewrite = r.rewrite === undefined ? {} : { rewrite: { uri: r.rewrite } };
  if (r.methods === "any") return [{ name, match: [{ uri: { prefix: r.prefix } }], ...rewrite, route }];
  return [
    { name, match: [{ uri: { prefix: r.prefix }, method: { regex: READ_METHODS } }], ...rewrite, route },
    // Anything else on a read-only route stops here.
    {
      name: `${name}-read-only`,
      match: [{ uri: { prefix: r.prefix } }],
      directResponse: { status: 405, body: { string: '{"error":"method not allowed","detail":"this route answers GET and HEAD only"}' } },
    },
  ];
}

/** The gateway's Envoy asks the region's rate limiter before routing the public API (model/workloads/gateway-ratelimit.ts). */
export function rateLimitFilter(spec: EstateSpec, regionId: string): EnvoyFilterShape {
  return gatewayRateLimitFilter(spec, partOf(regionId, "gateway"));
}

export function virtualService(spec: EstateSpec, regionId: string): CustomResourceShape {
  const signals = healthAggregatorConfig(spec, regionId).signals;
  const deployed = new Set(deployedServices(spec).map((s) => s.name));
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
        // Only to services the region runs (the monitor only where the stack names the log's key).
        ...API_ROUTES.filter((r) => deployed.has(r.service)).flatMap(apiRoutes),
      ],
    },
  };
}

export type HealthAggregatorManifests = KitServiceManifests;

/** The aggregator's command line after the image's ENTRYPOINT (`node bin/meridian.mjs`). */
function healthArgs(): string[] {
  return ["health", "serve", "--config", `${CONFIG_DIR}/health/${HEALTH_CONFIG_FILE}`, "--port", String(HEALTH_AGGREGATOR.port), "--host", "0.0.0.0"];
}

/** The aggregator as a kit service (kit-service.ts): readiness on its own /readyz, never the signals. */
export function healthAggregatorManifests(spec: EstateSpec, regionId: string): HealthAggregatorManifests {
  const { name, namespace, port } = HEALTH_AGGREGATOR;
  return kitServiceManifests({
    name,
    namespace,
    port,
    regionId,
    environment: spec.environment,
    service: "health",
    component: "health",
    selector: HEALTH_POD_SELECTOR,
    spiffeId: spiffeId(spec.pki.trustDomain, HEALTH_IDENTITY),
    image: spec.runtime.image,
    container: "health",
    args: healthArgs(),
    configDir: `${CONFIG_DIR}/health`,
    config: { [HEALTH_CONFIG_FILE]: JSON.stringify(healthAggregatorConfig(spec, regionId), null, 2) },
    // The aggregator's own liveness and readiness (the kit's), never the signals: a failing service must
    // show as a 503 signal, not as a gateway with no backend.
    readinessPath: "/readyz",
    resources: { requests: { cpu: "50m", memory: "96Mi" }, limits: { memory: "192Mi" } },
    // The kit's default HLC (runtime/kit/hlc.ts): x-meridian-hlc, its epoch and x-meridian-time at the edge.
    env: hlcEnv(spec.time.maxOffsetMs, spec.time.gateway.requireEpoch),
    spreadOverZones: true,
  });
}
