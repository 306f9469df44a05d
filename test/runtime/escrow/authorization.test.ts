// Escrow's authorization on the service kit: each route declares who may call (buyers with a verified JWT from
// the config's issuer, admins by scope or as operators, mesh peers by SPIFFE ID) and the kit checks it before
// the handler. Forged identities — an unsigned JWT, another issuer's, a token signed with a key the config does
// not trust, identity headers a client can set, an XFCC header the config does not ask to read or that is not
// this pod's sidecar's — are refused 401/403 naming why, and the inventory is unchanged.
import { describe, expect, it } from "vitest";
import { generateKeyPair, importJWK, SignJWT } from "jose";
import { defineEscrowService } from "../../../runtime/escrow/index.js";
import { mintBuyerToken } from "../../../runtime/escrow/transport/identity.js";
import { startService } from "../../../runtime/kit/index.js";
import { AUDIENCE, as, ISSUER, issuerKeys, testConfig } from "./fixture.js";

const TD = "spiffe://meridian.internal";
const SELF = `${TD}/ns/meridian-runtime/sa/escrow`;
const GATEWAY = `${TD}/ns/istio-ingress/sa/gateway`;
const OPERATOR = `${TD}/ns/ops/sa/oncall`;
const SKU = "tix";
const skus = [{ sku: SKU, total: 10, globalReserve: 0, allocation: { eu: 10 }, refill: { batchSize: 1, reorderPoints: { eu: 0 } } }];

