/** Escrow test fixtures: a test identity provider (an ES256 key pair), configs, and buyer tokens. */
import { generateBuyerKeys, mintBuyerToken, type BuyerKeyPair } from "../../../runtime/escrow/transport/identity.js";
import { parseEscrowConfig, type EscrowConfig, type EscrowConfigInput } from "../../../runtime/escrow/config.js";

export const ISSUER = "https://id.test.example";
export const AUDIENCE = "meridian-escrow";

let keys: Promise<BuyerKeyPair> | null = null;
export function issuerKeys(): Promise<BuyerKeyPair> {
  keys ??= generateBuyerKeys("test-1");
  return keys;
}

/** A valid config for the given regions (no SKUs unless given), trusting the test issuer. */
export async function testConfig(regions: string[], extra: Partial<EscrowConfigInput> = {}): Promise<EscrowConfig> {
  const { publicJwk } = await issuerKeys();
  return parseEscrowConfig({ regions, identity: { issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [publicJwk] } }, ...extra });
}

/** A buyer's bearer token from the test issuer. */
export async function tokenFor(sub: string, o: { tier?: string; scope?: string; ttlSeconds?: number; nowMs?: number } = {}): Promise<string> {
  return mintBuyerToken((await issuerKeys()).privateJwk, { issuer: ISSUER, audience: AUDIENCE, sub, ...o });
}

/** Headers for a buyer (and an admin: the escrow:admin scope). */
export async function as(sub: string, region?: string, o: { tier?: string; admin?: boolean; nowMs?: number } = {}): Promise<Record<string, string>> {
  const token = await tokenFor(sub, { tier: o.tier, scope: o.admin ? "escrow:admin" : undefined, nowMs: o.nowMs, ttlSeconds: 86_400 * 365 * 30 });
  return { authorization: `Bearer ${token}`, ...(region ? { "x-region": region } : {}) };
}
