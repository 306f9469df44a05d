/**
 * Each runtime service's configuration for one region, computed from the estate model (the escrow's config file:
 * escrow-region.ts): the HLC max offset and skew thresholds, the proof log's origin and witness set, and the trust services' files (the rate limit
 * services' and the allocator's: ratelimit-config.ts). Pure: the workloads component writes these into ConfigMaps
 * and command lines and never recomputes a number.
 */
import { regionById, type EstateSpec } from "../estate.js";
import { allowedCallerIds, runtimeService, serviceHost, spiffeId, type ServiceName } from "../services.js";
import { TIME_AGENT_ADDRESS } from "../time/hierarchy.js";
import { quotaTree } from "./tenants.js";
import { meshPeerUrls, regionalServices } from "../mesh/multi-primary.js";

/** Where a service's durable per-pod state is mounted: `${STATE_DIR}/<service>` (a PersistentVolumeClaim per pod). */
export const STATE_DIR = "/var/lib/meridian";

/**
 * Where every service's clock is measured: the node time agent on its own node, which serves that node's chrony
 * tracking (runtime/clock/agent.ts) — chrony votes among the region's references and its relay, so the error bound
 * covers the whole path to UTC. Every region deploys chrony and the agent (components/time/chrony.ts).
 */
export function regionTimeReference(spec: EstateSpec, regionId: string): { agent: string } {
  regionById(spec, regionId);
  return { agent: TIME_AGENT_ADDRESS };
}

export interface ClockRegionConfig {
  region: string;
  maxOffsetMs: number;
  degradeFraction: number;
  freezeFraction: number;
  recoveryHoldSeconds: number;
  driftPpm: number;
  leapSmear: boolean;
  /** The node time agent (host:port) its clock is measured against: chrony's tracking on its node. */
  agent: string;
  /** CockroachDB's forward-jump monitor: always on in a deployed clock. */
  forwardJumpCheck: boolean;
  /** Where the HLC persists its wall-time upper bound: the pod's own volume (WorkloadSpec.state). */
  dataDir: string;
  /** Clock domain gateway: the widest ± uncertainty a physical or legacy timestamp may carry into HLC. */
  maxUncertaintyMs: number;
  /** HLC reset protocol: the smallest HLC lead over physical time a reset may undo. */
  resetMinLeadMs: number;
  /** Refuse HLC timestamps that name no epoch. */
  requireEpoch: boolean;
}

export function clockRegionConfig(spec: EstateSpec, regionId: string): ClockRegionConfig {
  regionById(spec, regionId);
  const t = spec.time;
  return {
    region: regionId,
    maxOffsetMs: t.maxOffsetMs,
    degradeFraction: t.skew.degradeFraction,
    freezeFraction: t.skew.freezeFraction,
    recoveryHoldSeconds: t.skew.recoveryHoldSeconds,
    driftPpm: t.driftPpm,
    leapSmear: t.leapSmear,
    agent: regionTimeReference(spec, regionId).agent,
    forwardJumpCheck: true,
    dataDir: `${STATE_DIR}/clock`,
    maxUncertaintyMs: t.gateway.maxUncertaintyMs,
    resetMinLeadMs: t.gateway.resetMinLeadMs ?? t.maxOffsetMs,
    requireEpoch: t.gateway.requireEpoch,
  };
}

export interface Witness {
  name: string;
  /** Present when the log asks this witness to cosign (`--witness url=vkey`). */
  url?: string;
  vkey?: string;
}

type GroupJson = { scheme: "meridian-tbls/v1"; t: number; n: number; groupPublicKey: string; commitments: string[] };

/** The witnesses' threshold group as the log is given it: the note key name and group.json's content (and a rotation's next group). */
export interface WitnessThreshold {
  name: string;
  group: GroupJson;
  next?: GroupJson;
}

export interface ProofLogConfig {
  origin: string;
  witnesses: Witness[];
  /** Threshold mode (the log combines the witnesses' partial signatures into one under this group's key). */
  witnessThreshold?: WitnessThreshold;
  /** The tier-1 writer whose primary database holds the one log (a log has exactly one sequencer). */
  sequencerRegion: string;
}

