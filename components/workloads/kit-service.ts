/**
 * The pod template every small runtime/kit process Meridian deploys on its own (the gateway's health
 * aggregator, the replication lag monitor) shares: ServiceAccount carrying its SPIFFE identity, ConfigMap
 * with its `--config` file, Deployment (two replicas, surge-only rollout, Pod Security `restricted`,
 * read-only root, probes on the kit's /healthz and /readyz, the config mounted read-only and a hash of it on
 * the pod template so a changed config rolls the pods), ClusterIP Service, PodDisruptionBudget and a
 * PodMonitor on the sidecar's merged metrics. Plain shapes, so tests validate what the component registers;
 * `registerKitService` registers them in the order the cluster needs.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { MERGED_METRICS } from "../../model/security/istio-injection.js";
import { customResource, type CustomResourceShape } from "../pki/charts.js";

/** A volume the container mounts besides its config (Secrets with logins, CA bundles, …). */
export interface KitMount {
  name: string;
  mountPath: string;
  volume: Record<string, unknown>;
}

export interface KitServiceArgs {
  name: string;
  namespace: string;
  port: number;
  regionId: string;
  environment: string;
  /** MERIDIAN_SERVICE in the container's environment. */
  service: string;
  /** `app.kubernetes.io/component`. */
  component: string;
  /** The pods' selector, also the Service's, the PDB's and the PodMonitor's. */
  selector: Record<string, string>;
  /** The SPIFFE ID the ServiceAccount and the pods are annotated with. */
  spiffeId: string;
  image: string;
  container: string;
  /** The command line after the image's ENTRYPOINT; it names the config file under `configDir`. */
  args: string[];
  configDir: string;
  /** Config file name → contents. */
  config: Record<string, pulumi.Input<string>>;
  /** Which kit endpoint the readiness probe asks; liveness is always /healthz. */
  readinessPath: "/readyz" | "/healthz";
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  mounts?: KitMount[];
  env?: { name: string; value: string }[];
  extraLabels?: Record<string, string>;
  /** Spread the replicas over zones (a region's front door); otherwise the scheduler's default. */
  spreadOverZones?: boolean;
}

export interface KitServiceManifests {
  serviceAccount: k8s.core.v1.ServiceAccountArgs;
  configMap: k8s.core.v1.ConfigMapArgs & { data: Record<string, pulumi.Input<string>> };
  deployment: k8s.apps.v1.DeploymentArgs;
  service: k8s.core.v1.ServiceArgs;
  podDisruptionBudget: k8s.policy.v1.PodDisruptionBudgetArgs;
  podMonitor: CustomResourceShape;
}

