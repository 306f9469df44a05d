/**
 * The region's grandmaster: a Deployment from the runtime image and a Service publishing NTP on UDP 123 (the
 * container binds an unprivileged port) plus its admin API, whose /readyz is the readiness probe; its /metrics
 * reaches Prometheus through the sidecar's merged-metrics port. In cloud regions it runs `meridian time relay`
 * over the plan's references (ready only while a majority agrees); in `local`, `meridian time grandmaster`,
 * the simulated GPS/atomic ensemble.
 */
import * as k8s from "@pulumi/kubernetes";
import type { GrandmasterPlan } from "../../model/time/hierarchy.js";
import { GRANDMASTER_IDENTITY, meshServerSection } from "../../model/security/mesh-identity.js";
import { labels, opts, type RegionScope } from "./labels.js";

const CONFIG_DIR = "/etc/meridian/grandmaster";

/**
 * The grandmaster's config file: the kit's `server` section (behind its sidecar it learns callers from the
 * sidecar's x-forwarded-client-cert, model/security/mesh-identity.ts, so the operator identity reaches its drills)
 * and, for a relay, the references it votes over (runtime/clock/relay-service.ts's schema).
 */
export function grandmasterConfig(trustDomain: string, plan: GrandmasterPlan): Record<string, string> {
  const server = meshServerSection(trustDomain, GRANDMASTER_IDENTITY);
  return { "grandmaster.json": JSON.stringify(plan.mode === "relay" ? { server, references: plan.references } : { server }, null, 2) };
}

/** The grandmaster's pod template (pure, so the plan's XFCC check reads the same pod the Deployment runs). */
export function grandmasterPodTemplate(region: string, plan: GrandmasterPlan, image: string) {
  const app = plan.name;
  const meta = labels({ region } as RegionScope, app);
  const args = [
    "time",
    plan.mode === "relay" ? "relay" : "grandmaster",
    "--config",
    `${CONFIG_DIR}/grandmaster.json`,
    "--port",
    String(plan.containerPort),
    "--host",
    "0.0.0.0",
    "--http-port",
    String(plan.adminPort),
  ];
  // The relay serves its references' time scale (the plan gave it only sources of the estate's smear).
  if (plan.mode === "simulator") args.push("--source", plan.source, ...(plan.smear === "smeared" ? ["--smear"] : []));
  return {
    metadata: {
      labels: meta,
      // The pod is meshed (STRICT mTLS), so Prometheus cannot scrape the admin port; Istio's metrics merging serves
      // /metrics with Envoy's stats on the sidecar agent's plaintext port (MERGED_METRICS), which the PodMonitor scrapes.
      annotations: { "prometheus.io/scrape": "true", "prometheus.io/port": String(plan.adminPort), "prometheus.io/path": "/metrics" },
    },
    spec: {
      // Its own service account: SPIRE's ClusterSPIFFEID meridian-grandmaster gives its sidecar the SPIFFE ID its config names.
      serviceAccountName: GRANDMASTER_IDENTITY.serviceAccount,
      // Pod Security `restricted` (model/security/posture.ts): the time namespace enforces less only for chrony and linuxptp.
      securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } },
      automountServiceAccountToken: false,
      topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: { app } } }],
      containers: [
        {
          name: "grandmaster",
          image,
          command: ["node", "bin/meridian.mjs"],
          args,
          ports: [
            { name: "ntp", containerPort: plan.containerPort, protocol: "UDP" },
            { name: "admin", containerPort: plan.adminPort, protocol: "TCP" },
          ],
          // The service kit's probes: ready while a majority of sources (the relay: of its references) agree; live while it serves.
          readinessProbe: { httpGet: { path: "/readyz", port: "admin" }, periodSeconds: 5 },
          livenessProbe: { httpGet: { path: "/healthz", port: "admin" }, periodSeconds: 20, failureThreshold: 3 },
          securityContext: { runAsNonRoot: true, runAsUser: 10001, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
          resources: { requests: { cpu: "50m", memory: "96Mi" }, limits: { memory: "256Mi" } },
          // The root filesystem is read-only; tsx keeps its compile cache in the temp directory.
          volumeMounts: [
            { name: "tmp", mountPath: "/tmp" },
            { name: "config", mountPath: CONFIG_DIR, readOnly: true },
          ],
        },
      ],
      volumes: [
        { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } },
        { name: "config", configMap: { name: `${app}-config` } },
      ],
    },
  };
}

export function grandmaster(
  scope: RegionScope,
  plan: GrandmasterPlan,
  image: string,
  trustDomain: string,
): { deployment: k8s.apps.v1.Deployment; service: k8s.core.v1.Service; budget: k8s.policy.v1.PodDisruptionBudget | null } {
  const app = plan.name;
  const meta = labels(scope, app);
  const account = new k8s.core.v1.ServiceAccount(
    `${scope.region}-grandmaster`,
    { metadata: { name: GRANDMASTER_IDENTITY.serviceAccount, namespace: scope.namespace, labels: meta }, automountServiceAccountToken: false },
    opts(scope),
  );
  const config = new k8s.core.v1.ConfigMap(
    `${scope.region}-grandmaster-config`,
    { metadata: { name: `${app}-config`, namespace: scope.namespace, labels: meta }, data: grandmasterConfig(trustDomain, plan) },
    opts(scope),
  );
  const deployment = new k8s.apps.v1.Deployment(
    `${scope.region}-grandmaster`,
    {
      metadata: { name: app, namespace: scope.namespace, labels: meta },
      spec: {
        replicas: plan.replicas,
        selector: { matchLabels: { app } },
        template: grandmasterPodTemplate(scope.region, plan, image),
      },
    },
    { ...opts(scope), dependsOn: [account, config] },
  );
  const service = new k8s.core.v1.Service(
    `${scope.region}-grandmaster`,
    {
      metadata: { name: app, namespace: scope.namespace, labels: meta },
      spec: {
        selector: { app },
        ports: [
          { name: "ntp", port: plan.port, targetPort: "ntp", protocol: "UDP" },
          { name: "admin", port: plan.adminPort, targetPort: "admin", protocol: "TCP" },
        ],
      },
    },
    opts(scope),
  );
  const budget =
    plan.replicas > 1
      ? new k8s.policy.v1.PodDisruptionBudget(
          `${scope.region}-grandmaster`,
          { metadata: { name: app, namespace: scope.namespace, labels: meta }, spec: { minAvailable: 1, selector: { matchLabels: { app } } } },
          opts(scope),
        )
      : null;
  return { deployment, service, budget };
}
