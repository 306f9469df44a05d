/**
 * The replication lag monitor (`meridian replication monitor`, runtime/replication) in one region: the
 * `replication-monitor` Service the gateway's health aggregator probes for `/healthz/replication`
 * (REPLICATION_MONITOR in model/workloads/gateway.ts), deployed as a kit service (components/workloads/
 * kit-service.ts: Deployment, ServiceAccount, ConfigMap rendered from the topology's copies in the region,
 * Service, PodDisruptionBudget, PodMonitor), and the lag PrometheusRule. Each copy's login is the
 * monitor's own least-privilege role (`monitor` secret: pg_monitor and the heartbeat table only, made by
 * the copy's monitor-login Job, logical.ts), read by the monitor from the copy's cloud secret manager at
 * connect time and again when the database refuses it; the ConfigMap holds references only.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { spiffeId } from "../../model/services.js";
import { CONFIG_DIR } from "../../model/workloads/spec.js";
import { REPLICATION_MONITOR, REPLICATION_MONITOR_IDENTITY, REPLICATION_MONITOR_POD_SELECTOR } from "../../model/workloads/gateway.js";
import type { EstateSpec } from "../../model/estate.js";
import type { RegionCluster } from "../cluster/region-cluster.js";
import type { DatabaseCopy } from "./copy.js";
import { copyUrl, DB_CA_CONFIGMAP, DB_CA_DIR } from "./ca.js";
import { replicationLagRules } from "./lag-rules.js";
import { kitServiceManifests, registerKitService } from "../workloads/kit-service.js";
import { hlcEnv } from "../workloads/manifests.js";
import { workloadIdentity } from "./identity.js";

const MONITOR_CONFIG_FILE = "monitor.json";
const MONITOR_CONFIG_DIR = `${CONFIG_DIR}/${REPLICATION_MONITOR.name}`;

/** The database entries of one region's monitor: the writer's own primary, and every other writer's copy here. */
function monitoredCopies(copies: readonly DatabaseCopy[], regionId: string): { writes?: DatabaseCopy; copies: DatabaseCopy[] } {
  const here = copies.filter((c) => c.region.id === regionId);
  const writes = here.find((c) => c.writer === regionId && c.role === "primary");
  return { ...(writes ? { writes } : {}), copies: here.filter((c) => c !== writes) };
}

/** The monitor's config file: hosts are the copies' outputs; logins are secret references the monitor reads. */
function monitorConfig(regionId: string, held: { writes?: DatabaseCopy; copies: DatabaseCopy[] }, maxLagSeconds: number): pulumi.Output<string> {
  const entry = (c: DatabaseCopy) =>
    // libpq semantics (uselibpqcompat): verify-ca checks the chain only, as for Cloud SQL's per-instance CA.
    pulumi.all([copyUrl(c), c.secrets.monitor]).apply(([url, login]) => ({ writer: c.writer, url, login }));
  return pulumi
    .all([held.writes ? entry(held.writes) : undefined, pulumi.all(held.copies.map(entry))])
    .apply(([writes, copies]) => JSON.stringify({ region: regionId, ...(writes ? { writes } : {}), copies, maxLagSeconds, server: { port: REPLICATION_MONITOR.port, host: "0.0.0.0" } }, null, 2));
}

export function replicationMonitor(spec: EstateSpec, cluster: RegionCluster, copies: readonly DatabaseCopy[], opts: pulumi.ComponentResourceOptions): pulumi.Resource[] {
  const regionId = cluster.region.id;
  const held = monitoredCopies(copies, regionId);
  if (!held.writes && held.copies.length === 0) return []; // nothing here to measure
  const { name, namespace, port } = REPLICATION_MONITOR;
  const child = { ...opts, provider: cluster.provider };
  const writers = [...new Set([held.writes, ...held.copies].filter((c) => c !== undefined).map((c) => c.writer))].sort();
  // Its cloud identity may read the monitor login of each copy it monitors, nothing else (identity.ts).
  const grants = [held.writes, ...held.copies].filter((c) => c !== undefined).map((c) => ({ ref: c.secrets.monitor, write: false }));
  const identity = workloadIdentity(spec, cluster, REPLICATION_MONITOR_IDENTITY.serviceAccount, grants, opts);
  // Every copy it reads is in its own region, so on its own cloud: no federation to configure.
  if (identity.volumes.length) throw new Error(`${regionId} replication monitor: a copy's secret is on another cloud than the cluster's`);
  const m = kitServiceManifests({
    extraLabels: identity.podLabels,
    name,
    namespace,
    port,
    regionId,
    environment: spec.environment,
    service: name,
    component: "replication-monitor",
    selector: REPLICATION_MONITOR_POD_SELECTOR,
    spiffeId: spiffeId(spec.pki.trustDomain, REPLICATION_MONITOR_IDENTITY),
    image: spec.runtime.image,
    container: "monitor",
    args: ["replication", "monitor", "--config", `${MONITOR_CONFIG_DIR}/${MONITOR_CONFIG_FILE}`],
    configDir: MONITOR_CONFIG_DIR,
    config: { [MONITOR_CONFIG_FILE]: monitorConfig(regionId, held, spec.replication.maxLagSeconds) },
    // /readyz is the lag verdict the gateway's signal reads. As the readiness probe it would take a stale
    // region's pods out of the Service, and the aggregator would see a refused connection instead of the
    // 503 naming the stale copy: readiness is the process's own liveness (/healthz).
    readinessPath: "/healthz",
    resources: { requests: { cpu: "20m", memory: "64Mi" }, limits: { memory: "160Mi" } },
    // The kit's default HLC (runtime/kit/hlc.ts), as every runtime service propagates it.
    env: hlcEnv(spec.time.maxOffsetMs, spec.time.gateway.requireEpoch),
    mounts: [
      // Each copy's cloud CA bundle, named by sslrootcert in its URL.
      { name: "db-ca", mountPath: DB_CA_DIR, volume: { configMap: { name: DB_CA_CONFIGMAP } } },
    ],
  });
  const sa = m.serviceAccount.metadata as { annotations?: Record<string, pulumi.Input<string>> };
  sa.annotations = { ...sa.annotations, ...identity.annotations };
  // Two monitors stamp the same heartbeat row (an upsert), so a restart never leaves the signal without a backend.
  const n = `${regionId}-${name}`;
  const r = registerKitService(m, { serviceAccount: n, configMap: n, deployment: n, service: n, podDisruptionBudget: `${n}-pdb`, podMonitor: `${n}-monitor` }, child);
  const rule = new k8s.apiextensions.CustomResource(
    `${n}-rules`,
    {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "PrometheusRule",
      metadata: { ...(m.service.metadata as object), name: "replication-lag" },
      spec: replicationLagRules(
        regionId,
        writers.filter((w) => w !== held.writes?.writer),
        spec.replication.maxLagSeconds,
      ),
    },
    child,
  );
  return [r.serviceAccount, r.configMap, r.deployment, r.service, r.podDisruptionBudget, r.podMonitor, rule];
}
