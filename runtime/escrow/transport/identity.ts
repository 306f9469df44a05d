/**
 * Buyer identity: every request carries `Authorization: Bearer <JWT>` from the estate's identity
 * provider; `BuyerVerifier` checks its signature against the configured keys (a JWKS inline or from
 * the issuer's endpoint, via `jose`), its issuer, audience, algorithm and lifetime, and takes the
 * buyer from `sub`, the tier from the tier claim, and admin rights from `scope`. Nothing about who a
 * buyer is comes from a body field or a header a client may set. Verified tokens are cached until they
 * expire (bounded), so a buyer's repeated requests cost one signature check.
 */
import { createLocalJWKSet, createRemoteJWKSet, errors, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { HttpError } from "../../common/http.js";
import type { IdentityConfig } from "../config.js";

export interface Buyer {
  user: string;
  tier: string;
  /** The tier's weight in the waiting room's weighted draw. */
  weight: number;
  admin: boolean;
}

const CACHE_LIMIT = 50_000;

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
    if (user.length === 0 || user.length > 128) throw unauthorized("`sub` must be 1-128 characters");
    const claimed = p[this.cfg.tierClaim];
    const tier = claimed === undefined ? this.defaultTier : String(claimed);
    const weight = this.tiers[tier];
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
