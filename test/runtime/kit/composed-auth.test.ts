// The kit's composed route rules and a service's own token issuer: "bearer" (any verified JWT), allOf (a listed
// mesh peer AND a JWT), anyOf (an operator OR a scope), `scp` arrays as scopes, required claims and leeway, and a
// definition's `jwt` in place of server.auth.jwt. Each refusal names why; a forged credential never opens a route.
import { describe, expect, it } from "vitest";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import type { FastifyRequest } from "fastify";
import { z } from "zod";
import { ManualClock } from "../../../runtime/common/clock.js";
import { Authenticator } from "../../../runtime/kit/auth.js";
import { serverConfigSchema } from "../../../runtime/kit/config.js";
import { defineService, localOperatorAuth, startService, type RouteAuth } from "../../../runtime/kit/index.js";

const SELF = "spiffe://example.org/ns/meridian/sa/shop";
const GATEWAY = "spiffe://example.org/ns/edge/sa/gateway";
const T0 = 1_700_000_000_000;

async function start() {
  const clock = new ManualClock(T0);
  const local = await localOperatorAuth(clock, "https://buyers.example", "shop");
  const jwt = local.auth.jwt!;
  const shop = defineService({
    name: "shop",
    config: z.object({}).strict(),
    // The service's own config would name this issuer (escrow's `identity`); here it is fixed.
    jwt: () => ({ ...jwt, clockToleranceSeconds: 30, requiredClaims: ["sub"] }),
    start: () => ({
      routes(app) {
        const rule = (auth: RouteAuth) => ({ config: { auth } });
        const who = (req: { identity?: { kind: string; subject?: string; id?: { uri: string } } }) => ({ kind: req.identity?.kind, subject: req.identity?.subject, peer: req.identity?.id?.uri });
        app.get("/bearer", rule("bearer"), async (req) => who(req));
        app.get("/through-gateway", rule({ allOf: [{ spiffe: [GATEWAY] }, "bearer"] }), async (req) => who(req));
        app.get("/admin", rule({ anyOf: ["operator", { scope: "shop:admin" }] }), async (req) => who(req));
      },
    }),
  });
  const running = await startService(shop, { server: { port: 0, identity: { xfcc: "istio-sidecar", spiffeId: SELF } } }, { clock, processMetrics: false });
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const r = await fetch(`${running.url}${path}`, { headers });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  return { clock, local, running, get };
}

