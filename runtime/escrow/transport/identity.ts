/**
 * Buyer identity: every buyer request carries `Authorization: Bearer <JWT>` from the estate's identity
 * provider. The service kit verifies it (runtime/kit/auth.ts) with the issuer, audience, keys (a JWKS inline
 * or the issuer's endpoint), algorithms and leeway of the escrow config's `identity` section
 * (`buyerJwtConfig`), requiring `sub` and `exp`; `buyerOf` then takes the buyer from the verified token's
 * `sub`, the tier from the tier claim, and admin rights from its scopes. Nothing about who a buyer is comes
 * from a body field or a header a client may set. `BuyerVerifier` does the same checks on its own, for a
 * server not built on the kit (bench/lib/escrow-http-child.ts, the plain alternative it is measured against).
 */
import { createLocalJWKSet, createRemoteJWKSet, errors, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { HttpError } from "../../common/http.js";
import { ACCOUNT_RULE, wellFormedAccount, type Identity, type JwtConfigInput } from "../../kit/index.js";
import type { IdentityConfig } from "../config.js";

export interface Buyer {
  user: string;
  tier: string;
  /** The tier's weight in the waiting room's weighted draw. */
  weight: number;
  admin: boolean;
}

const CACHE_LIMIT = 50_000;

/** The kit's `server.auth.jwt` for the buyer issuer the escrow config names (runtime/kit/define.ts `jwt`). */
export function buyerJwtConfig(cfg: IdentityConfig): JwtConfigInput {
  return {
    issuer: cfg.issuer,
    audience: cfg.audience,
    jwks: cfg.jwks ?? cfg.jwksUri!,
    algorithms: cfg.algorithms,
    clockToleranceSeconds: cfg.clockToleranceSeconds,
    requiredClaims: ["sub", "exp"],
  };
}

const SUB_RULE = `\`sub\` must be ${ACCOUNT_RULE}`;

const notABuyer = (detail: string) => new HttpError(401, "unauthenticated", detail, { "www-authenticate": 'Bearer realm="meridian", error="invalid_token"' });

/** The buyer a kit-verified identity names; 401 naming why for anything that is not a buyer's token. */
export function buyerOf(identity: Identity | undefined, cfg: IdentityConfig, tiers: Record<string, number>): Buyer {
  if (identity?.kind !== "jwt") throw notABuyer("send `Authorization: Bearer <JWT>` from the estate's identity provider");
  const user = identity.subject ?? "";
  if (!wellFormedAccount(user)) throw notABuyer(SUB_RULE);
  const claimed = identity.claims[cfg.tierClaim];
  const tier = claimed === undefined ? Object.keys(tiers)[0]! : String(claimed);
  // Own keys only: a claimed tier "constructor" would otherwise find Object's, a function, as its weight.
  const weight = Object.hasOwn(tiers, tier) ? tiers[tier] : undefined;
  if (weight === undefined) throw notABuyer(`tier "${tier}" (claim ${cfg.tierClaim}) is not one of ${Object.keys(tiers).join(", ")}`);
  return { user, tier, weight, admin: identity.scopes.includes(cfg.adminScope) };
}

export class BuyerVerifier {
  private readonly keys: JWTVerifyGetKey;
  private readonly cache = new Map<string, { buyer: Buyer; expMs: number }>();
  private readonly defaultTier: string;

  constructor(
    private readonly cfg: IdentityConfig,
    private readonly tiers: Record<string, number>,
    private readonly now: () => number = Date.now,
  ) {
    this.keys = cfg.jwks ? createLocalJWKSet(cfg.jwks as { keys: JWK[] }) : createRemoteJWKSet(new URL(cfg.jwksUri!));
    const first = Object.keys(tiers)[0];
    if (!first) throw new Error("tiers: expected at least one tier");
    this.defaultTier = first;
  }

  /** The verified buyer of a request, or a 401 naming what is wrong with its credentials. */
  async verify(authorization: string | string[] | undefined): Promise<Buyer> {
    const raw = Array.isArray(authorization) ? authorization[0] : authorization;
    const m = raw ? /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(raw) : null;
    if (!m) throw unauthorized(raw ? "the Authorization header is not `Bearer <JWT>`" : "send `Authorization: Bearer <JWT>` from the estate's identity provider");
    const token = m[1]!;
    const hit = this.cache.get(token);
    if (hit && hit.expMs > this.now()) return hit.buyer;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keys, {
        issuer: this.cfg.issuer,
        audience: this.cfg.audience,
        algorithms: this.cfg.algorithms,
        clockTolerance: this.cfg.clockToleranceSeconds,
        currentDate: new Date(this.now()),
        requiredClaims: ["sub", "exp"],
      }));
    } catch (err) {
      throw unauthorized(describe(err));
    }
    const buyer = this.buyerOf(payload);
    if (this.cache.size >= CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(token, { buyer, expMs: payload.exp! * 1000 });
    return buyer;
  }

  private buyerOf(p: JWTPayload): Buyer {
    const user = p.sub!;
    if (!wellFormedAccount(user)) throw unauthorized(SUB_RULE);
    const claimed = p[this.cfg.tierClaim];
    const tier = claimed === undefined ? this.defaultTier : String(claimed);
    const weight = Object.hasOwn(this.tiers, tier) ? this.tiers[tier] : undefined;
    if (weight === undefined) throw unauthorized(`tier "${tier}" (claim ${this.cfg.tierClaim}) is not one of ${Object.keys(this.tiers).join(", ")}`);
    const scopes = typeof p["scope"] === "string" ? p["scope"].split(" ") : Array.isArray(p["scp"]) ? (p["scp"] as unknown[]).map(String) : [];
    return { user, tier, weight, admin: scopes.includes(this.cfg.adminScope) };
  }
}

