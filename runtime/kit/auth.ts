/**
 * Identity and per-route authorization. A caller is identified only by verified credentials: the mTLS
 * peer's X.509-SVID (SPIFFE ID, via runtime/identity) when the service terminates TLS itself, or — for a
 * service configured to sit behind its pod's Istio sidecar (`server.identity.xfcc`) — the peer that sidecar
 * verified, read from the last element of `x-forwarded-client-cert` (runtime/kit/xfcc.ts); and a bearer JWT
 * verified with jose against the configured issuer, audience and keys. Without `server.identity`, headers a
 * client can set (x-spiffe-id, x-forwarded-client-cert, x-user…) are never read. Every route declares who may
 * call it; a route that declares nothing fails the service's start, so nothing is open by accident.
 *
 *   public                 anyone (health, metrics, protocols that authenticate their own payloads)
 *   operator               an operator: a configured SPIFFE ID, or a JWT carrying the operator scope
 *   authenticated          any verified caller (the service decides per resource, e.g. quota owners)
 *   { spiffe: [ids] }      an mTLS peer with one of these SPIFFE IDs
 *   { trustDomain: td }    an mTLS peer from this trust domain
 *   { scope: s }           a JWT carrying this scope (RFC 8693 `scope`, space-separated)
 *
 * A request may carry both a peer and a JWT (behind the mesh, every request has a peer: the gateway that
 * forwarded an end user's token, say). Peer rules look at the peer, scope rules at the JWT, `operator` at
 * either; for `authenticated` the JWT, when presented, names the caller (the end user, not the hop).
 * No credential answers 401; a valid credential without the right answers 403.
 */
import { readFileSync } from "node:fs";
import { createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTPayload } from "jose";
import type { FastifyRequest } from "fastify";
import type { Clock } from "../common/clock.js";
import { parseSpiffeId, requestPeerId, type SpiffeId } from "../identity/index.js";
import { ConfigFileError, type ServerConfig } from "./config.js";
import { HttpError } from "./errors.js";
import { xfccPeer, XfccError } from "./xfcc.js";

export type RouteAuth = "public" | "operator" | "authenticated" | { spiffe: readonly string[] } | { trustDomain: string } | { scope: string };

export type Identity = { kind: "spiffe"; id: SpiffeId } | { kind: "jwt"; subject: string | undefined; scopes: readonly string[]; claims: JWTPayload };

declare module "fastify" {
  interface FastifyContextConfig {
    /** Who may call this route (required on every route a service registers). */
    auth?: RouteAuth;
  }
  interface FastifyRequest {
    /** The verified caller, when the route is not public and a credential was presented. */
    identity?: Identity;
  }
}

type JwtKeys = Parameters<typeof jwtVerify>[1];

export class Authenticator {
  private readonly keys: JwtKeys | null;
  private readonly operatorIds: Set<string>;
  /** This pod's SPIFFE ID when its sidecar's XFCC is trusted (server.identity), else null: the header is never read. */
  private readonly xfccSelf: SpiffeId | null;

  constructor(
    private readonly config: ServerConfig["auth"],
    private readonly clock: Clock,
    identity?: ServerConfig["identity"],
  ) {
    this.keys = config.jwt ? jwksOf(config.jwt.jwks) : null;
    // Parsed now so a malformed operator ID fails the start, not a request.
    this.operatorIds = new Set(config.operators.spiffe.map((id) => parseSpiffeId(id).uri));
    this.xfccSelf = identity ? parseSpiffeId(identity.spiffeId) : null;
  }

  /** Check a route's rule at registration: a typo in an allowed ID must not become "nobody may call". */
  static validate(auth: RouteAuth | undefined, route: string): void {
    if (auth === undefined) throw new Error(`route ${route} declares no auth: set config.auth to "public", "operator", "authenticated", {spiffe}, {trustDomain} or {scope}`);
    if (typeof auth === "object" && "spiffe" in auth) for (const id of auth.spiffe) parseSpiffeId(id);
    if (typeof auth === "object" && "trustDomain" in auth) parseSpiffeId(`spiffe://${auth.trustDomain}`);
  }