const viaGateway = { "x-forwarded-client-cert": `By=${SELF};URI=${GATEWAY}` };
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe("composed route rules", () => {
  it("bearer, allOf and anyOf let exactly the right callers through, naming why the others are refused", async () => {
    const { local, running, get, clock } = await start();
    try {
      const buyer = await local.token({ subject: "ann", scope: "shop:read" });
      expect(await get("/bearer", bearer(buyer))).toEqual({ status: 200, body: { kind: "jwt", subject: "ann" } });
      expect(await get("/bearer", viaGateway)).toMatchObject({ status: 401, body: { error: "unauthenticated", detail: "a verified bearer JWT required: present a bearer JWT" } });

      expect(await get("/through-gateway", { ...bearer(buyer), ...viaGateway })).toEqual({ status: 200, body: { kind: "jwt", subject: "ann" } });
      expect(await get("/through-gateway", bearer(buyer))).toMatchObject({
        status: 403,
        body: { detail: `JWT subject ann is not allowed: an mTLS peer with SPIFFE ID ${GATEWAY} and a verified bearer JWT required` },
      });
      expect(await get("/through-gateway", viaGateway)).toMatchObject({ status: 401, body: { detail: expect.stringMatching(/present a bearer JWT$/) } });
      // A composed rule verifies a presented token whatever the peer: a bad one is a 401.
      expect(await get("/through-gateway", { ...bearer(`${buyer.slice(0, -4)}AAAA`), ...viaGateway })).toMatchObject({
        status: 401,
        body: { detail: "bearer token rejected: the token's signature does not verify" },
      });

      expect(await get("/admin", bearer(buyer))).toMatchObject({ status: 403, body: { detail: "JWT subject ann is not allowed: an operator identity or a JWT with scope shop:admin required" } });
      expect((await get("/admin", bearer(await local.token({ subject: "ops", scope: "shop:admin" })))).status).toBe(200);
      expect((await get("/admin", bearer(await local.token({ subject: "op" })))).status).toBe(200); // the operator scope

      // Leeway: a token 20 s past its exp is still good with 30 s of clock tolerance, not at 40 s.
      const short = await local.token({ subject: "bea", ttlSeconds: 60 });
      clock.advance(80_000);
      expect((await get("/bearer", bearer(short))).status).toBe(200);
      clock.advance(20_000);
      expect(await get("/bearer", bearer(short))).toMatchObject({ status: 401, body: { detail: "bearer token rejected: the token has expired" } });
    } finally {
      await running.close();
    }
  });

  it("reads scopes from an `scp` array, requires the claims the service asks for, and refuses a second issuer in server.auth", async () => {
    const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), alg: "EdDSA", kid: "k1" }] };
    const svc = defineService({
      name: "scp",
      config: z.object({}).strict(),
      jwt: () => ({ issuer: "https://idp.example", audience: "scp", jwks, algorithms: ["EdDSA"], requiredClaims: ["sub", "exp"] }),
      start: () => ({ routes: (app) => void app.get("/admin", { config: { auth: { scope: "shop:admin" } } }, async () => ({ ok: true })) }),
    });
    const signed = (claims: Record<string, unknown>, exp = true) => {
      const t = new SignJWT(claims).setProtectedHeader({ alg: "EdDSA", kid: "k1" }).setIssuer("https://idp.example").setAudience("scp").setIssuedAt();
      return (exp ? t.setExpirationTime("10m") : t).sign(privateKey);
    };
    const running = await startService(svc, { server: { port: 0 } }, { processMetrics: false });
    try {
      const get = async (token: string) => {
        const r = await fetch(`${running.url}/admin`, { headers: bearer(token) });
        return { status: r.status, body: (await r.json()) as Record<string, unknown> };
      };
      expect((await get(await signed({ sub: "ops", scp: ["shop:read", "shop:admin"] }))).status).toBe(200);
      expect((await get(await signed({ sub: "ops", scp: ["shop:read"] }))).status).toBe(403);
      expect(await get(await signed({ scp: ["shop:admin"] }))).toMatchObject({ status: 401, body: { detail: "bearer token rejected: claim sub: missing" } });
      expect(await get(await signed({ sub: "ops", scp: ["shop:admin"] }, false))).toMatchObject({ status: 401, body: { detail: "bearer token rejected: claim exp: missing" } });
    } finally {
      await running.close();
    }
    const other = { jwt: { issuer: "https://ops.example", audience: "ops", jwks } };
    await expect(startService(svc, { server: { port: 0, auth: other } }, { processMetrics: false })).rejects.toThrow(/server\.auth\.jwt: this service verifies the bearer tokens its own config names/);
  });
});

describe("authorization of a known caller", () => {
  // The kit authorizes every request; a caller's verified token is remembered, so its next requests cost no
  // signature check and no promise (the request path stays synchronous) — until the token expires.
  it("a cached token is checked synchronously, and verified again (refused) once it has expired", async () => {
    const clock = new ManualClock(T0);
    const local = await localOperatorAuth(clock, "https://buyers.example", "shop");
    const authenticator = new Authenticator(serverConfigSchema.parse({ auth: local.auth }).auth, clock);
    const token = await local.token({ subject: "ann", ttlSeconds: 60 });
    const request = () => {
      const headers = bearer(token);
      return { headers, raw: { socket: {}, headers, rawHeaders: [] } } as unknown as FastifyRequest;
    };
    const first = request();
    await authenticator.authorize(first, "bearer");
    expect(first.identity).toMatchObject({ kind: "jwt", subject: "ann" });

    const again = request();
    expect(authenticator.authorize(again, "bearer")).toBeUndefined();
    expect(again.identity).toMatchObject({ kind: "jwt", subject: "ann" });
    // A cached token still has to satisfy the route's rule.
    expect(() => authenticator.authorize(request(), { scope: "shop:admin" })).toThrow(/not allowed: a JWT with scope shop:admin required/);

    clock.advance(61_000);
    await expect(Promise.resolve().then(() => authenticator.authorize(request(), "bearer"))).rejects.toMatchObject({ status: 401, detail: "bearer token rejected: the token has expired" });
  });
});
