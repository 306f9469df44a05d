/**
 * Workload specs: for each region, what every runtime service of the catalogue (model/services.ts)
 * runs — the image, replica and autoscaling bounds, resources, the `meridian <service> serve …` command
 * line the image's ENTRYPOINT (`node bin/meridian.mjs`) runs, environment, probes and the config files
 * (model/workloads/config.ts). Pure. The component turns each spec into Kubernetes objects one to one.
 * Invariant: every serve command reads its settings from its mounted ConfigMap (`--config`, validated
 * by the service's own zod schema), so a changed stack value reaches the pod without an image rebuild;
 * args carry only the listen address, secret file paths and store URLs — and a store URL is never
 * written in clear: it is assembled by Kubernetes from Secret and ConfigMap refs.
 */
import type { AlertRule } from "../time/alerts.js";
import { attestAlerts, monitorAlerts, rateLimitAlerts, witnessAlerts } from "./alerts.js";
import { NAMESPACES, regionById, type EstateSpec } from "../estate.js";
import { allowedCallerIds, callerIdentity, RUNTIME_SERVICES, runtimeService, spiffeId, type RuntimeService, type ServiceName } from "../services.js";
import { meshServerSection } from "../security/mesh-identity.js";
import {
  allocatorServiceConfig,
  allocatorUrl,
  attestServiceConfig,
  clockRegionConfig,
  deployedWitness,
  escrowMapSection,
  escrowRegionConfig,
  ledgerRegion,
  mapServiceConfig,
  monitorServiceConfig,
  proofLogConfig,
  quotaServiceConfig,
  rateLimitEstateConfig,
  regionTimeReference,
  STATE_DIR,
  witnessServiceConfig,
} from "./config.js";

/** Objects the workloads component creates per region, by name; env and mounts refer to them. */
export const WORKLOAD_OBJECTS = {
  /** Secret `url`: the region's managed Redis, as `redis://` or `rediss://` (component-built). */
  redisSecret: "meridian-redis",
  /** ConfigMap `postgres-host`, `postgres-port`, `postgres-database`: the ledger primary (component-built). */
  endpoints: "meridian-endpoints",
  /** Secret `username`, `password` of the runtime's PostgreSQL role (operators create it; never in state). */
  postgresSecret: "meridian-postgres",
  /** Secret `signer.key`: the log's note signer key (`meridian note keygen --name <origin>`), operator-created. */
  prooflogSigner: "meridian-prooflog-signer",
  /**
   * Secret `secret`: the key waiting-room tokens are signed with, the same in every region (a token issued in one
   * region is honoured in another), operator-created; mounted only when a sale opens at a scheduled time.
   */
  escrowQueueSecret: "meridian-escrow-queue",
  /**
   * Secret `signer.key`: the attestation verifier's note signer key (`meridian note keygen --name <region>-attest`),
   * one per region, operator-created; relying parties verify results with its verifier key.
   */
  attestSigner: "meridian-attest-signer",
  /**
   * Secret `signer.key` (the witness's cosignature signer key, `meridian note keygen --type cosignature`) and, in
   * threshold mode, `share.json` (its share-<i>.json from the witnesses' `meridian tbls dkg` ceremony): operator-created
   * in the region hosting the witness, never in state.
   */
  witnessSigner: "meridian-witness-signer",
} as const;

export const CONFIG_DIR = "/etc/meridian";
export { STATE_DIR };
export const HTTP_PORT = 8080;

export type EnvVar =
  { name: string; value: string } | { name: string; valueFrom: { secretKeyRef: { name: string; key: string } } } | { name: string; valueFrom: { configMapKeyRef: { name: string; key: string } } };

export interface Probe {
  kind: "http" | "tcp";
  path?: string;
  port: number;
}