  /** Throws HttpError 401/403 unless the request's verified identity satisfies `auth`. */
  async authorize(req: FastifyRequest, auth: RouteAuth): Promise<void> {
    if (auth === "public") return;
    const peer = this.peer(req);
    const peerIdentity: Identity | undefined = peer ? { kind: "spiffe", id: peer } : undefined;
    // A peer that satisfies a peer rule needs no token; otherwise a presented token is verified (a bad one is a 401).
    if (peerIdentity && auth !== "authenticated" && allows(auth, peerIdentity, this.operatorIds, this.config.operators.scope)) {
      req.identity = peerIdentity;
      return;
    }
    const jwt = await this.bearer(req);
    const identity = jwt ?? peerIdentity;
    if (identity === undefined)
      throw new HttpError(401, "unauthenticated", `${describe(auth)} required: present an X.509-SVID (mTLS) or a bearer JWT`, this.keys ? { "www-authenticate": 'Bearer realm="meridian"' } : {});
    req.identity = identity;
    if (!allows(auth, identity, this.operatorIds, this.config.operators.scope)) {
      throw new HttpError(
        403,
        "forbidden",
        `${[peerIdentity, jwt]
          .filter((i) => i !== undefined)
          .map(who)
          .join(" with ")} is not allowed: ${describe(auth)} required`,
      );
    }
  }

  /** The verified mTLS peer: this server's own TLS termination, or the pod's sidecar's XFCC when trusted. */
  private peer(req: FastifyRequest): SpiffeId | undefined {
    const tls = requestPeerId(req.raw);
    if (tls || !this.xfccSelf) return tls;
    try {
      return xfccPeer(req.raw, this.xfccSelf);
    } catch (e) {
      if (e instanceof XfccError) throw new HttpError(401, "unauthenticated", `x-forwarded-client-cert refused: ${e.message}`);
      throw e;
    }
  }

  private async bearer(req: FastifyRequest): Promise<Identity | undefined> {
    const header = req.headers.authorization;
    if (header === undefined) return undefined;
    const m = /^Bearer ([A-Za-z0-9_.~+/=-]+)$/.exec(header);
    if (!m) throw new HttpError(401, "unauthenticated", "Authorization must be `Bearer <JWT>`");
    if (!this.keys || !this.config.jwt) throw new HttpError(401, "unauthenticated", "this service accepts no bearer tokens (no server.auth.jwt configured)");
    try {
      const { payload } = await jwtVerify(m[1]!, this.keys, {
        issuer: this.config.jwt.issuer,
        audience: this.config.jwt.audience,
        algorithms: this.config.jwt.algorithms,
        currentDate: new Date(this.clock.now()),
      });
      const scopes = typeof payload["scope"] === "string" ? payload["scope"].split(" ").filter(Boolean) : [];
      return { kind: "jwt", subject: payload.sub, scopes, claims: payload };
    } catch (e) {
      if (e instanceof joseErrors.JOSEError) throw new HttpError(401, "unauthenticated", `bearer token rejected: ${e.message}`);
      throw e;
    }
  }
}

function allows(auth: Exclude<RouteAuth, "public">, identity: Identity, operatorIds: Set<string>, operatorScope: string): boolean {
  if (auth === "authenticated") return true;
  if (auth === "operator") return identity.kind === "spiffe" ? operatorIds.has(identity.id.uri) : identity.scopes.includes(operatorScope);
  if ("scope" in auth) return identity.kind === "jwt" && identity.scopes.includes(auth.scope);
  if (identity.kind !== "spiffe") return false;
  if ("trustDomain" in auth) return identity.id.trustDomain === auth.trustDomain;
  return auth.spiffe.some((id) => parseSpiffeId(id).uri === identity.id.uri);
}

function describe(auth: RouteAuth): string {
  if (typeof auth === "string") return auth === "operator" ? "an operator identity" : auth === "authenticated" ? "a verified identity" : "nothing";
  if ("scope" in auth) return `a JWT with scope ${auth.scope}`;
  if ("trustDomain" in auth) return `an mTLS peer of trust domain ${auth.trustDomain}`;
  return `an mTLS peer with SPIFFE ID ${auth.spiffe.join(" or ")}`;
}

function who(identity: Identity): string {
  return identity.kind === "spiffe" ? identity.id.uri : `JWT subject ${identity.subject ?? "(none)"}`;
}

function jwksOf(source: string | { keys: Record<string, unknown>[] }): JwtKeys {
  if (typeof source !== "string") return createLocalJWKSet(source as unknown as JSONWebKeySet);
  if (/^https?:\/\//.test(source)) return createRemoteJWKSet(new URL(source));
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(source, "utf8"));
  } catch (e) {
    throw new ConfigFileError(source, [`server.auth.jwt.jwks: cannot read a JWKS: ${(e as Error).message}`]);
  }
  return createLocalJWKSet(doc as JSONWebKeySet);
}
