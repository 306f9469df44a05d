/**
 * The runtime service catalogue: every service Meridian deploys onto each regional cluster (escrow,
 * ratelimit, prooflog, clock, quota, attest, map, allocator, monitor, witness, certchain) with its namespace, service account, ports and the identities allowed to
 * call it. It is the single source of these facts: SPIRE registrations, Istio authorization policies,
 * runtime mTLS allow-lists and the workloads that deploy the services all read it.
 * Invariant: a caller is another catalogued service, a named workload identity — whose SPIFFE ID is always
 * `spiffe://<trust domain>/ns/<namespace>/sa/<service account>` — or SPIRE's own server, whose SVID SPIRE mints
 * for itself (`spiffe://<trust domain>/spire/server`) and which no pod's service account names.
 */
import { GATEWAY, NAMESPACES } from "./estate.js";

export type ServiceName = "escrow" | "ratelimit" | "prooflog" | "clock" | "quota" | "attest" | "map" | "allocator" | "monitor" | "witness" | "certchain";
export const SERVICE_NAMES: readonly ServiceName[] = ["escrow", "ratelimit", "prooflog", "clock", "quota", "attest", "map", "allocator", "monitor", "witness", "certchain"];

export interface ServicePort {
  name: string;
  port: number;
  /** Istio's protocol selection reads the port name prefix; `appProtocol` says the same explicitly. */
  appProtocol: "http" | "grpc";
}

/** A workload identity: the Kubernetes service account a pod runs as. */
export interface WorkloadIdentity {
  namespace: string;
  serviceAccount: string;
}

/**
 * A SPIRE identity no service account names: `spiffe://<trust domain><path>`, held by the pods `selector` picks in
 * `namespace` (for NetworkPolicies, which know pods, not SPIFFE IDs).
 */
export interface SpireIdentity {
  path: `/spire/${string}`;
  namespace: string;
  selector: Record<string, string>;
}

export type Caller = { service: ServiceName } | { identity: WorkloadIdentity; description: string } | { spire: SpireIdentity; description: string };

/**
 * The SPIRE server of the region (the `spire` chart's server StatefulSet): its own SVID, which it presents itself.
 * Node attestation runs in it (a server NodeAttestor plugin), so it is what asks the attestation verifier.
 */
export const SPIRE_SERVER_IDENTITY: SpireIdentity = { path: "/spire/server", namespace: NAMESPACES.spire, selector: { "app.kubernetes.io/name": "server" } };

export interface RuntimeService extends WorkloadIdentity {
  name: ServiceName;
  description: string;
  ports: ServicePort[];
  /** Who may call this service; everything else is denied. */
  callers: Caller[];
  /**
   * Each region's pods run as their own service account, `<serviceAccount>-<region>` (regionIdentity), so each region
   * has its own SPIFFE ID and a service that binds a caller's requests to its ID (the allocator's `callers`) tells the
   * regions apart. Where such a service is a caller, every region's ID is admitted (callerSpiffeIds).
   */
  accountPerRegion?: true;
}

/** The ingress gateway's workload identity: external traffic reaches services only through it. */
export const GATEWAY_IDENTITY: WorkloadIdentity = { namespace: NAMESPACES.gateway, serviceAccount: GATEWAY.name };
const gateway: Caller = { identity: GATEWAY_IDENTITY, description: "ingress gateway (external clients)" };

/**
 * The operator identity: pods running as this service account (an operator's toolbox, admitted by Kubernetes
 * RBAC on who may create pods with it) get this SPIFFE ID, the only one admin and drill routes accept in the mesh.
 */
export const OPERATOR_IDENTITY: WorkloadIdentity = { namespace: NAMESPACES.runtime, serviceAccount: "meridian-operator" };
export const OPERATOR_POD_SELECTOR: Record<string, string> = { "app.kubernetes.io/name": "meridian-operator" };

const http: ServicePort = { name: "http", port: 8080, appProtocol: "http" };