function unauthorized(detail: string): HttpError {
  return new HttpError(401, "unauthorized", detail, { "www-authenticate": 'Bearer realm="meridian-escrow"' });
}

function describe(err: unknown): string {
  if (err instanceof errors.JWTExpired) return "the token has expired";
  if (err instanceof errors.JWTClaimValidationFailed) return `claim ${err.claim}: ${err.reason === "check_failed" ? "unexpected value" : err.reason}`;
  if (err instanceof errors.JWSSignatureVerificationFailed) return "the token's signature does not verify";
  if (err instanceof errors.JWKSNoMatchingKey) return "no configured key matches the token's key id and algorithm";
  if (err instanceof errors.JOSEAlgNotAllowed) return "the token's algorithm is not allowed";
  if (err instanceof errors.JOSEError) return `invalid token: ${err.message}`;
  return `invalid token: ${(err as Error).message}`;
}

export interface BuyerKeyPair {
  publicJwk: JWK;
  privateJwk: JWK;
}

/** An ES256 key pair for an issuer (tests, `meridian local`'s dev issuer). */
export async function generateBuyerKeys(kid = "meridian-dev"): Promise<BuyerKeyPair> {
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: "ES256", use: "sig" };
  return { publicJwk, privateJwk };
}

export interface BuyerClaims {
  issuer: string;
  audience: string;
  sub: string;
  tier?: string;
  scope?: string;
  ttlSeconds?: number;
  nowMs?: number;
}

/** Sign a buyer token with an issuer's private JWK (what an identity provider does; for tests and local use). */
export async function mintBuyerToken(privateJwk: JWK, c: BuyerClaims): Promise<string> {
  const key = await importJWK(privateJwk, privateJwk.alg ?? "ES256");
  const iat = Math.floor((c.nowMs ?? Date.now()) / 1000);
  const claims: JWTPayload = { ...(c.tier ? { tier: c.tier } : {}), ...(c.scope ? { scope: c.scope } : {}) };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: privateJwk.alg ?? "ES256", kid: privateJwk.kid, typ: "JWT" })
    .setIssuer(c.issuer)
    .setAudience(c.audience)
    .setSubject(c.sub)
    .setIssuedAt(iat)
    .setExpirationTime(iat + (c.ttlSeconds ?? 3600))
    .sign(key);
}