export interface WorkloadSpec {
  service: RuntimeService;
  region: string;
  image: string;
  /** Pods the Deployment asks for before any autoscaler acts (0: a standby). */
  replicas: number;
  /** Null for a single writer: an autoscaler would start a second one. */
  autoscaling: { minReplicas: number; maxReplicas: number; targetCpuPercent: number } | null;
  /** Recreate for a single writer, so a rollout never runs the old and the new pod at once. */
  strategy: "RollingUpdate" | "Recreate";
  /** PodDisruptionBudget: voluntary evictions take at most this many pods at once. */
  maxUnavailable: number;
  resources: { requests: { cpu: string; memory: string }; limits: { memory: string } };
  /** Container args after the ENTRYPOINT; `$(VAR)` is expanded by the kubelet from `env`. */
  args: string[];
  env: EnvVar[];
  /** ConfigMap `<service>-config` data, mounted at `/etc/meridian/<service>`. */
  config: Record<string, string>;
  /** Secrets mounted read-only as files: secret name → mount path. */
  secretMounts: { secret: string; mountPath: string }[];
  readiness: Probe;
  stores: {
    redis: boolean;
    postgres: boolean;
    /** Ports of the Redis Cluster nodes it reaches (its egress opens by port, as for the managed stores). */
    redisCluster?: number[];
  };
  /**
   * Durable state each pod keeps across restarts, rescheduling and deletion: the workload runs as a
   * StatefulSet with one PersistentVolumeClaim per pod (`size`) mounted at `${STATE_DIR}/<service>`.
   */
  state?: { size: string };
  /** Alerts on the service's own metrics (model/workloads/alerts.ts), rendered as a PrometheusRule; often none. */
  alerts: AlertRule[];
}

/**
 * The proof log has exactly one sequencer: its PostgreSQL store refuses a second writer for an index.
 * One pod runs in the ledger region; the other regions keep the Deployment at zero as a standby that a
 * failover scales to one after the ledger database fails over. The quota service is the same: one writer
 * per schema (a PostgreSQL advisory lock), next to the log it records every decision in. So is the map service:
 * one writer process per map (its PostgreSQL store fences a second writer's batch on the revision), beside the
 * quota service that writes it.
 */
export const SINGLE_WRITER: ReadonlySet<ServiceName> = new Set(["prooflog", "quota", "map"]);

/**
 * Escrow holds its region's lease and open reservations in process memory (the O(1) fast path), and a
 * lease has one holder: a second pod of the region would fence the first off. One pod per region, never
 * two at once (Recreate), no autoscaler; the store's lease expiry hands its units back if the pod dies.
 * The attestation verifier likewise: its nonces live in process memory (a nonce one pod issued is unknown
 * to another), and its registry store takes a PostgreSQL advisory lock that a second pod could not get —
 * a surge rollout would wait forever on a new pod that cannot start. A region's proof log monitor is one observer:
 * a second pod would verify every entry again and gossip the same checkpoints. A witness is one signer with one
 * cosigned state: two pods would each cosign from their own volume, and one could be walked back behind the other.
 */
const ONE_PER_REGION: ReadonlySet<ServiceName> = new Set(["escrow", "attest", "monitor", "witness"]);

/**
 * The global allocator serves every region from the ledger region (the mesh routes the other regions' calls there);
 * its replicas share their budgets through that region's Redis, so they scale like any stateless service there.
 * The other regions keep the Deployment at zero: a standby a failover scales up (against its own region's Redis,
 * which starts empty: up to one more limit's worth in the window of the failover).
 */
const LEDGER_ONLY: ReadonlySet<ServiceName> = new Set(["allocator"]);

interface Sizing {
  requests: { cpu: string; memory: string };
  memoryLimit: string;
  /** HPA ceiling as a multiple of `runtime.replicas`. */
  burstFactor: number;
}

