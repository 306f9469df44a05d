/**
 * RuntimeServices (`meridian:workloads:RuntimeServices`): the runtime on one regional cluster. It
 * creates the region's managed Redis, publishes the store endpoints (Secret `meridian-redis` with the
 * Redis URL, ConfigMap `meridian-endpoints` with the ledger primary from the replication topology),
 * and, for every service of the catalogue, the objects of components/workloads/manifests.ts built from
 * model/workloads, plus, in a multi-cluster stack, the region-addressed Services escrow's peers are reached by.
 * It computes no number: config, args and bounds are the model's.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { NAMESPACES, type EstateSpec, type Region } from "../../model/estate.js";
import { regionWorkloads, WORKLOAD_OBJECTS, type WorkloadSpec } from "../../model/workloads/spec.js";
import type { RegionCluster } from "../cluster/region-cluster.js";
import { managedRedis } from "./cache.js";
import { managedRedisCluster, type ManagedRedisCluster } from "./allocator-cluster.js";
import { workloadManifests, type ManifestContext } from "./manifests.js";
import { regionalServices } from "../../model/mesh/multi-primary.js";

export interface PostgresEndpoint {
  host: pulumi.Input<string>;
  port: number;
  database: string;
}

export interface RuntimeServicesArgs {
  spec: EstateSpec;
  region: Region;
  cluster: RegionCluster;
  /** The ledger primary (escrow's pool, the proof log) from the replication topology. */
  postgres: PostgresEndpoint;
  /** The allocator's managed Redis Cluster, from the ledger region's RuntimeServices (for a standby region's Secret). */
  allocatorCluster?: ManagedRedisCluster | undefined;
}

export class RuntimeServices extends pulumi.ComponentResource {
  public readonly workloads: WorkloadSpec[];
  public readonly redisUrl: pulumi.Output<string>;
  /** The allocator's managed Redis Cluster this region's Secret points at (created here in the ledger region). */
  public readonly allocatorCluster: ManagedRedisCluster | undefined;
  /** Each service's pod controller: a Deployment, or a StatefulSet for a service with per-pod state (clock). */
  public readonly controllers: Record<string, k8s.apps.v1.Deployment | k8s.apps.v1.StatefulSet> = {};

