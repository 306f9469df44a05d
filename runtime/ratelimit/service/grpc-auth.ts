/**
 * Who may call the RLS gRPC listener: the same `callers` (SPIFFE IDs) and the same trust rules as the HTTP
 * check (the kit's `{spiffe: callers}` route rule). The caller's identity comes only from verified credentials:
 *   - `server.tls` (in-process mTLS): the listener serves TLS with the service's X.509-SVID and asks for the
 *     client's; the peer's SPIFFE ID is read from the certificate the handshake verified against the bundle;
 *   - `server.identity: {xfcc: "istio-sidecar", spiffeId}`: Istio's inbound sidecar forwards
 *     `x-forwarded-client-cert` on gRPC (HTTP/2) as on HTTP/1, so it arrives as call metadata and is read by
 *     the kit's own parser (runtime/kit/xfcc.ts): the last element, `By=` this pod, one `URI`. (Node's HTTP/2
 *     joins repeated header lines with ", " before grpc-js sees them, so the kit's one-line check cannot apply
 *     here; the sidecar's element is still the last one, which is what decides);
 *   - neither: no identity (metadata a client can set is never read).
 * Without `callers` the listener is open, as Envoy's RLS is (nothing is read). With it: no identity, or a
 * refused XFCC, is UNAUTHENTICATED; an identity not listed is PERMISSION_DENIED; each message says why.
 */
import * as grpc from "@grpc/grpc-js";
import type { SecureServerOptions } from "node:http2";
import type { SecureContextOptions } from "node:tls";
import { readFileSync } from "node:fs";
import { parseSpiffeId, svidSpiffeId, type SpiffeId } from "../../identity/index.js";
import { ConfigFileError, xfccPeer, XfccError, type ServerConfig } from "../../kit/index.js";

const XFCC = "x-forwarded-client-cert";

/**
 * TLS for the gRPC listener with the kit's `server.tls` files: the client's certificate is requested but a
 * handshake without one is not cut, so the call is answered UNAUTHENTICATED with a reason instead of a bare
 * connection failure (grpc-js's `createSsl` can only reject at the handshake). grpc-js hands the call the
 * peer certificate only when the handshake verified it (`getAuthContext`).
 */
class SvidServerCredentials extends grpc.ServerCredentials {
  constructor(context: SecureContextOptions) {
    super({ requestCert: true, rejectUnauthorized: false, minVersion: "TLSv1.2" } satisfies SecureServerOptions, context);
  }
  _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}

function readPem(path: string, key: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigFileError(path, [`server.tls.${key}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`]);
  }
}

/** The listener's credentials: mTLS with the service's SVID when `server.tls` is set, else plaintext (as before). */
export function grpcServerCredentials(server: ServerConfig): grpc.ServerCredentials {
  const tls = server.tls;
  if (!tls) return grpc.ServerCredentials.createInsecure();
  return new SvidServerCredentials({ cert: readPem(tls.cert, "cert"), key: readPem(tls.key, "key"), ca: readPem(tls.bundle, "bundle") });
}

const refusal = (code: grpc.status, details: string): grpc.ServiceError => ({ code, details, name: "Unauthorized", message: details, metadata: new grpc.Metadata() });

export interface GrpcAuthorizer {
  /** The reason a call is refused, or null when it may proceed. */
  (call: grpc.ServerUnaryCall<unknown, unknown>): grpc.ServiceError | null;
}

/** The authorizer for `callers` under the kit's `server` section; undefined callers: everyone (nothing is read). */
export function grpcAuthorizer(callers: readonly string[] | undefined, server: ServerConfig): GrpcAuthorizer {
  if (callers === undefined) return () => null;
  // Parsed now, so a malformed ID fails the start (as the kit's route check does for HTTP).
  const allowed = new Set(callers.map((id) => parseSpiffeId(id).uri));
  const self = server.identity ? parseSpiffeId(server.identity.spiffeId) : null;
  const wanted = callers.length ? `an mTLS peer with SPIFFE ID ${callers.join(" or ")}` : "no caller (callers is empty)";
  const source = server.tls
    ? "present an X.509-SVID (mTLS)"
    : self
      ? `call through this pod's Istio sidecar (mTLS), which reports the peer in ${XFCC}`
      : "this listener has no identity source (set server.tls or server.identity)";
  return (call) => {
    let peer: SpiffeId | undefined;
    try {
      peer = server.tls ? tlsPeer(call) : self ? metadataPeer(call.metadata, self) : undefined;
    } catch (e) {
      if (e instanceof XfccError) return refusal(grpc.status.UNAUTHENTICATED, `${XFCC} refused: ${e.message}`);
      throw e;
    }
    if (peer === undefined) return refusal(grpc.status.UNAUTHENTICATED, `ShouldRateLimit requires ${wanted}: ${source}`);
    if (!allowed.has(peer.uri)) return refusal(grpc.status.PERMISSION_DENIED, `${peer.uri} is not allowed: ${wanted} required`);
    return null;
  };
}

/** The verified TLS peer's SPIFFE ID; undefined without a verified certificate or when it is not an SVID. */
function tlsPeer(call: grpc.ServerUnaryCall<unknown, unknown>): SpiffeId | undefined {
  const raw = call.getAuthContext().sslPeerCertificate?.raw;
  if (!raw) return undefined;
  try {
    return svidSpiffeId(raw);
  } catch {
    return undefined;
  }
}

/** The sidecar's peer from call metadata, in the header shape the kit's parser reads (each value one line). */
function metadataPeer(metadata: grpc.Metadata, self: SpiffeId): SpiffeId | undefined {
  const values = metadata.get(XFCC).map((v) => (typeof v === "string" ? v : v.toString("utf8")));
  const headers = { [XFCC]: values.length === 1 ? values[0] : values.length ? values : undefined };
  return xfccPeer({ rawHeaders: values.flatMap((v) => [XFCC, v]), headers }, self);
}