/** Sized for their hot paths: rate limiting and escrow scale out with traffic; the log and clock do not. */
const SIZING: Record<ServiceName, Sizing> = {
  escrow: { requests: { cpu: "500m", memory: "512Mi" }, memoryLimit: "1Gi", burstFactor: 4 },
  ratelimit: { requests: { cpu: "500m", memory: "256Mi" }, memoryLimit: "512Mi", burstFactor: 4 },
  prooflog: { requests: { cpu: "250m", memory: "512Mi" }, memoryLimit: "1Gi", burstFactor: 2 },
  clock: { requests: { cpu: "100m", memory: "128Mi" }, memoryLimit: "256Mi", burstFactor: 2 },
  quota: { requests: { cpu: "100m", memory: "128Mi" }, memoryLimit: "256Mi", burstFactor: 1 },
  // A node attests when its SPIRE agent starts and re-attests each SVID period: a few quotes a minute per node.
  attest: { requests: { cpu: "100m", memory: "128Mi" }, memoryLimit: "256Mi", burstFactor: 1 },
  // The whole map is in memory: a few hundred bytes per quota node, batched writes.
  map: { requests: { cpu: "100m", memory: "256Mi" }, memoryLimit: "512Mi", burstFactor: 1 },
  // One small Lua script per budget grant; grants are asked for a few times per limit and second per replica.
  allocator: { requests: { cpu: "100m", memory: "128Mi" }, memoryLimit: "256Mi", burstFactor: 1 },
  // O(log n) state (a compact range); each round hashes the new entries once.
  monitor: { requests: { cpu: "100m", memory: "128Mi" }, memoryLimit: "256Mi", burstFactor: 1 },
  // One consistency proof check, one Ed25519 and (threshold mode) one BLS partial signature per checkpoint.
  witness: { requests: { cpu: "100m", memory: "128Mi" }, memoryLimit: "256Mi", burstFactor: 1 },
};
const TARGET_CPU_PERCENT = 70;

const listen = ["--port", String(HTTP_PORT), "--host", "0.0.0.0"];
const secretEnv = (name: string, secret: string, key: string): EnvVar => ({ name, valueFrom: { secretKeyRef: { name: secret, key } } });
const configEnv = (name: string, key: string): EnvVar => ({ name, valueFrom: { configMapKeyRef: { name: WORKLOAD_OBJECTS.endpoints, key } } });

/** node-postgres reads PGUSER/PGPASSWORD when the URL names neither, so the password never enters args. */
const POSTGRES_ENV: EnvVar[] = [
  secretEnv("PGUSER", WORKLOAD_OBJECTS.postgresSecret, "username"),
  secretEnv("PGPASSWORD", WORKLOAD_OBJECTS.postgresSecret, "password"),
  configEnv("PGHOST", "postgres-host"),
  configEnv("PGPORT", "postgres-port"),
  configEnv("PGDATABASE", "postgres-database"),
  { name: "MERIDIAN_POSTGRES_URL", value: "postgresql://$(PGHOST):$(PGPORT)/$(PGDATABASE)?sslmode=require" },
];
const REDIS_ENV: EnvVar[] = [secretEnv("MERIDIAN_REDIS_URL", WORKLOAD_OBJECTS.redisSecret, "url")];

function configPath(service: ServiceName, file: string): string {
  return `${CONFIG_DIR}/${service}/${file}`;
}