/** The log is estate-wide: every region's log pods front the same database, so no region forks it. */
export function proofLogConfig(spec: EstateSpec): ProofLogConfig {
  const p = spec.runtime.prooflog;
  return {
    origin: p.origin,
    witnesses: p.witnesses.map((w) => (typeof w === "string" ? { name: w } : "region" in w ? { name: w.name, url: witnessUrl(spec, w.region), vkey: w.vkey } : { ...w })),
    ...(p.witnessThreshold && { witnessThreshold: p.witnessThreshold }),
    sequencerRegion: ledgerRegion(spec),
  };
}

/**
 * The region whose tier-1 primary holds the estate-wide ledgers (escrow's pool and the proof log):
 * the first writer. Every region reaches it over the private interconnect; others hold replicas.
 */
export function ledgerRegion(spec: Pick<EstateSpec, "replication">): string {
  const first = spec.replication.writers[0];
  if (first === undefined) throw new Error("meridian:replication.writers is empty; the runtime ledgers need a tier-1 writer");
  return first;
}

/**
 * The file `meridian ratelimit quota --config` reads: the tenants' quota tree (model/workloads/tenants.ts),
 * its PostgreSQL schema, the in-cluster proof log it records every decision in, the in-cluster map service it
 * publishes its state to, and the issuer whose JWTs
 * name principals (mTLS peers are named by their SPIFFE IDs). The PostgreSQL URL comes from `--postgres`.
 */
export function quotaServiceConfig(spec: EstateSpec) {
  const id = spec.runtime.quota.identity;
  return {
    ...quotaTree(spec),
    schema: "meridian_quota",
    log: serviceUrl("prooflog"),
    // Every node's usage and limits, published to the verifiable map (off the decision path) for tenants to prove.
    map: serviceUrl("map"),
    ...(id ? { server: { auth: { jwt: { issuer: id.issuer, audience: id.audience, jwks: id.jwksUri } } } } : {}),
  };
}

/**
 * The file `meridian attest serve --config` reads in a region's pod (runtime/attest's schema, with the kit's `server`
 * section added by the workload): the verifier signs results with `keyFile`, appends every result and registry event
 * to the estate's proof log (reached through the mesh: its pods run in the ledger region), keeps its registry in
 * its own schema of the ledger database (the URL comes from `--postgres`; one schema, and one advisory lock, per
 * region's verifier), answers only the region's SPIRE server, for the trust domain, and endorses the stack's nodes.
 */
export function attestServiceConfig(spec: EstateSpec, regionId: string, keyFile: string) {
  regionById(spec, regionId);
  const log = runtimeService("prooflog");
  const a = spec.runtime.attest;
  return {
    key: keyFile,
    nonceTtlSeconds: a.nonceTtlSeconds,
    log: `http://${serviceHost(log)}:${log.ports[0]!.port}`,
    store: { schema: attestSchemaName(regionId) },
    spire: { trustDomain: spec.pki.trustDomain, maxResultAgeSeconds: a.maxResultAgeSeconds },
    // The kit refuses anyone else the sidecar reports (XFCC), behind the mesh's own AuthorizationPolicy.
    callers: allowedCallerIds(spec.pki.trustDomain, "attest"),
    nodes: Object.fromEntries(Object.entries(a.nodes).map(([id, n]) => [id, { format: "tpm" as const, ak: n.ak, reference: n.reference }])),
  };
}

/** `meridian_attest_<region>`: region ids are DNS labels, so `-` becomes `_` and the name is a plain SQL identifier. */
function attestSchemaName(regionId: string): string {
  return `meridian_attest_${regionId.toLowerCase().replace(/[^a-z0-9_]/g, "_")}`;
}

/** The map of the tenants' quota state that the quota service publishes to (runtime/quota/map-publisher.ts). */
const QUOTA_MAP = "quota";
/** The map of each region's escrow balances that every region's escrow publishes to (runtime/escrow/map-publisher.ts). */
const ESCROW_MAP = "escrow";

