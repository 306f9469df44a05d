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
 *   { scope: s }           a JWT carrying this scope (RFC 8693 `scope`, space-separated; or an `scp` array)
 *   bearer                 a verified bearer JWT, whoever the peer (an end user: escrow's buyers)
 *   { allOf: [rules] }     every rule (e.g. a catalogued mesh peer AND a buyer's JWT)
 *   { anyOf: [rules] }     at least one rule (e.g. an operator OR a JWT with the admin scope)
 *
 * A request may carry both a peer and a JWT (behind the mesh, every request has a peer: the gateway that
 * forwarded an end user's token, say). Peer rules look at the peer, scope rules at the JWT, `operator` at
 * either; for `authenticated` the JWT, when presented, names the caller (the end user, not the hop). A
 * composed rule (`allOf`, `anyOf`) verifies a presented JWT always, and the JWT names the caller too.
 * No credential answers 401; a valid credential without the right answers 403. Verified tokens are remembered,
 * keyed by the token's exact bytes, so a caller's repeated requests cost one signature check (as gateways do:
 * Envoy's jwt_authn cache). A remembered token is taken only while jose would take it too: before its `exp`,
 * not before its `nbf` (the same leeway), and only while the keys it was checked against are the current
 * ones — an issuer's JWKS fetched from a URL is re-read once it is older than jose's cache age (10 min), and
 * every remembered token is checked again after the set changed, so a token of a rotated-out key is refused.
 * At most `cacheLimit` tokens (oldest out first).
 */
import { readFileSync } from "node:fs";
import { createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTPayload, type RemoteJWKSetOptions } from "jose";
import type { FastifyRequest } from "fastify";
import type { Clock } from "../common/clock.js";
import { parseSpiffeId, requestPeerId, type SpiffeId } from "../identity/index.js";
import { ConfigFileError, type ServerConfig } from "./config.js";
import { HttpError } from "./errors.js";
import { PRINCIPAL_RULE, wellFormedPrincipal } from "./principal.js";
import { xfccPeer, XfccError } from "./xfcc.js";

export type RouteAuth =
  "public" | "operator" | "authenticated" | "bearer" | { spiffe: readonly string[] } | { trustDomain: string } | { scope: string } | { allOf: readonly RouteAuth[] } | { anyOf: readonly RouteAuth[] };

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
type JwtIdentity = Extract<Identity, { kind: "jwt" }>;

/** The verified credentials of a request: the mTLS peer and the bearer JWT, either or both. */
interface Credentials {
  peer?: SpiffeId;
  jwt?: JwtIdentity;
}

const CACHE_LIMIT = 50_000;
/**
 * The token cache's key of an Authorization header: its last 7 characters' codes as one number (49 bits, exact in
 * a double; 42 bits of a JWS's signature, which ends every token). A number, not the header's last characters as a
 * string: V8 makes that slice a view into the header and hashes it through its slow path (~0.5k instructions a
 * request, callgrind), while these codes are read in a few dozen. Headers ending alike share a key; a hit is taken
 * only when the whole header is equal, so a shared key costs a verification, never a verdict.
 */
function cacheKey(header: string): number {
  let key = 0;
  for (let i = header.length > 7 ? header.length - 7 : 0; i < header.length; i++) key = key * 128 + (header.charCodeAt(i) & 127);
  return key;
}

export interface AuthenticatorOptions {
  /** Verified tokens remembered at most (default 50,000). */
  cacheLimit?: number;
  /** jose's options for an issuer's JWKS fetched from a URL (cache age, cooldown); tests shorten them. */
  remoteJwks?: RemoteJWKSetOptions;
}

/** A verified token, remembered: valid while `nbfMs <= now < expMs` and the keys are still those of `keysVersion`. */
interface Verified {
  /** The whole Authorization header it was verified from: a hit must equal it exactly. */
  header: string;
  identity: JwtIdentity;
  expMs: number;
  nbfMs: number;
  keysVersion: number;
}

type RemoteKeys = ReturnType<typeof createRemoteJWKSet>;

export class Authenticator {
  private readonly keys: JwtKeys | null;
  /** The issuer's JWKS when it is fetched from a URL (it may change under us), else null (fixed for the process). */
  private readonly remote: RemoteKeys | null;
  /** Bumped whenever the remote JWKS is seen to have changed: tokens remembered under an older set are checked again. */
  private keysVersion = 0;
  private keysSeen: string | undefined;
  private readonly operatorIds: Set<string>;
  /** This pod's SPIFFE ID when its sidecar's XFCC is trusted (server.identity), else null: the header is never read. */
  private readonly xfccSelf: SpiffeId | null;
  /**
   * Verified tokens (bounded, oldest first out), found by the end of the Authorization header carrying them
   * (`cacheKey`: part of the signature) and taken only when the whole header is equal. A Map hashes its
   * string key whole, and each request's header is a new string: hashing ~250 characters was ~3.5k
   * instructions a request (callgrind), comparing them on a hit is a few hundred.
   */
  private readonly verified = new Map<number, Verified>();
  private readonly cacheLimit: number;
  private readonly leewayMs: number;

  constructor(
    private readonly config: ServerConfig["auth"],
    private readonly clock: Clock,
    identity?: ServerConfig["identity"],
    options: AuthenticatorOptions = {},
  ) {
    const source = config.jwt?.jwks;
    this.remote = typeof source === "string" && /^https?:\/\//.test(source) ? createRemoteJWKSet(new URL(source), options.remoteJwks) : null;
    this.keys = this.remote ?? (source !== undefined ? jwksOf(source) : null);
    this.cacheLimit = Math.max(1, options.cacheLimit ?? CACHE_LIMIT);
    this.leewayMs = (config.jwt?.clockToleranceSeconds ?? 0) * 1000;
    // Parsed now so a malformed operator ID fails the start, not a request.
    this.operatorIds = new Set(config.operators.spiffe.map((id) => parseSpiffeId(id).uri));
    this.xfccSelf = identity ? parseSpiffeId(identity.spiffeId) : null;
  }

  /** Check a route's rule at registration: a typo in an allowed ID must not become "nobody may call". */
  static validate(auth: RouteAuth | undefined, route: string): void {
    if (auth === undefined)
      throw new Error(`route ${route} declares no auth: set config.auth to "public", "operator", "authenticated", "bearer", {spiffe}, {trustDomain}, {scope}, {allOf} or {anyOf}`);
    if (typeof auth === "object" && "spiffe" in auth) for (const id of auth.spiffe) parseSpiffeId(id);
    if (typeof auth === "object" && "trustDomain" in auth) parseSpiffeId(`spiffe://${auth.trustDomain}`);
    if (typeof auth === "object" && ("allOf" in auth || "anyOf" in auth)) {
      const rules = "allOf" in auth ? auth.allOf : auth.anyOf;
      if (rules.length === 0) throw new Error(`route ${route}: an empty ${"allOf" in auth ? "allOf" : "anyOf"} says nothing about who may call`);
      for (const r of rules) {
        if (r === "public") throw new Error(`route ${route}: "public" inside a composed rule; declare the route public instead`);
        Authenticator.validate(r, route);
      }
    }
  }

  /**
   * Throws HttpError 401/403 unless the request's verified identity satisfies `auth`. Synchronous when no
   * signature needs checking (a peer rule, a cached token); a promise only while a new token is verified.
   */
  authorize(req: FastifyRequest, auth: RouteAuth): void | Promise<void> {
    if (auth === "public") return;
    const peer = this.peer(req);
    const composed = typeof auth === "object" && ("allOf" in auth || "anyOf" in auth);
    // A peer that satisfies a simple peer rule needs no token; otherwise a presented token is verified (a bad one is a 401).
    if (peer && auth !== "authenticated" && !composed && this.allows(auth, { peer })) {
      req.identity = { kind: "spiffe", id: peer };
      return;
    }
    const jwt = this.bearer(req);
    if (jwt instanceof Promise) return jwt.then((verified) => this.decide(req, auth, composed, peer, verified));
    // A buyer's repeated request (a remembered token on a "bearer" route): what decide() concludes, without its records.
    if (auth === "bearer" && jwt !== undefined) {
      req.identity = jwt;
      return;
    }
    this.decide(req, auth, composed, peer, jwt);
  }

  private decide(req: FastifyRequest, auth: Exclude<RouteAuth, "public">, composed: boolean, peer: SpiffeId | undefined, jwt: JwtIdentity | undefined): void {
    const peerIdentity: Identity | undefined = peer ? { kind: "spiffe", id: peer } : undefined;
    const identity = jwt ?? peerIdentity;
    if (identity === undefined) throw new HttpError(401, "unauthenticated", `${describe(auth)} required: present an X.509-SVID (mTLS) or a bearer JWT`, this.challenge());
    req.identity = identity;
    if (!this.allows(auth, { peer, jwt })) {
      // A rule that needs a token the caller did not present is a missing credential, not a refusal.
      if (!jwt && (composed || auth === "bearer") && this.allows(auth, { peer, jwt: ANY_JWT }))
        throw new HttpError(401, "unauthenticated", `${describe(auth)} required: present a bearer JWT`, this.challenge());
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

  /** A 401's WWW-Authenticate, when this service takes bearer tokens (a method: no closure per request). */
  private challenge(): Record<string, string> {
    return this.keys ? { "www-authenticate": 'Bearer realm="meridian"' } : {};
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

  /** Whether the credentials satisfy the rule: peer rules look at the peer, scope rules at the JWT, operator at either. */
  private allows(auth: Exclude<RouteAuth, "public">, c: Credentials): boolean {
    if (auth === "authenticated") return c.peer !== undefined || c.jwt !== undefined;
    if (auth === "bearer") return c.jwt !== undefined;
    if (auth === "operator") return (c.peer !== undefined && this.operatorIds.has(c.peer.uri)) || (c.jwt !== undefined && hasScope(c.jwt, this.config.operators.scope));
    if ("allOf" in auth) return auth.allOf.every((r) => r !== "public" && this.allows(r, c));
    if ("anyOf" in auth) return auth.anyOf.some((r) => r !== "public" && this.allows(r, c));
    if ("scope" in auth) return c.jwt !== undefined && hasScope(c.jwt, auth.scope);
    if (c.peer === undefined) return false;
    if ("trustDomain" in auth) return c.peer.trustDomain === auth.trustDomain;
    return auth.spiffe.some((id) => parseSpiffeId(id).uri === c.peer!.uri);
  }

  /** The request's bearer JWT: from the cache when verified before (no promise), else verified now. */
  private bearer(req: FastifyRequest): JwtIdentity | undefined | Promise<JwtIdentity> {
    const header = req.headers.authorization;
    if (header === undefined) return undefined;
    // Only whole headers ("Bearer <token>") that matched the pattern below and whose token verified are
    // cached, so a hit (the same header exactly) needs neither again.
    const hit = this.verified.get(cacheKey(header));
    if (hit !== undefined && hit.header === header && this.stillValid(hit)) return hit.identity;
    const m = /^Bearer ([A-Za-z0-9_.~+/=-]+)$/.exec(header);
    if (!m) throw new HttpError(401, "unauthenticated", "Authorization must be `Bearer <JWT>`");
    if (!this.keys || !this.config.jwt) throw new HttpError(401, "unauthenticated", "this service accepts no bearer tokens (no server.auth.jwt configured)");
    return this.verify(header, m[1]!, this.keys, this.config.jwt);
  }

  /**
   * Whether a remembered token would still verify: not expired (`exp` is checked without leeway here, so a
   * token in its leeway is verified again, by jose), not before its `nbf` (with the leeway, as jose), and checked
   * against the current keys — a remote JWKS past its cache age is fetched again by the next verification.
   */
  private stillValid(v: Verified): boolean {
    const now = this.clock.now();
    return v.expMs > now && v.nbfMs <= now + this.leewayMs && v.keysVersion === this.keysVersion && (this.remote === null || this.remote.fresh);
  }

  /** After a verification fetched the remote JWKS: if its keys changed, every remembered token is checked again. */
  private noteKeys(): void {
    if (this.remote === null) return;
    const seen = JSON.stringify(this.remote.jwks() ?? null);
    if (seen !== this.keysSeen) {
      this.keysSeen = seen;
      this.keysVersion++;
    }
  }

  private async verify(header: string, token: string, keys: JwtKeys, jwt: NonNullable<ServerConfig["auth"]["jwt"]>): Promise<JwtIdentity> {
    // The key set this verification starts under: if it changes meanwhile, the token is not remembered (it
    // may have been checked against the set before); its next request verifies it again.
    const keysVersion = this.keysVersion;
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: jwt.issuer,
        audience: jwt.audience,
        algorithms: jwt.algorithms,
        clockTolerance: jwt.clockToleranceSeconds,
        requiredClaims: jwt.requiredClaims,
        currentDate: new Date(this.clock.now()),
      }).finally(() => this.noteKeys());
      // jose holds `sub` to nothing, not even being a string; services key their stores by it (principal.ts).
      if (payload.sub !== undefined && !wellFormedPrincipal(payload.sub)) throw invalidToken(`\`sub\` must be ${PRINCIPAL_RULE}`);
      const identity: JwtIdentity = { kind: "jwt", subject: payload.sub, scopes: scopesOf(payload), claims: payload };
      // A token without `exp` is verified every time: nothing bounds how long a remembered one would stay good.
      if (payload.exp !== undefined && keysVersion === this.keysVersion) {
        const key = cacheKey(header);
        if (this.verified.size >= this.cacheLimit && !this.verified.has(key)) this.verified.delete(this.verified.keys().next().value!);
        // A different header ending the same (no verified token's signature does, short of a forgery) replaces the entry.
        this.verified.set(key, { header, identity, expMs: payload.exp * 1000, nbfMs: (payload.nbf ?? -Infinity) * 1000, keysVersion });
      }
      return identity;
    } catch (e) {
      if (e instanceof joseErrors.JOSEError) throw invalidToken(whyRejected(e));
      throw e;
    }
  }

  /** Tokens remembered now (bounded by `cacheLimit`). */
  get cachedTokens(): number {
    return this.verified.size;
  }
}

const invalidToken = (why: string) => new HttpError(401, "unauthenticated", `bearer token rejected: ${why}`, { "www-authenticate": 'Bearer realm="meridian", error="invalid_token"' });

/** Stands for "some JWT" when asking whether a rule would pass had the caller presented one. */
const ANY_JWT: JwtIdentity = { kind: "jwt", subject: undefined, scopes: [], claims: {} };

function hasScope(jwt: JwtIdentity, scope: string): boolean {
  return jwt !== ANY_JWT ? jwt.scopes.includes(scope) : true;
}

/** RFC 8693 `scope` (space-separated), else the `scp` claim some issuers use (an array, or a string). */
function scopesOf(payload: JWTPayload): string[] {
  const raw = payload["scope"] ?? payload["scp"];
  if (typeof raw === "string") return raw.split(" ").filter(Boolean);
  if (Array.isArray(raw)) return raw.filter((s): s is string => typeof s === "string");
  return [];
}

/** jose's refusals in words a client can act on. */
function whyRejected(e: InstanceType<typeof joseErrors.JOSEError>): string {
  if (e instanceof joseErrors.JWTExpired) return "the token has expired";
  if (e instanceof joseErrors.JWTClaimValidationFailed) return `claim ${e.claim}: ${e.reason === "check_failed" ? "unexpected value" : e.reason}`;
  if (e instanceof joseErrors.JWSSignatureVerificationFailed) return "the token's signature does not verify";
  if (e instanceof joseErrors.JWKSNoMatchingKey) return "no configured key matches the token's key id and algorithm";
  if (e instanceof joseErrors.JOSEAlgNotAllowed) return "the token's algorithm is not allowed";
  return e.message;
}

function describe(auth: RouteAuth): string {
  if (typeof auth === "string") return auth === "operator" ? "an operator identity" : auth === "authenticated" ? "a verified identity" : auth === "bearer" ? "a verified bearer JWT" : "nothing";
  const part = (r: RouteAuth) => (typeof r === "object" && ("allOf" in r || "anyOf" in r) ? `(${describe(r)})` : describe(r));
  if ("allOf" in auth) return auth.allOf.map(part).join(" and ");
  if ("anyOf" in auth) return auth.anyOf.map(part).join(" or ");
  if ("scope" in auth) return `a JWT with scope ${auth.scope}`;
  if ("trustDomain" in auth) return `an mTLS peer of trust domain ${auth.trustDomain}`;
  return `an mTLS peer with SPIFFE ID ${auth.spiffe.join(" or ")}`;
}

function who(identity: Identity): string {
  return identity.kind === "spiffe" ? identity.id.uri : `JWT subject ${identity.subject ?? "(none)"}`;
}

/** An inline JWKS or one read from a file: fixed for the process (a URL is the constructor's, createRemoteJWKSet). */
function jwksOf(source: string | { keys: Record<string, unknown>[] }): JwtKeys {
  if (typeof source !== "string") return createLocalJWKSet(source as unknown as JSONWebKeySet);
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(source, "utf8"));
  } catch (e) {
    throw new ConfigFileError(source, [`server.auth.jwt.jwks: cannot read a JWKS: ${(e as Error).message}`]);
  }
  return createLocalJWKSet(doc as JSONWebKeySet);
}