  constructor(name: string, args: RuntimeServicesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("meridian:workloads:RuntimeServices", name, {}, opts);
    const { spec, region, cluster } = args;
    const k8sOpts = { parent: this, provider: cluster.provider, dependsOn: [cluster.namespaces.runtime] };
    const id = region.id;

    const redis = managedRedis(spec, region, { parent: this });
    this.redisUrl = redis.url;
    const storeLabels = { "app.kubernetes.io/part-of": "meridian", "app.kubernetes.io/component": "runtime-stores", "meridian.dev/region": id };
    const redisSecret = new k8s.core.v1.Secret(
      `${id}-${WORKLOAD_OBJECTS.redisSecret}`,
      {
        metadata: { name: WORKLOAD_OBJECTS.redisSecret, namespace: NAMESPACES.runtime, labels: storeLabels },
        type: "Opaque",
        stringData: { url: redis.url },
      },
      k8sOpts,
    );
    const endpoints = new k8s.core.v1.ConfigMap(
      `${id}-${WORKLOAD_OBJECTS.endpoints}`,
      {
        metadata: { name: WORKLOAD_OBJECTS.endpoints, namespace: NAMESPACES.runtime, labels: storeLabels },
        data: {
          "postgres-host": args.postgres.host,
          "postgres-port": String(args.postgres.port),
          "postgres-database": args.postgres.database,
        },
      },
      k8sOpts,
    );

    // The allocator's managed Redis Cluster: created once, in the ledger region (where its pods run), and its Secret in
    // every region that renders an allocator Deployment — the standbys' (0 replicas) too, from the same outputs, so a
    // failover that scales a standby up joins the same budgets instead of crash-looping on a missing Secret.
    const allocator = regionWorkloads(spec, id).find((w) => w.service.name === "allocator");
    const managed = allocator !== undefined && spec.runtime.ratelimit.allocatorRedisCluster?.managed !== undefined;
    if (managed && allocator.replicas === 0 && !args.allocatorCluster)
      throw new Error(`RuntimeServices ${id}: the allocator's managed cluster is created in the ledger region; build that region first and pass its allocatorCluster`);
    this.allocatorCluster = !managed ? undefined : allocator.replicas > 0 ? managedRedisCluster(spec, region, { parent: this }) : args.allocatorCluster;
    const allocatorSecret = this.allocatorCluster
      ? new k8s.core.v1.Secret(
          `${id}-${WORKLOAD_OBJECTS.allocatorRedisSecret}`,
          {
            metadata: { name: WORKLOAD_OBJECTS.allocatorRedisSecret, namespace: NAMESPACES.runtime, labels: storeLabels },
            type: "Opaque",
            stringData: this.allocatorCluster.secretData,
          },
          k8sOpts,
        )
      : undefined;

    const ctx: ManifestContext = { environment: spec.environment, trustDomain: spec.pki.trustDomain, maxOffsetMs: spec.time.maxOffsetMs, requireEpoch: spec.time.gateway.requireEpoch };
    this.workloads = regionWorkloads(spec, id);
    for (const w of this.workloads) {
      const m = workloadManifests(w, ctx);
      const n = (kind: string) => `${id}-${w.service.name}-${kind}`;
      // The allocator's cloud identity towards its managed cluster (GCP: Workload Identity's annotation), in every region.
      // The allocator's cloud identity towards its managed cluster (GCP: Workload Identity's annotation), in every region.
      const identity = w.service.name === "allocator" ? this.allocatorCluster?.serviceAccountAnnotations : undefined;
      const meta = m.serviceAccount.metadata as k8s.types.input.meta.v1.ObjectMeta;
      const accountArgs = identity ? { ...m.serviceAccount, metadata: { ...meta, annotations: { ...(meta.annotations as Record<string, string>), ...identity } } } : m.serviceAccount;
      const account = new k8s.core.v1.ServiceAccount(n("serviceaccount"), accountArgs, k8sOpts);
      const config = new k8s.core.v1.ConfigMap(n("config"), m.configMap, k8sOpts);
      const stores = [...(w.stores.redis ? [redisSecret] : []), ...(w.stores.postgres ? [endpoints] : []), ...(w.stores.redisClusterFromSecret && allocatorSecret ? [allocatorSecret] : [])];
      const controllerOpts = { ...k8sOpts, dependsOn: [cluster.namespaces.runtime, account, config, ...stores] };
      this.controllers[w.service.name] =
        m.controller.kind === "StatefulSet"
          ? new k8s.apps.v1.StatefulSet(n("statefulset"), m.controller.args, controllerOpts)
          : new k8s.apps.v1.Deployment(n("deployment"), m.controller.args, controllerOpts);
      new k8s.core.v1.Service(n("service"), m.service, k8sOpts);
      if (m.horizontalPodAutoscaler) new k8s.autoscaling.v2.HorizontalPodAutoscaler(n("hpa"), m.horizontalPodAutoscaler, k8sOpts);
      new k8s.policy.v1.PodDisruptionBudget(n("pdb"), m.podDisruptionBudget, k8sOpts);
      new k8s.apiextensions.CustomResource(n("podmonitor"), m.podMonitor, k8sOpts);
      if (m.prometheusRule) new k8s.apiextensions.CustomResource(n("prometheusrule"), m.prometheusRule, k8sOpts);
    }
    // Multi-cluster stacks: every region's region-addressed Services (escrow's peers), here too, so the names resolve
    // in this cluster and Istio routes each to its region's pods.
    for (const r of regionalServices(spec)) {
      new k8s.core.v1.Service(
        `${id}-${r.name}-service`,
        {
          metadata: {
            name: r.name,
            namespace: r.service.namespace,
            labels: { "app.kubernetes.io/part-of": "meridian", "app.kubernetes.io/component": "runtime", "meridian.dev/addressed-region": r.region },
          },
          spec: {
            type: "ClusterIP",
            selector: r.selector,
            ports: r.service.ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.name, protocol: "TCP", appProtocol: p.appProtocol })),
          },
        },
        k8sOpts,
      );
    }
    this.registerOutputs({ redisUrl: this.redisUrl });
  }
}
