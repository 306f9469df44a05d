// The kit remembers verified bearer tokens (runtime/kit/auth.ts) so a caller's repeated requests cost no signature
// check. The cache must never change a verdict: a remembered token is refused exactly when jose would refuse it —
// expired, not yet valid (a clock stepped back), signed by a key the issuer has rotated out — and it stays bounded.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import type { FastifyRequest } from "fastify";
import { ManualClock } from "../../../runtime/common/clock.js";
import { Authenticator, type AuthenticatorOptions } from "../../../runtime/kit/auth.js";
import { serverConfigSchema } from "../../../runtime/kit/config.js";

const T0 = 1_700_000_000_000;
const ISSUER = "https://buyers.example";
const AUDIENCE = "shop";

interface Signer {
  jwk: JWK;
  sign(claims: { sub: string; iat: number; exp?: number; nbf?: number }): Promise<string>;
}

async function signer(kid: string): Promise<Signer> {
  const { publicKey, privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
  const jwk = { ...(await exportJWK(publicKey)), alg: "EdDSA", use: "sig", kid };
  return {
    jwk,
    sign: (c) => {
      const t = new SignJWT({}).setProtectedHeader({ alg: "EdDSA", kid }).setIssuer(ISSUER).setAudience(AUDIENCE).setSubject(c.sub).setIssuedAt(c.iat);
      if (c.exp !== undefined) t.setExpirationTime(c.exp);
      if (c.nbf !== undefined) t.setNotBefore(c.nbf);
      return t.sign(privateKey);
    },
  };
}

function authenticator(jwks: string | { keys: JWK[] }, clock: ManualClock, options?: AuthenticatorOptions, clockToleranceSeconds = 0): Authenticator {
  const auth = serverConfigSchema.parse({ auth: { jwt: { issuer: ISSUER, audience: AUDIENCE, jwks, algorithms: ["EdDSA"], clockToleranceSeconds } } }).auth;
  return new Authenticator(auth, clock, undefined, options);
}

function request(token: string): FastifyRequest {
  const headers = { authorization: `Bearer ${token}` };
  return { headers, raw: { socket: {}, headers, rawHeaders: [] } } as unknown as FastifyRequest;
}

/** "ok", or the refusal's status and detail. */
async function verdict(a: Authenticator, token: string): Promise<string> {
  try {
    await a.authorize(request(token), "bearer");
    return "ok";
  } catch (e) {
    const err = e as { status?: number; detail?: string };
    return `${err.status} ${err.detail}`;
  }
}

/** Whether the cache answered (no promise: no signature was checked). */
function fromCache(a: Authenticator, token: string): boolean {
  try {
    const pending = a.authorize(request(token), "bearer");
    if (pending === undefined) return true;
    pending.catch(() => undefined); // a verification started: its verdict is not what this asks
    return false;
  } catch {
    return false;
  }
}

describe("the verified-token cache", () => {
  it("refuses a remembered token whose nbf is ahead of the clock again (a clock stepped back), as jose does", async () => {
    const clock = new ManualClock(T0);
    const s = await signer("k1");
    const a = authenticator({ keys: [s.jwk] }, clock);
    const token = await s.sign({ sub: "ann", iat: T0 / 1000, nbf: T0 / 1000, exp: T0 / 1000 + 600 });
    expect(await verdict(a, token)).toBe("ok");
    expect(fromCache(a, token)).toBe(true);
    clock.set(T0 - 5_000);
    expect(fromCache(a, token)).toBe(false);
    expect(await verdict(a, token)).toBe("401 bearer token rejected: claim nbf: unexpected value");
    clock.set(T0);
    expect(await verdict(a, token)).toBe("ok");
  });

  it("refuses a remembered token once it has expired, although it is still in the cache", async () => {
    const clock = new ManualClock(T0);
    const s = await signer("k1");
    const a = authenticator({ keys: [s.jwk] }, clock);
    const token = await s.sign({ sub: "ann", iat: T0 / 1000, exp: T0 / 1000 + 60 });
    expect(await verdict(a, token)).toBe("ok");
    expect(fromCache(a, token)).toBe(true);
    clock.advance(60_000);
    expect(a.cachedTokens).toBe(1);
    expect(await verdict(a, token)).toBe("401 bearer token rejected: the token has expired");
  });

  it("stays within its bound, and a token pushed out is verified again (still accepted)", async () => {
    const clock = new ManualClock(T0);
    const s = await signer("k1");
    const a = authenticator({ keys: [s.jwk] }, clock, { cacheLimit: 4 });
    const tokens = await Promise.all(Array.from({ length: 10 }, (_, i) => s.sign({ sub: `buyer-${i}`, iat: T0 / 1000, exp: T0 / 1000 + 600 })));
    for (const t of tokens) expect(await verdict(a, t)).toBe("ok");
    expect(a.cachedTokens).toBe(4);
    expect(fromCache(a, tokens[0]!)).toBe(false);
    expect(fromCache(a, tokens[9]!)).toBe(true);
    expect(await verdict(a, tokens[0]!)).toBe("ok");
    expect(a.cachedTokens).toBe(4);
  });

  it("answers only the exact token from the cache: a forgery ending with a remembered token's signature is verified, and refused", async () => {
    const clock = new ManualClock(T0);
    const s = await signer("k1");
    const a = authenticator({ keys: [s.jwk] }, clock);
    const ann = await s.sign({ sub: "ann", iat: T0 / 1000, exp: T0 / 1000 + 600 });
    expect(await verdict(a, ann)).toBe("ok");
    expect(fromCache(a, ann)).toBe(true);
    // The cache finds entries by the header's last characters (the signature's): Ann's signature on a payload naming Eve.
    const [header, , signature] = ann.split(".");
    const eve = Buffer.from(JSON.stringify({ iss: ISSUER, aud: AUDIENCE, sub: "eve", iat: T0 / 1000, exp: T0 / 1000 + 600 })).toString("base64url");
    const forged = `${header}.${eve}.${signature}`;
    expect(fromCache(a, forged)).toBe(false);
    expect(await verdict(a, forged)).toBe("401 bearer token rejected: the token's signature does not verify");
    // Ann's entry is still hers.
    expect(fromCache(a, ann)).toBe(true);
  });

  it("never changes a verdict: cached or not, every request is answered as a fresh verification would (property)", async () => {
    const s = await signer("k1");
    const iat = T0 / 1000;
    // Tokens valid over different windows around T0 (seconds), some without nbf.
    const windows = [
      { nbf: undefined, exp: iat + 30 },
      { nbf: iat, exp: iat + 90 },
      { nbf: iat + 20, exp: iat + 60 },
      { nbf: iat - 50, exp: iat + 10 },
      { nbf: undefined, exp: iat + 120 },
      { nbf: iat + 60, exp: iat + 200 },
    ];
    const tokens = await Promise.all(windows.map((w, i) => s.sign({ sub: `buyer-${i}`, iat, ...w })));
    const step = fc.oneof(
      fc.record({ kind: fc.constant("request" as const), token: fc.nat({ max: tokens.length - 1 }) }),
      fc.record({ kind: fc.constant("clock" as const), to: fc.integer({ min: -60, max: 240 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 10 }), async (steps, limit, leeway) => {
        const clock = new ManualClock(T0);
        const cached = authenticator({ keys: [s.jwk] }, clock, { cacheLimit: limit }, leeway);
        for (const st of steps) {
          if (st.kind === "clock") {
            clock.set(T0 + st.to * 1000);
            continue;
          }
          const fresh = authenticator({ keys: [s.jwk] }, clock, {}, leeway);
          expect(await verdict(cached, tokens[st.token]!)).toBe(await verdict(fresh, tokens[st.token]!));
          expect(cached.cachedTokens).toBeLessThanOrEqual(limit);
        }
      }),
      { numRuns: 60 },
    );
  });

  describe("an issuer's JWKS served from a URL", () => {
    let server: Server | undefined;
    afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

    async function jwksServer(initial: JWK[]): Promise<{ url: string; serve(keys: JWK[]): void; fetches(): number }> {
      let keys = initial;
      let fetches = 0;
      server = createServer((_req, res) => {
        fetches++;
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys }));
      });
      await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
      return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`, serve: (k) => (keys = k), fetches: () => fetches };
    }

    it("refuses a remembered token of a key the issuer rotated out, once another token's verification fetched the new set", async () => {
      const clock = new ManualClock(T0);
      const [old, next] = await Promise.all([signer("k-old"), signer("k-new")]);
      const issuer = await jwksServer([old.jwk]);
      const a = authenticator(issuer.url, clock, { remoteJwks: { cooldownDuration: 0 } });
      const ann = await old.sign({ sub: "ann", iat: T0 / 1000, exp: T0 / 1000 + 600 });
      expect(await verdict(a, ann)).toBe("ok"); // the first sight of the set: not yet remembered
      expect(await verdict(a, ann)).toBe("ok");
      expect(fromCache(a, ann)).toBe(true);

      issuer.serve([next.jwk]);
      const bob = await next.sign({ sub: "bob", iat: T0 / 1000, exp: T0 / 1000 + 600 });
      expect(await verdict(a, bob)).toBe("ok"); // an unknown kid: jose fetches the set again
      expect(fromCache(a, ann)).toBe(false);
      expect(await verdict(a, ann)).toBe("401 bearer token rejected: no configured key matches the token's key id and algorithm");
    });

    it("refuses it too when only the set's cache age has passed: a remembered token makes the kit fetch the set again", async () => {
      const clock = new ManualClock(T0);
      const [old, next] = await Promise.all([signer("k-old"), signer("k-new")]);
      const issuer = await jwksServer([old.jwk]);
      const a = authenticator(issuer.url, clock, { remoteJwks: { cacheMaxAge: 200, cooldownDuration: 0 } });
      const ann = await old.sign({ sub: "ann", iat: T0 / 1000, exp: T0 / 1000 + 600 });
      expect(await verdict(a, ann)).toBe("ok");
      expect(await verdict(a, ann)).toBe("ok");
      expect(fromCache(a, ann)).toBe(true);
      const fetched = issuer.fetches();

      issuer.serve([next.jwk]);
      await new Promise((r) => setTimeout(r, 250));
      expect(fromCache(a, ann)).toBe(false);
      expect(await verdict(a, ann)).toBe("401 bearer token rejected: no configured key matches the token's key id and algorithm");
      expect(issuer.fetches()).toBeGreaterThan(fetched);
    });
  });
});
