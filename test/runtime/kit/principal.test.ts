// What the kit hands a service as a JWT's subject: every service keys something by it (quota's principals and
// their audit records, attest's revocations, escrow's buyers), in PostgreSQL or Redis as UTF-8. A subject those
// stores cannot hold as given — a lone surrogate (stored as U+FFFD, so "victim\uD800" acts as "victim\uFFFD"), a
// NUL (PostgreSQL refuses the write), not a string at all (`["victim"]` prints as "victim") — must never reach a
// service. And the token attacks the rule "identities come from verified credentials" must hold against.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { ManualClock } from "../../../runtime/common/clock.js";
import { startService, type RunningService } from "../../../runtime/kit/index.js";
import { itemsService } from "./fixture.js";

const ISSUER = "https://idp.example";
const AUDIENCE = "items";
const T0 = 1_700_000_000_000;

let svc: RunningService;
let key: CryptoKey;
const clock = new ManualClock(T0);

beforeAll(async () => {
  const pair = await generateKeyPair("EdDSA", { crv: "Ed25519" });
  key = pair.privateKey;
  const jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), alg: "EdDSA", kid: "k1" }] };
  svc = await startService(itemsService, { server: { port: 0, auth: { jwt: { issuer: ISSUER, audience: AUDIENCE, jwks, algorithms: ["EdDSA"] } } } }, { clock, processMetrics: false });
});
afterAll(async () => {
  await svc?.close();
});

const seconds = () => Math.floor(clock.now() / 1000);
/** A token the trusted issuer signed, with exactly these claims over the defaults. */
const signed = (claims: Record<string, unknown>) =>
  new SignJWT({ iss: ISSUER, aud: AUDIENCE, iat: seconds(), exp: seconds() + 600, ...claims }).setProtectedHeader({ alg: "EdDSA", kid: "k1" }).sign(key);
const whoami = async (token: string) => {
  const r = await fetch(`${svc.url}/whoami`, { headers: { authorization: `Bearer ${token}` } });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
};

describe("a verified token's subject", () => {
  it("is handed over only when a store can hold it as given: well-formed Unicode, 1-255 characters, no NUL, a string", async () => {
    for (const sub of ["victim\uD800", "\uDC00victim", "victim\uDBFF\uDBFF", "vic\u0000tim", "", "x".repeat(256), ["victim"], 42, { id: "victim" }, null]) {
      const r = await whoami(await signed({ sub }));
      expect({ sub, ...r }).toMatchObject({
        sub,
        status: 401,
        body: { error: "unauthenticated", detail: "bearer token rejected: `sub` must be a string of 1-255 characters of well-formed Unicode, none of them NUL" },
      });
    }
    // The well-formed neighbours pass, exactly as given (a surrogate pair is one character, not a lone one).
    for (const sub of ["victim", "victim\uFFFD", "victim\uD83D\uDE00", "x".repeat(255), "Ålice"]) expect(await whoami(await signed({ sub }))).toEqual({ status: 200, body: { who: `jwt:${sub}` } });
    // A token without a subject is the service's to refuse (quota: "names no principal"), as before.
    expect(await whoami(await signed({}))).toEqual({ status: 200, body: { who: "jwt:" } });
  });

  it("keeps case and normalisation twins apart: nothing folds one caller into another", async () => {
    const nfc = "\u00e9lise";
    const nfd = "e\u0301lise";
    const seen = [];
    for (const sub of ["alice", "Alice", "ALICE", nfc, nfd]) seen.push((await whoami(await signed({ sub }))).body["who"]);
    expect(seen).toEqual(["jwt:alice", "jwt:Alice", "jwt:ALICE", `jwt:${nfc}`, `jwt:${nfd}`]);
  });
});

describe("tokens that are not the issuer's word for this service", () => {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");

  it("refuses an unsigned token (alg none), a token signed with a key-as-HMAC-secret, and one with its signature cut off", async () => {
    const claims = { iss: ISSUER, aud: AUDIENCE, sub: "ops", scope: "meridian.operator", iat: seconds(), exp: seconds() + 600 };
    const none = `${b64({ alg: "none", typ: "JWT" })}.${b64(claims)}.`;
    expect((await whoami(none)).status).toBe(401);
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: "HS256", kid: "k1" }).sign(new TextEncoder().encode("the issuer's public key, as a secret"));
    expect(await whoami(hs)).toMatchObject({ status: 401, body: { detail: "bearer token rejected: the token's algorithm is not allowed" } });
    const good = await signed({ sub: "ops" });
    expect((await whoami(good.slice(0, good.lastIndexOf(".") + 1))).status).toBe(401);
    // A claims part swapped under a valid header and signature: the signature no longer covers it.
    const [header, , signature] = good.split(".");
    expect(await whoami(`${header}.${b64({ ...claims, sub: "root" })}.${signature}`)).toMatchObject({ status: 401, body: { detail: "bearer token rejected: the token's signature does not verify" } });
  });

  it("refuses a token of the same issuer's key for another audience, or naming another issuer", async () => {
    expect(await whoami(await signed({ sub: "ops", aud: "escrow" }))).toMatchObject({ status: 401, body: { detail: "bearer token rejected: claim aud: unexpected value" } });
    expect(await whoami(await signed({ sub: "ops", aud: ["escrow", "quota"] }))).toMatchObject({ status: 401, body: { detail: "bearer token rejected: claim aud: unexpected value" } });
    expect(await whoami(await signed({ sub: "ops", iss: "https://idp.example/" }))).toMatchObject({ status: 401, body: { detail: "bearer token rejected: claim iss: unexpected value" } });
    expect((await whoami(await signed({ sub: "ops", aud: ["escrow", AUDIENCE] }))).status).toBe(200);
  });

  it("refuses an expired token (no leeway configured), also once it was remembered", async () => {
    const t = await signed({ sub: "ann", exp: seconds() + 60 });
    expect((await whoami(t)).status).toBe(200);
    clock.advance(61_000);
    expect(await whoami(t)).toMatchObject({ status: 401, body: { detail: "bearer token rejected: the token has expired" } });
    expect(await whoami(await signed({ sub: "ann", nbf: seconds() + 30 }))).toMatchObject({ status: 401, body: { detail: "bearer token rejected: claim nbf: unexpected value" } });
  });

  it("refuses a token with no expiry by default (requiredClaims: exp): once leaked it would be valid for ever", async () => {
    expect(await whoami(await signed({ sub: "ann", exp: undefined }))).toMatchObject({ status: 401, body: { detail: expect.stringMatching(/exp/) as unknown } });
  });
});