/** Escrow's `map` and `mapName`: the map service (one pod, in the ledger region; the mesh routes every region's escrow there). */
export function escrowMapSection(): { map: string; mapName: string } {
  return { map: serviceUrl("map"), mapName: ESCROW_MAP };
}

/**
 * The file `meridian map serve --config` reads: its maps (the tenants' quota state; every region's escrow balances),
 * its own schema of the ledger database (one writer per schema: an advisory lock), the in-cluster proof log every
 * write batch's root is recorded in, and each map's own writer (by SPIFFE ID: the sidecar's XFCC peer) — the quota
 * service for `quota`, escrow for `escrow`. The PostgreSQL URL comes from `--postgres`.
 */
export function mapServiceConfig(spec: EstateSpec) {
  return {
    maps: [QUOTA_MAP, ESCROW_MAP],
    store: { schema: "meridian_vmap" },
    log: serviceUrl("prooflog"),
    // Per map: quota cannot write escrow's balances, nor escrow the quota state.
    writers: {
      [QUOTA_MAP]: { spiffe: [spiffeId(spec.pki.trustDomain, runtimeService("quota"))] },
      [ESCROW_MAP]: { spiffe: [spiffeId(spec.pki.trustDomain, runtimeService("escrow"))] },
    },
  };
}

/** How often each monitor polls the log (and gossips its verified checkpoint to its peers). */
const MONITOR_INTERVAL_MS = 10_000;

/**
 * The file `meridian log monitor --config` reads in a region's pod (runtime/prooflog/monitor's schema), or null when the
 * stack names no verifier key for the log (then nothing could be verified, and no monitor runs). It follows the
 * in-cluster log (the mesh routes it to the sequencer's region) under the policy the log is deployed with: the log's
 * key, every cosigning witness (whose monitoring endpoint it also reads), and `quorum none` — the deployed log publishes
 * without a cosignature quorum — plus, in threshold mode, the group signature the log publishes only with
 * (`groupFile`: group.json beside the config). Its peers are the other regions' monitors, addressed per region.
 */
export function monitorServiceConfig(spec: EstateSpec, regionId: string, groupFile: string) {
  regionById(spec, regionId);
  const vkey = spec.runtime.prooflog.verifierKey;
  if (vkey === undefined) return null;
  const log = proofLogConfig(spec);
  const witnesses = log.witnesses.flatMap((w) => (w.url && w.vkey ? [`witness ${w.name} ${w.vkey} ${w.url}`] : []));
  return {
    log: serviceUrl("prooflog"),
    policy: [`log ${vkey}`, ...witnesses, "quorum none", ""].join("\n"),
    peers: Object.values(meshPeerUrls(spec, "monitor", regionId)),
    intervalMs: MONITOR_INTERVAL_MS,
    ...(log.witnessThreshold && { threshold: { name: log.witnessThreshold.name, group: groupFile } }),
  };
}

/**
 * Where the log reaches the witness the estate deploys in `regionId`: that region's own witness Service (the mesh routes
 * it to the owning cluster), or the plain Service in a single-region estate.
 */
function witnessUrl(spec: EstateSpec, regionId: string): string {
  regionById(spec, regionId);
  const regional = regionalServices(spec).find((r) => r.service.name === "witness" && r.region === regionId);
  return regional ? `http://${regional.name}.${regional.service.namespace}.svc.cluster.local:${regional.service.ports[0]!.port}` : serviceUrl("witness");
}

/**
 * Whether the estate runs the certificate chain: the log's checkpoints are signed by the witnesses' threshold group,
 * and every witness holding a share is one the estate deploys (the issuer asks each to sign certificates).
 */
export function certchainDeployed(spec: EstateSpec): boolean {
  const p = spec.runtime.prooflog;
  const cosigning = p.witnesses.filter((w) => typeof w !== "string");
  return p.verifierKey !== undefined && p.witnessThreshold !== undefined && cosigning.length > 0 && cosigning.every((w) => "region" in w);
}