function serviceParts(spec: EstateSpec, regionId: string, name: ServiceName): Pick<WorkloadSpec, "args" | "config" | "secretMounts" | "readiness" | "stores" | "state"> {
  switch (name) {
    case "escrow": {
      // A scheduled sale queues buyers in the waiting room, whose tokens need the estate-wide signing secret.
      const queue = escrowRegionConfig(spec, regionId).skus.some((k) => k.opensAt !== undefined) ? configPath("escrow", "queue") : undefined;
      // Behind its sidecar (model/security/mesh-identity.ts): buyers' and admins' requests must arrive through a
      // catalogued caller (the gateway, the other regions' escrow), which the kit reads from the sidecar's XFCC.
      const escrow = runtimeService("escrow");
      const cfg = {
        ...escrowRegionConfig(spec, regionId, queue && `${queue}/secret`),
        callers: allowedCallerIds(spec.pki.trustDomain, "escrow"),
        server: meshServerSection(spec.pki.trustDomain, escrow),
        // Balances published to the verifiable map (off the sale path), while the estate runs it.
        ...(hasWork(spec, "map") ? escrowMapSection() : {}),
      };
      return {
        // Everything the service runs with is in its config file (runtime/escrow's schema); the store URL is a secret.
        args: ["escrow", "serve", "--config", configPath("escrow", "escrow.json"), ...listen, "--postgres", "$(MERIDIAN_POSTGRES_URL)"],
        config: { "escrow.json": JSON.stringify(cfg, null, 2) },
        secretMounts: queue ? [{ secret: WORKLOAD_OBJECTS.escrowQueueSecret, mountPath: queue }] : [],
        // The service kit's readiness: PostgreSQL answering and the clock trustworthy (and not draining).
        readiness: { kind: "http", path: "/readyz", port: HTTP_PORT },
        stores: { redis: false, postgres: true },
      };
    }
    case "ratelimit": {
      const cfg = rateLimitEstateConfig(spec);
      const grpc = RUNTIME_SERVICES.find((s) => s.name === "ratelimit")!.ports.find((p) => p.appProtocol === "grpc")!;
      // runtime/ratelimit's service config (ratelimitConfigSchema); the rules are the YAML beside it.
      // Behind its sidecar (model/security/mesh-identity.ts): callers are the mesh peers the sidecar verified. `callers`
      // gates the checks (HTTP and gRPC), so it lists every catalogued caller: the gateway (external clients' checks) and
      // the services; `outcomesCallers` gates the reported outcomes, the services alone — as the mesh admits the gateway
      // to the public routes only, not to /outcomes.
      const ratelimit = runtimeService("ratelimit");
      const { anomaly } = spec.runtime.ratelimit;
      const service = {
        rules: configPath("ratelimit", "config.yaml"),
        region: regionId,
        instances: spec.runtime.replicas,
        maxOffsetMs: spec.time.maxOffsetMs,
        grpc: { port: grpc.port },
        timeReference: regionTimeReference(spec, regionId),
        callers: allowedCallerIds(spec.pki.trustDomain, "ratelimit"),
        outcomesCallers: [...new Set(ratelimit.callers.filter((c) => "service" in c).map((c) => spiffeId(spec.pki.trustDomain, callerIdentity(c))))].sort(),
        server: meshServerSection(spec.pki.trustDomain, ratelimit),
        // The estate-wide limit is global: its budgets come from the allocator. While it does not answer, each replica
        // spends limit / instances per second of its own, with instances every region's most replicas together: the
        // regions then admit at most twice the limit in a second (the allocator's grants from before, plus that).
        globalAllocator: { url: allocatorUrl(), failureMode: "local", instances: spec.regions.length * spec.runtime.replicas * SIZING.ratelimit.burstFactor },
        ...(anomaly.enabled
          ? { anomaly: { intervalMs: anomaly.intervalMs, halfLifeIntervals: anomaly.halfLifeIntervals, threshold: anomaly.threshold, warmupIntervals: anomaly.warmupIntervals } }
          : {}),
      };
      return {
        args: ["ratelimit", "serve", "--config", configPath("ratelimit", "ratelimit.json"), ...listen, "--redis", "$(MERIDIAN_REDIS_URL)"],
        config: { "ratelimit.json": JSON.stringify(service, null, 2), "config.yaml": cfg.yaml },
        secretMounts: [],
        // The service kit's readiness: rules loaded (and Redis answering, under the default failure policy).
        readiness: { kind: "http", path: "/readyz", port: HTTP_PORT },
        stores: { redis: true, postgres: false },
      };
    }
    case "prooflog": {
      // Checkpoints commit-wait on the log's clock, measured by its node's chrony through the time agent (runtime/prooflog/commit-wait.ts).
      // In threshold mode the group's public part is a file beside the config (the log reads group.json, as `log serve --witness-threshold` does).
      const { witnessThreshold, ...log } = proofLogConfig(spec);
      const cfg = {
        ...log,
        ...(witnessThreshold && { witnessThreshold: { name: witnessThreshold.name, group: configPath("prooflog", "group.json") } }),
        maxOffsetMs: spec.time.maxOffsetMs,
        timeReference: regionTimeReference(spec, regionId),
      };
      return {
        // Origin and witnesses come from the config file (runtime/prooflog's schema); the key is a mounted secret.
        args: ["log", "serve", "--config", configPath("prooflog", "prooflog.json"), "--postgres", "$(MERIDIAN_POSTGRES_URL)", ...listen, "--key", configPath("prooflog", "signer/signer.key")],
        config: { "prooflog.json": JSON.stringify(cfg, null, 2), ...(witnessThreshold && { "group.json": JSON.stringify(witnessThreshold.group, null, 2) }) },
        secretMounts: [{ secret: WORKLOAD_OBJECTS.prooflogSigner, mountPath: configPath("prooflog", "signer") }],
        // The kit's readiness: the log writable, a checkpoint published, PostgreSQL answering.
        readiness: { kind: "http", path: "/readyz", port: HTTP_PORT },
        stores: { redis: false, postgres: true },
      };
    }
    case "quota": {
      // The tree, schema, log and identity are in the file (runtime/quota's schema); the store URL is a secret.
      // Its clock is measured by its node's chrony through the time agent, with the estate's max offset (runtime/clock/reference.ts).
      const base = quotaServiceConfig(spec);
      const mesh = meshServerSection(spec.pki.trustDomain, runtimeService("quota"));
      const cfg = { ...base, maxOffsetMs: spec.time.maxOffsetMs, timeReference: regionTimeReference(spec, regionId), server: { ...mesh, auth: { ...base.server?.auth, ...mesh.auth } } };
      return {
        args: ["ratelimit", "quota", "--config", configPath("quota", "quota.json"), ...listen, "--postgres", "$(MERIDIAN_POSTGRES_URL)"],
        config: { "quota.json": JSON.stringify(cfg, null, 2) },
        secretMounts: [],
        // The kit's readiness: PostgreSQL answering and the writer lock held.
        readiness: { kind: "http", path: "/readyz", port: HTTP_PORT },
        stores: { redis: false, postgres: true },
      };
    }
    case "attest": {
      // Runtime/attest's config plus the kit's mesh identity (revocation is an operator route); the key is a mounted
      // secret, the registry's PostgreSQL URL a flag the kubelet expands from the pod's env.
      const cfg = { ...attestServiceConfig(spec, regionId, configPath("attest", "signer/signer.key")), server: meshServerSection(spec.pki.trustDomain, runtimeService("attest")) };
      return {
        args: ["attest", "serve", "--config", configPath("attest", "attest.json"), ...listen, "--postgres", "$(MERIDIAN_POSTGRES_URL)"],
        config: { "attest.json": JSON.stringify(cfg, null, 2) },
        secretMounts: [{ secret: WORKLOAD_OBJECTS.attestSigner, mountPath: configPath("attest", "signer") }],
        // The kit's readiness: the registry's PostgreSQL answering (the registry caught up from the log before it listens).
        readiness: { kind: "http", path: "/readyz", port: HTTP_PORT },
        stores: { redis: false, postgres: true },
      };
    }
    case "map": {
      // Maps, log and writers in the file (runtime/vmap's schema); the store URL is a secret, as for the others.
      const cfg = { ...mapServiceConfig(spec), server: meshServerSection(spec.pki.trustDomain, runtimeService("map")) };
      return {
        args: ["map", "serve", "--config", configPath("map", "map.json"), ...listen, "--postgres", "$(MERIDIAN_POSTGRES_URL)"],
        config: { "map.json": JSON.stringify(cfg, null, 2) },
        secretMounts: [],
        // The kit's readiness: every map restored from its store and caught up from the log.
        readiness: { kind: "http", path: "/readyz", port: HTTP_PORT },
        stores: { redis: false, postgres: true },
      };
    }
    case "allocator": {
      // Its config file (runtime/ratelimit/global/server.ts's schema) plus the kit's mesh identity; the Redis URL is a
      // secret the kubelet expands into `--redis`, which puts the budgets in Redis (store: redis).
      // With a Redis Cluster in the stack, the config names its nodes and neither the secret URL nor its env is rendered.
      const cfg = { ...allocatorServiceConfig(spec), server: meshServerSection(spec.pki.trustDomain, runtimeService("allocator")) };
      const cluster = cfg.redisCluster;
      return {
        args: ["ratelimit", "allocator", "--config", configPath("allocator", "allocator.json"), ...listen, ...(cluster ? [] : ["--redis", "$(MERIDIAN_REDIS_URL)"])],
        config: { "allocator.json": JSON.stringify(cfg, null, 2) },
        secretMounts: [],
        // The kit's readiness: Redis answering (the store:redis probe, on a Cluster every node and all slots, and this process's connection).
        readiness: { kind: "http", path: "/readyz", port: HTTP_PORT },
        stores: cluster
          ? { redis: false, postgres: false, redisCluster: [...new Set(cluster.map((n) => Number(n.slice(n.lastIndexOf(":") + 1))))].sort((a, b) => a - b) }
          : { redis: true, postgres: false },
      };
    }
    case "monitor": {
      // The log's key, witness policy and threshold group, and the other regions' monitors as peers: all in the file
      // (runtime/prooflog/monitor's schema); the group's public part is a file beside it, as for the log.
      const monitor = monitorServiceConfig(spec, regionId, configPath("monitor", "group.json"));
      if (monitor === null) throw new Error("monitor: the stack names no verifier key for the log (meridian:runtime.prooflog.verifierKey)");
      const group = proofLogConfig(spec).witnessThreshold?.group;
      // Its evidence and last verified checkpoint outlive the pod (a claim per pod): a restarted monitor still alerts on
      // what it saw and refuses a log that rolled back while it was down.
      const cfg = { ...monitor, stateFile: `${STATE_DIR}/monitor/state.json`, server: meshServerSection(spec.pki.trustDomain, runtimeService("monitor")) };
      return {
        args: ["log", "monitor", "--config", configPath("monitor", "monitor.json"), ...listen],
        config: { "monitor.json": JSON.stringify(cfg, null, 2), ...(monitor.threshold && group && { "group.json": JSON.stringify(group, null, 2) }) },
        secretMounts: [],
        // The kit's readiness: listening (a stale or failing monitor stays up to serve its evidence; its metrics alert).
        readiness: { kind: "http", path: "/readyz", port: HTTP_PORT },
        stores: { redis: false, postgres: false },
        state: { size: "1Gi" },
      };
    }
    case "witness": {
      // Its keys are a mounted Secret (the signer key and the DKG share); the log's key and the pinned group are in the
      // files (runtime/prooflog/witness's schema), the group's public part beside the config, as for the log.
      const signer = configPath("witness", "signer");
      const cfg = witnessServiceConfig(spec, regionId, { key: `${signer}/signer.key`, group: configPath("witness", "group.json"), share: `${signer}/share.json` });
      if (cfg === null) throw new Error(`witness: the stack deploys no witness in ${regionId} (meridian:runtime.prooflog.witnesses)`);
      const group = spec.runtime.prooflog.witnessThreshold?.group;
      return {
        args: ["log", "witness", "--config", configPath("witness", "witness.json"), ...listen],
        config: {
          "witness.json": JSON.stringify({ ...cfg, server: meshServerSection(spec.pki.trustDomain, runtimeService("witness")) }, null, 2),
          ...(cfg.threshold && group && { "group.json": JSON.stringify(group, null, 2) }),
        },
        secretMounts: [{ secret: WORKLOAD_OBJECTS.witnessSigner, mountPath: signer }],
        // The kit's readiness: listening, its state read and its share checked against the group's commitments.
        readiness: { kind: "http", path: "/readyz", port: HTTP_PORT },
        stores: { redis: false, postgres: false },
        // What it cosigned per log outlives the pod: a restarted witness still refuses a checkpoint that rolls back.
        state: { size: "1Gi" },
      };
    }
    case "clock": {
      const cfg = { ...clockRegionConfig(spec, regionId), server: meshServerSection(spec.pki.trustDomain, runtimeService("clock")) };
      return {
        // Region, max offset, skew thresholds and the node time agent: all in the file (runtime/clock's schema).
        args: ["time", "serve", "--config", configPath("clock", "clock.json"), ...listen],
        config: { "clock.json": JSON.stringify(cfg, null, 2) },
        secretMounts: [],
        // The kit's readiness: out of the Service while strong operations are refused (frozen skew, ε beyond
        // its bound, a forward clock jump).
        readiness: { kind: "http", path: "/readyz", port: HTTP_PORT },
        stores: { redis: false, postgres: false },
        // The HLC's persisted wall-time upper bound (clock.json's dataDir) must outlive the pod: a killed,
        // evicted or rescheduled pod then waits only until its clock passes the bound, and a clock that went
        // backwards past it refuses to start. An emptyDir dies with the pod; hostPath is per node and
        // forbidden in the restricted runtime namespace. A volume per pod: a StatefulSet's claim.
        state: { size: "1Gi" },
      };
    }
  }
}

