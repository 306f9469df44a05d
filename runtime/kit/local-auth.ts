/**
 * Operator credentials for a machine with no identity provider (`meridian local`, tests): a fresh Ed25519
 * key, the `server.auth.jwt` section that trusts it, and short-lived operator JWTs signed with it. The
 * private key never leaves the process. Production services trust the estate's issuer instead.
 */
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import type { Clock } from "../common/clock.js";
import type { ServerConfigInput } from "./config.js";

export interface LocalOperatorAuth {
  /** The `server.auth` section a service needs to accept these tokens. */
  auth: NonNullable<ServerConfigInput["auth"]>;
  /** A signed JWT; `scope` defaults to the operator scope. */
  token(options?: { subject?: string; scope?: string; ttlSeconds?: number }): Promise<string>;
}

export async function localOperatorAuth(clock: Clock, issuer = "meridian-local", audience = "meridian"): Promise<LocalOperatorAuth> {
  const { publicKey, privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
  const jwk = { ...(await exportJWK(publicKey)), alg: "EdDSA", use: "sig", kid: "local-1" };
  const scope = "meridian.operator";
  return {
    auth: { jwt: { issuer, audience, jwks: { keys: [jwk] }, algorithms: ["EdDSA"] }, operators: { scope } },
    token: async (o = {}) => {
      const now = Math.floor(clock.now() / 1000);
      return new SignJWT({ scope: o.scope ?? scope })
        .setProtectedHeader({ alg: "EdDSA", kid: "local-1" })
        .setIssuer(issuer)
        .setAudience(audience)
        .setSubject(o.subject ?? "local-operator")
        .setIssuedAt(now)
        .setExpirationTime(now + (o.ttlSeconds ?? 3600))
        .sign(privateKey);
    },
  };
}