/** How often the ledger region's issuer certifies the log's latest checkpoint, and the followers read it. */
const CERTCHAIN_INTERVAL_MS = 30_000;
/** Certificates each region holds: older history is pruned (a light client syncs from a held checkpoint certificate). */
const CERTCHAIN_RETAIN = 100_000;

/**
 * The file `meridian cert serve --config` reads (runtime/certchain/service.ts's schema). The committee is the stack's
 * pinned witness group (`groupFile`: group.json beside the config). In the ledger region it issues: each round the
 * in-cluster log's latest group-signed checkpoint is certified by the deployed witnesses (each at its region's
 * Service), their partial signatures combined into one. Every other region follows the ledger region's chain through
 * its region-addressed Service, a light client keeping what it verified. The chain lives on the pod's volume.
 */
export function certchainServiceConfig(spec: EstateSpec, regionId: string, groupFile: string, nextGroupFile: string) {
  regionById(spec, regionId);
  const p = spec.runtime.prooflog;
  if (!certchainDeployed(spec)) return null;
  const ledger = ledgerRegion(spec);
  const common = { committee: groupFile, data: `${STATE_DIR}/certchain`, retain: CERTCHAIN_RETAIN };
  if (regionId === ledger) {
    const witnesses = p.witnesses.flatMap((w) => (typeof w !== "string" && "region" in w ? [witnessUrl(spec, w.region)] : []));
    // A rotation (witnessThreshold.next, `nextGroupFile` beside the config): the next certificate hands over to it.
    const next = p.witnessThreshold!.next ? { next: nextGroupFile } : {};
    return { ...common, issue: { log: serviceUrl("prooflog"), logKey: p.verifierKey!, name: p.witnessThreshold!.name, witnesses, ...next, intervalMs: CERTCHAIN_INTERVAL_MS } };
  }
  const upstream = regionalServices(spec).find((r) => r.service.name === "certchain" && r.region === ledger);
  return {
    ...common,
    follow: {
      url: upstream ? `http://${upstream.name}.${upstream.service.namespace}.svc.cluster.local:${upstream.service.ports[0]!.port}` : serviceUrl("certchain"),
      intervalMs: CERTCHAIN_INTERVAL_MS,
    },
  };
}

/** The witness the stack deploys in `regionId` (`{name, region, vkey}` among the log's witnesses), if any. */
export function deployedWitness(spec: EstateSpec, regionId: string): { name: string; vkey: string } | undefined {
  const w = spec.runtime.prooflog.witnesses.find((x) => typeof x !== "string" && "region" in x && x.region === regionId);
  return w && typeof w !== "string" ? { name: w.name, vkey: w.vkey } : undefined;
}

/**
 * The file `meridian log witness --config` reads in the region hosting a deployed witness (its service schema): the
 * signer key and threshold share are mounted Secrets, the log's verifier key the only log it cosigns, its cosigned
 * state on the pod's own volume (a restart cannot be talked into a rollback), and in threshold mode the group it holds
 * a share of (`groupFile`: group.json beside the config, the stack's pinned group) and, during a rotation, the only group
 * it signs a hand-over to (`files.next`: the stack's witnessThreshold.next).
 */
export function witnessServiceConfig(spec: EstateSpec, regionId: string, files: { key: string; group: string; share: string; next: string }) {
  const vkey = spec.runtime.prooflog.verifierKey;
  if (deployedWitness(spec, regionId) === undefined || vkey === undefined) return null;
  const threshold = spec.runtime.prooflog.witnessThreshold;
  return {
    key: files.key,
    logs: [vkey],
    data: `${STATE_DIR}/witness`,
    ...(threshold && { threshold: { name: threshold.name, group: files.group, share: files.share, ...(threshold.next && { next: files.next }) } }),
  };
}

/** A runtime service's in-cluster base URL (its first port). */
export function serviceUrl(name: ServiceName): string {
  const s = runtimeService(name);
  return `http://${serviceHost(s)}:${s.ports[0]!.port}`;
}