export function workloadSpec(spec: EstateSpec, regionId: string, service: RuntimeService): WorkloadSpec {
  regionById(spec, regionId);
  if (service.namespace !== NAMESPACES.runtime) throw new Error(`${service.name}: runtime services live in ${NAMESPACES.runtime}, not ${service.namespace}`);
  const sizing = SIZING[service.name];
  const min = spec.runtime.replicas;
  const parts = serviceParts(spec, regionId, service.name);
  const single = SINGLE_WRITER.has(service.name);
  const onePerRegion = ONE_PER_REGION.has(service.name);
  const ledgerOnly = LEDGER_ONLY.has(service.name);
  return {
    service,
    region: regionId,
    image: spec.runtime.image,
    replicas: single ? (regionId === ledgerRegion(spec) && hasWork(spec, service.name) ? 1 : 0) : onePerRegion ? 1 : ledgerOnly ? (regionId === ledgerRegion(spec) ? min : 0) : min,
    autoscaling: single || onePerRegion || ledgerOnly ? null : { minReplicas: min, maxReplicas: min * sizing.burstFactor, targetCpuPercent: TARGET_CPU_PERCENT },
    strategy: single || onePerRegion ? "Recreate" : "RollingUpdate",
    maxUnavailable: 1,
    resources: { requests: sizing.requests, limits: { memory: sizing.memoryLimit } },
    env: [{ name: "MERIDIAN_REGION", value: regionId }, { name: "MERIDIAN_SERVICE", value: service.name }, ...(parts.stores.postgres ? POSTGRES_ENV : []), ...(parts.stores.redis ? REDIS_ENV : [])],
    alerts:
      service.name === "ratelimit"
        ? rateLimitAlerts(spec.runtime.ratelimit.anomaly)
        : service.name === "attest"
          ? attestAlerts()
          : service.name === "monitor"
            ? monitorAlerts()
            : service.name === "witness"
              ? witnessAlerts()
              : [],
    ...parts,
  };
}

