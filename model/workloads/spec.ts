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
import { attestAlerts, certchainAlerts, monitorAlerts, rateLimitAlerts, witnessAlerts } from "./alerts.js";
import { NAMESPACES, regionById, type EstateSpec } from "../estate.js";
import { regionIdentity, RUNTIME_SERVICES, type RuntimeService, type ServiceName } from "../services.js";
import { certchainDeployed, deployedWitness, ledgerRegion } from "./config.js";
import { serviceParts, storeEnv } from "./service-parts.js";
import { hasWork, SIZING, type WorkloadSpec } from "./workload-shape.js";

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
 * a second pod would verify every entry again and gossip the same checkpoints. A region's certificate chain is one
 * writer of its chain file (two issuers would race for each height). A witness is one signer with one
 * cosigned state: two pods would each cosign from their own volume, and one could be walked back behind the other.
 */
const ONE_PER_REGION: ReadonlySet<ServiceName> = new Set(["escrow", "attest", "monitor", "witness", "certchain"]);

/**
 * The global allocator serves every region from the ledger region (the mesh routes the other regions' calls there);
 * its replicas share their budgets through that region's Redis, so they scale like any stateless service there.
 * The other regions keep the Deployment at zero: a standby a failover scales up (against its own region's Redis,
 * which starts empty: up to one more limit's worth in the window of the failover).
 */
const LEDGER_ONLY: ReadonlySet<ServiceName> = new Set(["allocator"]);

const TARGET_CPU_PERCENT = 70;

export { CONFIG_DIR, HTTP_PORT, STATE_DIR, WORKLOAD_OBJECTS, type EnvVar, type Probe, type WorkloadSpec } from "./workload-shape.js";

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
    // A service with an account per region (the rate limiter) runs as this region's: its ServiceAccount, pods and SPIFFE ID.
    service: service.accountPerRegion ? { ...service, ...regionIdentity(service, regionId) } : service,
    region: regionId,
    image: spec.runtime.image,
    replicas: single ? (regionId === ledgerRegion(spec) && hasWork(spec, service.name) ? 1 : 0) : onePerRegion ? 1 : ledgerOnly ? (regionId === ledgerRegion(spec) ? min : 0) : min,
    autoscaling: single || onePerRegion || ledgerOnly ? null : { minReplicas: min, maxReplicas: min * sizing.burstFactor, targetCpuPercent: TARGET_CPU_PERCENT },
    strategy: single || onePerRegion ? "Recreate" : "RollingUpdate",
    maxUnavailable: 1,
    resources: { requests: sizing.requests, limits: { memory: sizing.memoryLimit } },
    env: [{ name: "MERIDIAN_REGION", value: regionId }, { name: "MERIDIAN_SERVICE", value: service.name }, ...storeEnv(parts.stores)],
    alerts:
      service.name === "ratelimit"
        ? rateLimitAlerts(spec.runtime.ratelimit.anomaly)
        : service.name === "attest"
          ? attestAlerts()
          : service.name === "monitor"
            ? monitorAlerts()
            : service.name === "witness"
              ? witnessAlerts()
              : service.name === "certchain"
                ? certchainAlerts()
                : [],
    ...parts,
  };
}

/**
 * The runtime services the estate runs, in catalogue order; the monitor only when the stack names the log's
 * verifier key (without it there is nothing to verify checkpoints against), the witness only when the stack deploys
 * one (in some region: regionWorkloads keeps it to those), the certificate chain only when the log's checkpoints are
 * signed by a threshold group of witnesses the estate deploys (its issuer asks them to sign certificates).
 */
export function deployedServices(spec: EstateSpec): RuntimeService[] {
  return RUNTIME_SERVICES.filter((s) => s.name !== "monitor" || spec.runtime.prooflog.verifierKey !== undefined).filter(
    (s) => (s.name !== "witness" || spec.regions.some((r) => deployedWitness(spec, r.id) !== undefined)) && (s.name !== "certchain" || certchainDeployed(spec)),
  );
}

/** Every deployed runtime service's workload in one region (a witness only in a region the stack deploys one in). */
export function regionWorkloads(spec: EstateSpec, regionId: string): WorkloadSpec[] {
  return deployedServices(spec)
    .filter((s) => s.name !== "witness" || deployedWitness(spec, regionId) !== undefined)
    .map((s) => workloadSpec(spec, regionId, s));
}