async function start(o: { callers?: string[]; identity?: boolean } = {}) {
  const config = await testConfig(["eu"], { skus, ...(o.callers ? { callers: o.callers } : {}) });
  const server = { port: 0, ...(o.identity ? { identity: { xfcc: "istio-sidecar", spiffeId: SELF }, auth: { operators: { spiffe: [OPERATOR] } } } : {}) };
  const running = await startService(defineEscrowService(), { ...JSON.parse(JSON.stringify(config)), server }, { processMetrics: false });
  const counts = async () => {
    const v = (await running.parts.service.inventory(SKU))!;
    return { total: v.total, sold: v.sold, reserved: v.reserved, available: v.available, items: (await running.parts.service.inventory("new-item")) === null };
  };
  const call = async (method: string, path: string, headers: Record<string, string>, body?: unknown) => {
    const res = await fetch(`${running.url}${path}`, {
      method,
      headers: { "x-region": "eu", ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json().catch(() => null)) as { error?: string; detail?: string } | null };
  };
  return { running, counts, call };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const unsigned = (claims: Record<string, unknown>) => `${Buffer.from('{"alg":"none","typ":"JWT"}').toString("base64url")}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.`;
const xfcc = (by: string, uri: string) => ({ "x-forwarded-client-cert": `By=${by};Hash=abc;URI=${uri}` });

describe("escrow's per-route authorization on the kit", () => {
  it("refuses forged buyer and admin identities with 401 naming why, and nothing changes", async () => {
    const { running, counts, call } = await start();
    try {
      const before = await counts();
      const now = Math.floor(Date.now() / 1000);
      const claims = { iss: ISSUER, aud: AUDIENCE, sub: "mallory", scope: "escrow:admin meridian.operator", iat: now, exp: now + 600 };
      // Someone else's issuer: a key of their own, their own `iss`, and a token claiming ours signed with their key.
      const { privateKey } = await generateKeyPair("ES256");
      const rogue = (iss: string) =>
        new SignJWT({ scope: "escrow:admin" })
          .setProtectedHeader({ alg: "ES256", kid: "test-1" })
          .setIssuer(iss)
          .setAudience(AUDIENCE)
          .setSubject("mallory")
          .setIssuedAt(now)
          .setExpirationTime(now + 600)
          .sign(privateKey);
      const wrongIssuer = await mintBuyerToken((await issuerKeys()).privateJwk, { issuer: "https://evil.example", audience: AUDIENCE, sub: "mallory", scope: "escrow:admin" });
      const wrongAudience = await mintBuyerToken((await issuerKeys()).privateJwk, { issuer: ISSUER, audience: "meridian", sub: "mallory", scope: "escrow:admin" });
      const forged: [string, Record<string, string>, RegExp][] = [
        ["unsigned JWT", bearer(unsigned(claims)), /^bearer token rejected: /],
        ["wrong issuer", bearer(wrongIssuer), /^bearer token rejected: claim iss: unexpected value$/],
        ["wrong audience", bearer(wrongAudience), /^bearer token rejected: claim aud: unexpected value$/],
        ["another issuer's key", bearer(await rogue(ISSUER)), /^bearer token rejected: the token's signature does not verify$/],
        [
          "a token without exp",
          bearer(
            await new SignJWT({})
              .setProtectedHeader({ alg: "ES256", kid: "test-1" })
              .setIssuer(ISSUER)
              .setAudience(AUDIENCE)
              .setSubject("x")
              .sign(await privateOf()),
          ),
          /^bearer token rejected: .*exp/,
        ],
        ["header-set identity", { "x-spiffe-id": OPERATOR, "x-user": "admin", "x-remote-user": "admin", "x-forwarded-user": "admin" }, /required: present an X\.509-SVID \(mTLS\) or a bearer JWT$/],
        ["XFCC without server.identity", xfcc(SELF, OPERATOR), /required: present an X\.509-SVID \(mTLS\) or a bearer JWT$/],
      ];
      for (const [what, headers, why] of forged) {
        for (const [method, path, body] of [
          ["POST", `/v1/inventory/${SKU}/reservations`, { qty: 1 }],
          ["POST", "/v1/inventory/new-item", { total: 5 }],
          ["GET", `/v1/inventory/${SKU}/reconciliation`, undefined],
        ] as const) {
          const r = await call(method, path, headers, body);
          expect(r.status, `${what}: ${method} ${path}`).toBe(401);
          expect(r.body, `${what}: ${method} ${path}`).toMatchObject({ error: "unauthenticated", detail: expect.stringMatching(why) });
        }
      }
      // A buyer's genuine token opens the buyer routes, not the admin ones.
      const buyer = await call("POST", "/v1/inventory/new-item", await as("bob"), { total: 5 });
      expect(buyer.status).toBe(403);
      expect(buyer.body?.detail).toMatch(/^JWT subject bob is not allowed: an operator identity or a JWT with scope escrow:admin required$/);
      expect(await counts()).toEqual(before);
      expect((await call("POST", `/v1/inventory/${SKU}/reservations`, await as("bob"), { qty: 1 })).status).toBe(201);
      expect((await call("POST", "/v1/inventory/new-item", await as("ops", undefined, { admin: true }), { total: 5 })).status).toBe(201);
    } finally {
      await running.close();
    }
  });

  it("behind its sidecar with callers: buyers through a listed peer only, operators by SPIFFE ID, foreign sidecar headers refused", async () => {
    const { running, counts, call } = await start({ callers: [GATEWAY, SELF], identity: true });
    try {
      const before = await counts();
      const buyer = await as("carol");
      const admin = await as("ops", undefined, { admin: true });
      // A buyer's token straight to the pod (no peer): the mesh hop is missing.
      const direct = await call("POST", `/v1/inventory/${SKU}/reservations`, buyer, { qty: 1 });
      expect(direct.status).toBe(403);
      expect(direct.body?.detail).toMatch(/^JWT subject carol is not allowed: an mTLS peer with SPIFFE ID .*gateway.* and a verified bearer JWT required$/);
      // Through a peer that is not a listed caller.
      const stranger = await call("POST", `/v1/inventory/${SKU}/reservations`, { ...buyer, ...xfcc(SELF, `${TD}/ns/shop/sa/web`) }, { qty: 1 });
      expect(stranger.status).toBe(403);
      expect(stranger.body?.detail).toMatch(/^spiffe:\/\/meridian\.internal\/ns\/shop\/sa\/web with JWT subject carol is not allowed/);
      // The gateway with no buyer token: a credential is missing.
      const noToken = await call("POST", `/v1/inventory/${SKU}/reservations`, xfcc(SELF, GATEWAY), { qty: 1 });
      expect(noToken.status).toBe(401);
      expect(noToken.body?.detail).toMatch(/present a bearer JWT$/);
      // XFCC a caller wrote: another pod's By, two header lines' worth of elements ending in a forged one, malformed.
      for (const [header, why] of [
        [`By=${TD}/ns/meridian-runtime/sa/ratelimit;URI=${GATEWAY}`, /is not this pod's sidecar/],
        [`By=${SELF};URI=${GATEWAY};URI=${OPERATOR}`, /2 URIs/],
        [`By=${SELF};URI="${GATEWAY}`, /unterminated/],
      ] as const) {
        const r = await call("POST", "/v1/inventory/new-item", { ...admin, "x-forwarded-client-cert": header }, { total: 5 });
        expect(r.status, header).toBe(401);
        expect(r.body?.detail, header).toMatch(new RegExp(`^x-forwarded-client-cert refused: .*${why.source}`));
      }
      // An admin token through a non-caller peer is not enough; an unsigned one through the gateway is a 401.
      expect((await call("POST", "/v1/inventory/new-item", { ...admin, ...xfcc(SELF, `${TD}/ns/shop/sa/web`) }, { total: 5 })).status).toBe(403);
      const unsignedAdmin = await call(
        "POST",
        "/v1/inventory/new-item",
        { ...bearer(unsigned({ iss: ISSUER, aud: AUDIENCE, sub: "x", scope: "escrow:admin" })), ...xfcc(SELF, GATEWAY) },
        { total: 5 },
      );
      expect(unsignedAdmin.status).toBe(401);
      expect(await counts()).toEqual(before);

      // What is allowed: a buyer through the gateway, a commit forwarded by a peer escrow, admins, the operator's SVID.
      const r = await call("POST", `/v1/inventory/${SKU}/reservations`, { ...buyer, ...xfcc(SELF, GATEWAY) }, { qty: 1 });
      expect(r.status).toBe(201);
      const id = (r.body as unknown as { reservationId: string }).reservationId;
      expect((await call("POST", `/v1/reservations/${id}/commit`, { ...buyer, ...xfcc(SELF, SELF) })).status).toBe(200);
      expect((await call("POST", "/v1/inventory/new-item", { ...admin, ...xfcc(SELF, GATEWAY) }, { total: 5 })).status).toBe(201);
      expect((await call("POST", "/v1/inventory/other-item", xfcc(SELF, OPERATOR), { total: 5 })).status).toBe(201);
      expect((await call("GET", `/v1/inventory/${SKU}`, {})).status).toBe(200);
    } finally {
      await running.close();
    }
  });

  it("refuses a config that names a second token issuer beside its buyers'", async () => {
    const config = await testConfig(["eu"]);
    const auth = { jwt: { issuer: "https://ops.example", audience: "meridian", jwks: { keys: [(await issuerKeys()).publicJwk] } } };
    await expect(startService(defineEscrowService(), { ...JSON.parse(JSON.stringify(config)), server: { port: 0, auth } }, { processMetrics: false })).rejects.toThrow(
      /server\.auth\.jwt: this service verifies the bearer tokens its own config names/,
    );
  });
});

/** Our issuer's own key, for tokens it would never issue (no `exp`). */
async function privateOf() {
  return importJWK((await issuerKeys()).privateJwk, "ES256");
}
