/**
 * How a runtime service learns who called it inside the mesh. Pods get Istio sidecars and STRICT mTLS, so the
 * app sees plaintext from its own sidecar, not the caller's certificate. Istio's inbound sidecar listener
 * appends the peer it verified to `x-forwarded-client-cert` (APPEND_FORWARD; its element is the last, with
 * `By=` the sidecar's own SPIFFE ID), and the service kit (runtime/kit/xfcc.ts) reads it there when the config
 * says `server.identity: {xfcc: "istio-sidecar", spiffeId: <the pod's ID>}`.
 * That is sound only while every connection to the app's ports goes through that sidecar over mTLS; the plan
 * checks it for every config that asks for it (components/pki/xfcc-trust.ts).
 * Pure: the workloads render these sections into the services' config files.
 */
import { NAMESPACES } from "../estate.js";
import { OPERATOR_IDENTITY, spiffeId, type ServiceName, type WorkloadIdentity } from "../services.js";
import { GRANDMASTER } from "../time/hierarchy.js";

const XFCC_ISTIO_SIDECAR = "istio-sidecar" as const;

/**
 * The runtime services whose config has the kit's `server` section with the mesh identity (their routes take the
 * sidecar's XFCC peer: operators, and the catalogued `callers`). Escrow's buyers are the subjects of the buyer
 * issuer's JWTs, which must arrive through its catalogued callers. The proof log takes appends from its `submitters`
 * alone (runtime/prooflog/submitters.ts), the peers its sidecar verified.
 */
export const KIT_SERVICES: ReadonlySet<ServiceName> = new Set(["ratelimit", "clock", "prooflog", "quota", "escrow", "attest", "map", "allocator", "monitor", "witness", "certchain"]);

/**
 * The grandmaster simulator (components/time) is a kit service in the meshed time namespace too: its drills are
 * operator routes. Its pods run as this service account, which SPIRE gives its SPIFFE ID.
 */
export const GRANDMASTER_IDENTITY: WorkloadIdentity = { namespace: NAMESPACES.time, serviceAccount: GRANDMASTER.name };
export const GRANDMASTER_POD_SELECTOR: Record<string, string> = { app: GRANDMASTER.name };

export interface MeshServerSection {
  identity: { xfcc: typeof XFCC_ISTIO_SIDECAR; spiffeId: string };
  auth: { operators: { spiffe: string[] } };
}

/** The kit's `server` section for a service behind its pod's sidecar: its own SPIFFE ID, and the operator identity. */
export function meshServerSection(trustDomain: string, service: WorkloadIdentity): MeshServerSection {
  return {
    identity: { xfcc: XFCC_ISTIO_SIDECAR, spiffeId: spiffeId(trustDomain, service) },
    auth: { operators: { spiffe: [spiffeId(trustDomain, OPERATOR_IDENTITY)] } },
  };
}

/** The SPIFFE ID whose sidecar a rendered config file trusts, or null when it trusts none (or is not a kit config). */
export function xfccTrustOf(file: string): string | null {
  let doc: unknown;
  try {
    doc = JSON.parse(file);
  } catch {
    return null;
  }
  const identity = (doc as { server?: { identity?: { xfcc?: unknown; spiffeId?: unknown } } } | null)?.server?.identity;
  if (identity === undefined || identity === null) return null;
  return typeof identity.spiffeId === "string" ? identity.spiffeId : "(no spiffeId)";
}