/** One entry per runtime service; the workloads issue deploys exactly these. */
export const RUNTIME_SERVICES: readonly RuntimeService[] = [
  {
    name: "escrow",
    namespace: NAMESPACES.runtime,
    serviceAccount: "escrow",
    description: "escrowed inventory: per-region allocations, reservations and rebalancing",
    ports: [http],
    // Escrow rebalances with its peers in other regions, so it calls itself across clusters.
    callers: [gateway, { service: "escrow" }],
  },
  {
    name: "ratelimit",
    namespace: NAMESPACES.runtime,
    serviceAccount: "ratelimit",
    description: "global rate limits and quotas (Envoy RLS v3 over gRPC, HTTP admin)",
    ports: [http, { name: "grpc-rls", port: 8081, appProtocol: "grpc" }],
    callers: [gateway, { service: "escrow" }, { service: "ratelimit" }],
    // The regional limiters: the allocator holds each region's budgets under that region's SPIFFE ID, so no region's
    // limiter can claim, read or release another's (docs/ratelimit.md).
    accountPerRegion: true,
  },
  {
    name: "prooflog",
    namespace: NAMESPACES.runtime,
    serviceAccount: "prooflog",
    description: "tamper-evident proof log (tlog-tiles, checkpoints, cosignatures)",
    ports: [http],
    // Escrow, quota, the attestation verifier and the map service append (their decisions, results, registry
    // events, and every map write batch's root); every region's monitor reads its checkpoints and tiles; the certificate
    // chain's issuer reads its checkpoints.
    callers: [gateway, { service: "escrow" }, { service: "quota" }, { service: "attest" }, { service: "map" }, { service: "monitor" }, { service: "certchain" }],
  },
  {
    name: "clock",
    namespace: NAMESPACES.runtime,
    serviceAccount: "clock",
    description: "hybrid/true time: HLC timestamps and uncertainty intervals",
    ports: [http],
    callers: [{ service: "escrow" }, { service: "ratelimit" }, { service: "prooflog" }, { service: "clock" }],
  },
  {
    name: "quota",
    namespace: NAMESPACES.runtime,
    serviceAccount: "quota",
    description: "tenants' multi-dimensional quotas: reservations, overrides approved from above, delegation (PostgreSQL, proof log)",
    ports: [http],
    // Tenant administrators and their schedulers come in through the gateway with their own credentials.
    callers: [gateway],
  },
  {
    name: "attest",
    namespace: NAMESPACES.runtime,
    serviceAccount: "attest",
    description: "remote attestation verifier (IETF RATS): nonces, TPM/SEV-SNP appraisal, signed results, SPIRE admission",
    ports: [http],
    // Node attestation happens in the SPIRE server: it asks for the nonce, posts the node's evidence and reads the
    // verdict. Nodes never call the verifier themselves, and nothing outside the cluster does. Revocation is an
    // operator's admin route (model/security/routes.ts).
    callers: [{ spire: SPIRE_SERVER_IDENTITY, description: "the region's SPIRE server (node attestation)" }],
  },
  {
    name: "map",
    namespace: NAMESPACES.runtime,
    serviceAccount: "map",
    description: "verifiable map (sparse Merkle tree) of the tenants' quota state and escrow's balances: proven reads, every root recorded in the proof log",
    ports: [http],
    // The quota service writes map `quota`, every region's escrow map `escrow` (runtime/vmap's `writers.<map>` names
    // each map's writer alone); tenants read their proofs through the gateway (reads are public; writes from the
    // gateway's identity are refused in-process).
    callers: [gateway, { service: "quota" }, { service: "escrow" }],
  },
  {
    name: "allocator",
    namespace: NAMESPACES.runtime,
    serviceAccount: "ratelimit-allocator",
    description: "global rate limit allocator: per-window budgets of the estate-wide (global: true) limits, leases in Redis",
    ports: [http],
    // Only the rate limit services ask it for budget, from every region (it runs in the ledger region).
    callers: [{ service: "ratelimit" }],
  },
  {
    name: "monitor",
    namespace: NAMESPACES.runtime,
    serviceAccount: "prooflog-monitor",
    description: "proof log monitor: verifies every checkpoint and entry of the log from outside, gossips checkpoints, publishes equivocation evidence",
    ports: [http],
    // The other regions' monitors gossip their verified checkpoints to it (and read its own); outside monitors and
    // auditors read its evidence and gossip to it through the gateway (model/workloads/gateway.ts).
    callers: [gateway, { service: "monitor" }],
  },
  {
    name: "witness",
    namespace: NAMESPACES.runtime,
    serviceAccount: "prooflog-witness",
    description: "proof log witness (C2SP tlog-witness): cosigns checkpoints consistent with what it cosigned before, and signs its share of the witnesses' threshold group",
    ports: [http],
    // The log asks each region's witness to cosign (add-checkpoint); every region's monitor reads what it cosigned; the
    // certificate chain's issuer asks it to sign certificates with its share (certify).
    callers: [{ service: "prooflog" }, { service: "monitor" }, { service: "certchain" }],
  },
  {
    name: "certchain",
    namespace: NAMESPACES.runtime,
    serviceAccount: "certchain",
    description:
      "checkpoint certificate chain (runtime/certchain): certificates of the proof log's checkpoints signed by the witnesses' threshold group, issued in the ledger region and followed as a light client in every other",
    ports: [http],
    // Every other region's certchain follows the ledger region's (reads its certificates); nothing else calls it.
    callers: [{ service: "certchain" }],
  },
];