const KIT_REPLICAS = 2;
/** The restricted Pod Security profile's pod and container settings (runtime image user 1000). */
const podSecurity = () => ({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } });
const containerSecurity = () => ({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/** Plain when every config file is a plain string (tests read it as such), an Output otherwise. */
function configHash(config: Record<string, pulumi.Input<string>>): pulumi.Input<string> {
  const entries = Object.entries(config);
  if (entries.every(([, v]) => typeof v === "string")) return sha256(JSON.stringify(config));
  return pulumi.all(entries.map(([k, v]) => pulumi.output(v).apply((s) => [k, s] as const))).apply((pairs) => sha256(JSON.stringify(Object.fromEntries(pairs))));
}

function configMapName(name: string): string {
  return `${name}-config`;
}

export function kitServiceManifests(a: KitServiceArgs): KitServiceManifests {
  const { name, namespace, port, selector } = a;
  const meta = {
    name,
    namespace,
    labels: { ...selector, "app.kubernetes.io/part-of": "meridian", "app.kubernetes.io/component": a.component, "meridian.dev/region": a.regionId, "meridian.dev/environment": a.environment },
  };
  const podLabels = { ...meta.labels, ...(a.extraLabels ?? {}) };
  const probe = (path: string, initialDelaySeconds: number, periodSeconds: number) => ({ httpGet: { path, port }, initialDelaySeconds, periodSeconds, failureThreshold: 3 });
  const mounts = a.mounts ?? [];
  return {
    serviceAccount: { apiVersion: "v1", kind: "ServiceAccount", metadata: { ...meta, annotations: { "meridian.dev/spiffe-id": a.spiffeId } }, automountServiceAccountToken: false },
    configMap: { apiVersion: "v1", kind: "ConfigMap", metadata: { ...meta, name: configMapName(name) }, data: a.config },
    deployment: {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta,
      spec: {
        // Two, so a restart or a drained node never leaves the Service without a backend.
        replicas: KIT_REPLICAS,
        selector: { matchLabels: selector },
        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: {
          metadata: {
            labels: podLabels,
            annotations: {
              "meridian.dev/spiffe-id": a.spiffeId,
              "prometheus.io/scrape": "true",
              "prometheus.io/port": String(port),
              "prometheus.io/path": "/metrics",
              // A changed config rolls the pods onto it.
              "meridian.dev/config-sha256": configHash(a.config),
            },
          },
          spec: {
            serviceAccountName: name,
            securityContext: podSecurity(),
            ...(a.spreadOverZones
              ? { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selector } }] }
              : {}),
            containers: [
              {
                name: a.container,
                image: a.image,
                args: a.args,
                env: [{ name: "MERIDIAN_REGION", value: a.regionId }, { name: "MERIDIAN_SERVICE", value: a.service }, ...(a.env ?? [])],
                ports: [{ name: "http", containerPort: port, protocol: "TCP" }],
                resources: a.resources,
                readinessProbe: probe(a.readinessPath, 2, 5),
                livenessProbe: probe("/healthz", 10, 10),
                volumeMounts: [
                  { name: "config", mountPath: a.configDir, readOnly: true },
                  ...mounts.map((m) => ({ name: m.name, mountPath: m.mountPath, readOnly: true })),
                  { name: "tmp", mountPath: "/tmp" },
                ],
                securityContext: containerSecurity(),
              },
            ],
            volumes: [{ name: "config", configMap: { name: configMapName(name) } }, ...mounts.map((m) => ({ name: m.name, ...m.volume })), { name: "tmp", emptyDir: {} }],
          },
        },
      },
    },
    service: {
      apiVersion: "v1",
      kind: "Service",
      metadata: meta,
      spec: { type: "ClusterIP", selector, ports: [{ name: "http", port, targetPort: "http", protocol: "TCP", appProtocol: "http" }] },
    },
    // One pod at a time: with two replicas a voluntary eviction (node drain, upgrade) never takes both.
    podDisruptionBudget: { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: meta, spec: { maxUnavailable: 1, selector: { matchLabels: selector } } },
    podMonitor: {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "PodMonitor",
      metadata: meta,
      // Meshed: the app port takes mTLS only, so Prometheus scrapes the sidecar agent's merged endpoint.
      spec: { selector: { matchLabels: selector }, podMetricsEndpoints: [{ portNumber: MERGED_METRICS.port, path: MERGED_METRICS.path, interval: "30s" }] },
    },
  };
}

/** Pulumi resource names of the six objects (kept per caller so existing URNs stay stable). */
export interface KitResourceNames {
  serviceAccount: string;
  configMap: string;
  deployment: string;
  service: string;
  podDisruptionBudget: string;
  podMonitor: string;
}

export interface KitServiceResources {
  serviceAccount: k8s.core.v1.ServiceAccount;
  configMap: k8s.core.v1.ConfigMap;
  deployment: k8s.apps.v1.Deployment;
  service: k8s.core.v1.Service;
  podDisruptionBudget: k8s.policy.v1.PodDisruptionBudget;
  podMonitor: k8s.apiextensions.CustomResource;
}

/** Registers the objects; the Deployment waits for its account, its config and `deploymentAfter`. */
export function registerKitService(m: KitServiceManifests, names: KitResourceNames, opts: pulumi.CustomResourceOptions, deploymentAfter: pulumi.Input<pulumi.Resource>[] = []): KitServiceResources {
  const before = opts.dependsOn === undefined ? [] : Array.isArray(opts.dependsOn) ? opts.dependsOn : [opts.dependsOn];
  const serviceAccount = new k8s.core.v1.ServiceAccount(names.serviceAccount, m.serviceAccount, opts);
  const configMap = new k8s.core.v1.ConfigMap(names.configMap, m.configMap, opts);
  const deployment = new k8s.apps.v1.Deployment(names.deployment, m.deployment, {
    ...opts,
    dependsOn: [...(before as pulumi.Input<pulumi.Resource>[]), serviceAccount, configMap, ...deploymentAfter],
  });
  const service = new k8s.core.v1.Service(names.service, m.service, opts);
  const podDisruptionBudget = new k8s.policy.v1.PodDisruptionBudget(names.podDisruptionBudget, m.podDisruptionBudget, opts);
  const podMonitor = customResource(names.podMonitor, m.podMonitor, opts);
  return { serviceAccount, configMap, deployment, service, podDisruptionBudget, podMonitor };
}
