/**
 * mTLS between runtime services with X.509-SVIDs. SPIFFE authenticates by SPIFFE ID, not hostname: the
 * chain must verify against the trust bundle (node:tls does that, rejecting peers without a certificate),
 * and then the peer's SPIFFE ID must be one the caller allows. Servers enforce it per connection — an
 * unauthorized peer's socket is closed before any request is read — and clients check the server's ID in
 * place of the hostname check.
 *
 *   const app = fastify({ https: mtlsServerOptions(svid, bundle) });
 *   enforcePeerIds(app.server, allowIds(allowedCallerIds(td, "prooflog")));
 *   https.request({ ...mtlsClientOptions(svid, bundle, allowIds([prooflogId])), host, port, path });
 */
import type { IncomingMessage } from "node:http";
import type { PeerCertificate, TLSSocket, ConnectionOptions, TlsOptions, Server as TlsServer } from "node:tls";
import type { Svid } from "./local-ca.js";
import { parseSpiffeId, SpiffeIdError, type SpiffeId } from "./spiffe-id.js";
import { svidSpiffeId } from "./svid.js";

/** Decides whether a peer may talk to us. */
export type Authorizer = (peer: SpiffeId) => boolean;

/** Allow exactly these SPIFFE IDs (parsed, so malformed entries fail at startup, not per connection). */
export function allowIds(ids: readonly string[]): Authorizer {
  const allowed = new Set(ids.map((id) => parseSpiffeId(id).uri));
  return (peer) => allowed.has(peer.uri);
}

/** Allow any workload of a trust domain (for endpoints every service may call, e.g. health). */
export function allowTrustDomain(trustDomain: string): Authorizer {
  return (peer) => peer.trustDomain === trustDomain;
}

/** The key material a TLS endpoint presents and the bundle it verifies peers against. */
export interface SvidSource {
  cert: string;
  key: string;
}

const TLS_FLOOR = { minVersion: "TLSv1.2" } as const;

/** Server options: present our SVID, require and verify a client SVID against the bundle. */
export function mtlsServerOptions(svid: SvidSource | Svid, bundle: string | string[]): TlsOptions {
  return { ...TLS_FLOOR, cert: svid.cert, key: svid.key, ca: bundle, requestCert: true, rejectUnauthorized: true };
}

/** Client options: present our SVID, verify the server's chain and that its SPIFFE ID is one we expect. */
export function mtlsClientOptions(svid: SvidSource | Svid, bundle: string | string[], expectServer: Authorizer): ConnectionOptions {
  return {
    ...TLS_FLOOR,
    cert: svid.cert,
    key: svid.key,
    ca: bundle,
    rejectUnauthorized: true,
    checkServerIdentity: (_host: string, cert: PeerCertificate) => {
      const id = idOfCertificate(cert);
      if (id instanceof Error) return id;
      return expectServer(id) ? undefined : new SpiffeIdError(`server ${id.uri} is not an expected peer`);
    },
  };
}

function idOfCertificate(cert: PeerCertificate | undefined): SpiffeId | Error {
  if (!cert?.raw) return new SpiffeIdError("peer presented no certificate");
  try {
    return svidSpiffeId(cert.raw);
  } catch (err) {
    return err as Error;
  }
}

/** The verified peer's SPIFFE ID, or undefined when the peer is unauthenticated or not an SVID. */
export function peerSpiffeId(socket: TLSSocket): SpiffeId | undefined {
  if (!socket.authorized) return undefined;
  const id = idOfCertificate(socket.getPeerCertificate());
  return id instanceof Error ? undefined : id;
}

/** The verified caller of an HTTPS request (fastify: `request.raw`), or undefined. */
export function requestPeerId(req: IncomingMessage): SpiffeId | undefined {
  const socket = req.socket as Partial<TLSSocket>;
  return typeof socket.getPeerCertificate === "function" ? peerSpiffeId(socket as TLSSocket) : undefined;
}

/**
 * Swap in a rotated SVID (and bundle) on a running server: new handshakes use it, open connections keep
 * theirs. SVIDs live an hour, so servers call this whenever the SPIRE agent hands out a new one.
 */
export function reloadSvid(server: TlsServer, svid: SvidSource | Svid, bundle: string | string[]): void {
  server.setSecureContext(mtlsServerOptions(svid, bundle));
}

export interface PeerRejection {
  reason: string;
  peer?: string;
}

/**
 * Close every connection whose peer is not an authorized SVID holder, right after the handshake.
 * Works for any node:tls server (https.Server and fastify's `app.server` included).
 */
export function enforcePeerIds(server: TlsServer, authorize: Authorizer, onReject?: (r: PeerRejection) => void): void {
  server.on("secureConnection", (socket: TLSSocket) => {
    const rejection = checkPeer(socket, authorize);
    if (rejection) {
      onReject?.(rejection);
      socket.destroy();
    }
  });
}

/** Why a connected peer is refused, or undefined when it may proceed. */
function checkPeer(socket: TLSSocket, authorize: Authorizer): PeerRejection | undefined {
  if (!socket.authorized) return { reason: `unauthenticated peer: ${String(socket.authorizationError ?? "no client certificate")}` };
  const id = idOfCertificate(socket.getPeerCertificate());
  if (id instanceof Error) return { reason: id.message };
  if (!authorize(id)) return { reason: "SPIFFE ID not allowed", peer: id.uri };
  return undefined;
}