/**
 * Quota runs only when the estate has tenants (its tree needs at least one); the map runs while any of its writers
 * has something to publish: quota, or escrow selling any SKU (every region's escrow publishes its balances there).
 */
function hasWork(spec: EstateSpec, name: ServiceName): boolean {
  if (name === "quota") return spec.runtime.quota.tenants.length > 0;
  if (name === "map") return hasWork(spec, "quota") || Object.keys(spec.runtime.escrow.inventory).length > 0;
  return true;
}

/**
 * The runtime services the estate runs, in catalogue order; the monitor only when the stack names the log's
 * verifier key (without it there is nothing to verify checkpoints against), the witness only when the stack deploys
 * one (in some region: regionWorkloads keeps it to those).
 */
export function deployedServices(spec: EstateSpec): RuntimeService[] {
  return RUNTIME_SERVICES.filter((s) => s.name !== "monitor" || spec.runtime.prooflog.verifierKey !== undefined).filter(
    (s) => s.name !== "witness" || spec.regions.some((r) => deployedWitness(spec, r.id) !== undefined),
  );
}

/** Every deployed runtime service's workload in one region (a witness only in a region the stack deploys one in). */
export function regionWorkloads(spec: EstateSpec, regionId: string): WorkloadSpec[] {
  return deployedServices(spec)
    .filter((s) => s.name !== "witness" || deployedWitness(spec, regionId) !== undefined)
    .map((s) => workloadSpec(spec, regionId, s));
}