export function runtimeService(name: ServiceName): RuntimeService {
  const found = RUNTIME_SERVICES.find((s) => s.name === name);
  if (found === undefined) throw new Error(`unknown runtime service ${name}; expected one of ${SERVICE_NAMES.join(", ")}`);
  return found;
}

/** `spiffe://<trust domain>/ns/<namespace>/sa/<service account>`: the ID SPIRE and Istio agree on. */
export function spiffeId(trustDomain: string, identity: WorkloadIdentity): string {
  return `spiffe://${trustDomain}/ns/${identity.namespace}/sa/${identity.serviceAccount}`;
}

export function callerIdentity(caller: Exclude<Caller, { spire: SpireIdentity }>): WorkloadIdentity {
  return "service" in caller ? runtimeService(caller.service) : caller.identity;
}

/** The identity a service's pods run as in one region: its own account there when `accountPerRegion`, else the catalogue's. */
export function regionIdentity(service: RuntimeService, regionId: string): WorkloadIdentity {
  if (!service.accountPerRegion) return { namespace: service.namespace, serviceAccount: service.serviceAccount };
  const serviceAccount = `${service.serviceAccount}-${regionId}`;
  const clash = RUNTIME_SERVICES.find((s) => s.namespace === service.namespace && s.serviceAccount === serviceAccount);
  if (clash) throw new Error(`region ${regionId}: ${service.name}'s service account there, ${serviceAccount}, is ${clash.name}'s`);
  return { namespace: service.namespace, serviceAccount };
}

/** A caller's SPIFFE IDs: one, or for a service with an account per region one per region of `regionIds`. */
export function callerSpiffeIds(trustDomain: string, caller: Caller, regionIds: readonly string[]): string[] {
  if ("spire" in caller) return [`spiffe://${trustDomain}${caller.spire.path}`];
  if ("service" in caller && runtimeService(caller.service).accountPerRegion) {
    if (regionIds.length === 0) throw new Error(`${caller.service} runs one identity per region: name the regions`);
    return regionIds.map((r) => spiffeId(trustDomain, regionIdentity(runtimeService(caller.service), r)));
  }
  return [spiffeId(trustDomain, callerIdentity(caller))];
}

/** A caller's SPIFFE ID (one identity: not a service with an account per region; callerSpiffeIds for those). */
export function callerSpiffeId(trustDomain: string, caller: Caller): string {
  if ("service" in caller && runtimeService(caller.service).accountPerRegion) throw new Error(`${caller.service} runs one identity per region: use callerSpiffeIds`);
  return callerSpiffeIds(trustDomain, caller, [])[0]!;
}

/** SPIFFE IDs allowed to call `name`, sorted and de-duplicated; `regionIds` for callers with an identity per region. */
export function allowedCallerIds(trustDomain: string, name: ServiceName, regionIds: readonly string[] = []): string[] {
  return [...new Set(runtimeService(name).callers.flatMap((c) => callerSpiffeIds(trustDomain, c, regionIds)))].sort();
}

/** Istio `source.principals` spell SPIFFE IDs without the scheme. */
export function istioPrincipal(id: string): string {
  return id.replace(/^spiffe:\/\//, "");
}

/** The in-cluster DNS name of a service. */
export function serviceHost(service: RuntimeService, clusterDomain = "cluster.local"): string {
  return `${service.name}.${service.namespace}.svc.${clusterDomain}`;
}

/** The SPIRE controller-manager template that yields `spiffeId(trustDomain, identity)` for a pod. */
export const SPIFFE_ID_TEMPLATE = "spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}";

/** The pod label every runtime service's pods carry; SPIRE and Istio select workloads by it. */
const SERVICE_POD_LABEL = "app.kubernetes.io/name";
export function podSelector(service: RuntimeService): Record<string, string> {
  return { [SERVICE_POD_LABEL]: service.name };
}
/** The gateway's pods, as the gateway Service (components/cluster) selects them. */
export const GATEWAY_POD_SELECTOR: Record<string, string> = { app: GATEWAY.name };
