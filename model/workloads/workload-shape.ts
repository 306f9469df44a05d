/**
 * The shape of a workload spec (spec.ts) and the per-region objects its env and mounts refer to: shared by the
 * spec itself and the per-service parts (service-parts.ts), which spec.ts re-exports.
 */
import type { AlertRule } from "../time/alerts.js";
import type { RuntimeService, ServiceName } from "../services.js";
import type { EstateSpec } from "../estate.js";
import { STATE_DIR } from "./config.js";
import { type PortOrRange } from "./ratelimit-config.js";

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
   * Secret `signer.key`: the region's escrow transition log's note signer key (the first line of `meridian note keygen`),
   * one per region, operator-created; with it the log is kept in PostgreSQL across restarts (service-parts.ts).
   */
  escrowTransitionsSigner: "meridian-escrow-transitions-signer",
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
  /**
   * Secret `password` (and `username` for an ACL user, `ca.crt` for a private CA) of the allocator's Redis Cluster
   * (meridian:runtime.ratelimit.allocatorRedisCluster): operator-created for named nodes; for a managed cluster the
   * component creates it with the AUTH token and `nodes`, the configuration endpoint.
   */
  allocatorRedisSecret: "meridian-allocator-redis",
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
    redisCluster?: PortOrRange[];
    /** The cluster's nodes come from the Secret (a managed cluster's configuration endpoint). */
    redisClusterFromSecret?: boolean;
  };
  /**
   * Durable state each pod keeps across restarts, rescheduling and deletion: the workload runs as a
   * StatefulSet with one PersistentVolumeClaim per pod (`size`) mounted at `${STATE_DIR}/<service>`.
   */
  state?: { size: string };
  /** Alerts on the service's own metrics (model/workloads/alerts.ts), rendered as a PrometheusRule; often none. */
  alerts: AlertRule[];
}

/** Requests and limits per service, and how far its autoscaler may go above the stack's replicas. */
interface Sizing {
  requests: { cpu: string; memory: string };
  memoryLimit: string;
  /** HPA ceiling as a multiple of `runtime.replicas`. */
  burstFactor: number;
}

/** Sized for their hot paths: rate limiting and escrow scale out with traffic; the log and clock do not. */
export const SIZING: Record<ServiceName, Sizing> = {
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
  // One pairing check per certificate (a combine of t partials in the ledger region); the chain in memory, pruned.
  certchain: { requests: { cpu: "100m", memory: "128Mi" }, memoryLimit: "256Mi", burstFactor: 1 },
};

/**
 * Quota runs only when the estate has tenants (its tree needs at least one); the map runs while any of its writers
 * has something to publish: quota, or escrow selling any SKU (every region's escrow publishes its balances there).
 */
export function hasWork(spec: EstateSpec, name: ServiceName): boolean {
  if (name === "quota") return spec.runtime.quota.tenants.length > 0;
  if (name === "map") return hasWork(spec, "quota") || Object.keys(spec.runtime.escrow.inventory).length > 0;
  return true;
}
