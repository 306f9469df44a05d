// Trying to append to the proof log as a submitter one is not, where submitters are named by a JWT scope (no mesh:
// `meridian local`, the submitters the local estate gives its log, localLogSubmitters). The log's issuer is a key of
// the test's own, configured as localOperatorAuth configures the supervisor's (EdDSA, issuer meridian-local, audience
// meridian), so a token can be forged in every way short of holding that key. Each attempt must be refused (401: no
// valid credential; 403: a valid one that names no submitter, or one that may not name the actor) with a reason, and
// nothing appended.
import { createPublicKey, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildEstateSpec } from "../../../model/estate.js";
import { localLogSubmitters, localSupervisorId, logSubmitterScope, renewedTokenFile } from "../../../runtime/local/trust-services.js";
import { encodeAuditEvent, type AuditEvent } from "../../../runtime/prooflog/audit/audit.js";
import type { TransparencyLog } from "../../../runtime/prooflog/log.js";
import { generateKey } from "../../../runtime/prooflog/note.js";
import { startLogServer } from "../../../runtime/prooflog/serve.js";
import { MemoryStore } from "../../../runtime/prooflog/storage/store.js";
import { parseEstateConfig, readStackConfigMap } from "../../../stacks/load.js";

const spec = buildEstateSpec("local", parseEstateConfig(readStackConfigMap("local"), "local"));
const SUBMITTERS = localLogSubmitters(spec);
const id = (sa: string) => SUBMITTERS.find((s) => s.spiffe.endsWith(`/sa/${sa}`))!.spiffe;
const ATTEST = id("attest");
const QUOTA = id("quota");
const ESCROW = id("escrow");
const SUPERVISOR = localSupervisorId(spec);
const ATTEST_SCOPE = logSubmitterScope(ATTEST);
const QUOTA_SCOPE = logSubmitterScope(QUOTA);
const ORIGIN = "meridian.test/submitters-adversarial";
const ISSUER = "meridian-local";
const AUDIENCE = "meridian";
const KID = "local-1";

type Keys = Awaited<ReturnType<typeof generateKeyPair>>;
let issuer: Keys;
let jwk: Record<string, unknown>;
let app: FastifyInstance;
let url: string;
let log: TransparencyLog;

beforeAll(async () => {
  issuer = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  jwk = { ...(await exportJWK(issuer.publicKey)), alg: "EdDSA", use: "sig", kid: KID };
  ({ app, url, log } = await startLogServer({
    origin: ORIGIN,
    signerKey: generateKey(ORIGIN).signerKey,
    store: new MemoryStore(),
    port: 0,
    checkpointIntervalMs: 60_000,
    submitters: SUBMITTERS,
    server: { auth: { jwt: { issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [jwk] }, algorithms: ["EdDSA"] }, operators: { scope: "meridian.operator" } } },
    notice: () => undefined,
  }));
});
afterAll(() => app?.close());

const now = () => Math.floor(Date.now() / 1000);

/** A token as the log's issuer would sign it (`claims` over the defaults; an `undefined` claim left out), or with `key`/`header` of an attacker's choosing. */
async function token(claims: JWTPayload = {}, o: { key?: Keys["privateKey"] | Uint8Array; header?: Record<string, unknown> } = {}): Promise<string> {
  const payload: JWTPayload = { iss: ISSUER, aud: AUDIENCE, sub: "local-attest", iat: now(), exp: now() + 600, ...claims };
  for (const k of Object.keys(payload)) if (payload[k] === undefined) delete payload[k];
  return new SignJWT(payload).setProtectedHeader({ alg: "EdDSA", kid: KID, ...o.header } as { alg: string }).sign(o.key ?? issuer.privateKey);
}

const b64url = (v: unknown) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");

let tick = 0;
const event = (e: Omit<AuditEvent, "timestamp">): Buffer => encodeAuditEvent({ ...e, timestamp: { wallTime: 1_700_000_000_000, logical: tick++ } });
/** The kit's refusal (no rule of the route passes) or the log's (the token's scopes name no submitter). */
const NO_SUBMITTER = /is not allowed: .*a JWT with scope meridian\.log\.attest|not one of the log's submitters/;
const opaque = () => Buffer.from(`opaque ${randomUUID()}`);

async function add(entry: Uint8Array, headers: Record<string, string> = {}, path = "/add"): Promise<{ status: number; body: string }> {
  const res = await fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/octet-stream", ...headers }, body: Buffer.from(entry) });
  return { status: res.status, body: await res.text() };
}
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const as = async (scope: string) => bearer(await token({ scope }));

/** Refused with `status` and a detail matching `why`, and nothing appended. */
async function refused(attempt: Promise<{ status: number; body: string }>, status: 401 | 403, why: RegExp): Promise<void> {
  const before = log.size;
  const r = await attempt;
  expect({ status: r.status, body: r.body }).toEqual({ status, body: expect.stringMatching(why) });
  expect(log.size).toBe(before);
}

describe("the honest path (so every refusal below is the attack's, not the setup's)", () => {
  it("takes attest's token as attest and quota's as quota", async () => {
    expect((await add(event({ actor: ATTEST, action: "attest.result", subject: "n" }), await as(ATTEST_SCOPE))).status).toBe(200);
    expect((await add(event({ actor: QUOTA, action: "quota.sweep", subject: "s" }), await as(QUOTA_SCOPE))).status).toBe(200);
  });
});

describe("scopes that are not exactly one submitter's", () => {
  it("refuses a token carrying two submitters' scopes, however they are carried (scope string, scope array, scp)", async () => {
    const twice = /more than one submitter/;
    await refused(add(opaque(), bearer(await token({ scope: `${QUOTA_SCOPE} ${ATTEST_SCOPE}` }))), 403, twice);
    await refused(add(opaque(), bearer(await token({ scope: `openid ${ATTEST_SCOPE} meridian.operator ${QUOTA_SCOPE}` }))), 403, twice);
    await refused(add(opaque(), bearer(await token({ scope: [QUOTA_SCOPE, ATTEST_SCOPE] }))), 403, twice);
    await refused(add(opaque(), bearer(await token({ scope: undefined, scp: [QUOTA_SCOPE, ATTEST_SCOPE] }))), 403, twice);
    await refused(add(opaque(), bearer(await token({ scope: undefined, scp: `${QUOTA_SCOPE} ${ATTEST_SCOPE}` }))), 403, twice);
  });

  it("a scope list with one submitter's scope among others names that submitter only: it cannot name another as actor", async () => {
    const mixed = bearer(await token({ scope: `openid meridian.operator ${QUOTA_SCOPE} ${QUOTA_SCOPE}` }));
    await refused(add(event({ actor: ATTEST, action: "attest.result", subject: "n" }), mixed), 403, new RegExp(`${QUOTA}.*may not append.*${ATTEST}`));
    // `scope` wins over `scp`: a second claim cannot add a submitter the first does not carry.
    const both = bearer(await token({ scope: QUOTA_SCOPE, scp: [ATTEST_SCOPE] }));
    await refused(add(event({ actor: ATTEST, action: "attest.result", subject: "n" }), both), 403, new RegExp(`${QUOTA}.*may not append.*${ATTEST}`));
  });

  it("refuses scope spellings that are not the submitter's scope exactly (case, whitespace, encoding, look-alikes, the SPIFFE ID itself)", async () => {
    const variants = [
      ATTEST, // the SPIFFE ID, not the scope
      ATTEST.replace("spiffe://", "SPIFFE://"),
      ATTEST_SCOPE.toUpperCase(),
      "Meridian.log.attest",
      `${ATTEST_SCOPE}/`,
      `${ATTEST_SCOPE}.`,
      "meridian.log.attest%20",
      "meridian%2Elog%2Eattest",
      encodeURIComponent(ATTEST),
      "meridian.log.\u0430ttest", // Cyrillic а
      "meridian.log.attes\u0442", // Cyrillic т
      "meridian.log.attest\u200b", // zero-width space
      "ｍｅｒｉｄｉａｎ.log.attest", // fullwidth (NFKC folds it)
      "meridian.log.atte\u017Ft", // long s (case-folds to s)
      `meridian.log.quota\t${ATTEST_SCOPE}`, // a tab does not separate scopes
      `${ATTEST_SCOPE}\u00a0`,
      `${ATTEST_SCOPE},${QUOTA_SCOPE}`,
      "meridian.log.*",
      "meridian.log",
      "",
    ];
    for (const scope of variants) await refused(add(event({ actor: ATTEST, action: "attest.result", subject: "n" }), bearer(await token({ scope }))), 403, NO_SUBMITTER);
    // Nor a claim other than scope/scp that names a submitter.
    await refused(add(opaque(), bearer(await token({ scope: undefined, sub: ATTEST, spiffe: ATTEST, spiffe_id: ATTEST, azp: ATTEST_SCOPE }))), 403, NO_SUBMITTER);
  });
});

describe("tokens the log's issuer did not sign as given", () => {
  it("refuses alg none, HS256 keyed with the issuer's public key (algorithm confusion), another key under the same kid, an embedded key", async () => {
    const payload = { iss: ISSUER, aud: AUDIENCE, sub: "x", scope: ATTEST_SCOPE, iat: now(), exp: now() + 600 };
    const entry = event({ actor: ATTEST, action: "attest.result", subject: "n" });
    for (const alg of ["none", "None", "NONE"]) {
      const unsigned = `${b64url({ alg, kid: KID, typ: "JWT" })}.${b64url(payload)}.`;
      await refused(add(entry, bearer(unsigned)), 401, /bearer token rejected|Authorization must be/);
      await refused(add(entry, bearer(`${unsigned}${b64url("x")}`)), 401, /bearer token rejected/);
    }
    const pub = createPublicKey({ key: jwk, format: "jwk" });
    const secrets = [
      Buffer.from(jwk["x"] as string, "base64url"), // the raw Ed25519 public key
      Buffer.from(pub.export({ type: "spki", format: "pem" }) as string), // its PEM
      pub.export({ type: "spki", format: "der" }),
      Buffer.from(JSON.stringify(jwk)),
    ];
    for (const secret of secrets)
      for (const alg of ["HS256", "HS512"]) {
        const hs = await new SignJWT(payload).setProtectedHeader({ alg, kid: KID }).sign(new Uint8Array(secret));
        await refused(add(entry, bearer(hs)), 401, /algorithm is not allowed|no configured key|bearer token rejected/);
      }
    const attacker = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
    await refused(add(entry, bearer(await token({ scope: ATTEST_SCOPE }, { key: attacker.privateKey }))), 401, /signature does not verify/);
    // The attacker's public key embedded in the header (jwk) or pointed at (jku, x5u): never consulted.
    const embedded = { jwk: { ...(await exportJWK(attacker.publicKey)), kid: KID }, jku: "http://127.0.0.1:1/jwks.json", x5u: "http://127.0.0.1:1/x.pem" };
    await refused(add(entry, bearer(await token({ scope: ATTEST_SCOPE }, { key: attacker.privateKey, header: embedded }))), 401, /signature does not verify/);
    // An ES256 key under the same kid.
    const ec = await generateKeyPair("ES256");
    const es = await new SignJWT(payload).setProtectedHeader({ alg: "ES256", kid: KID }).sign(ec.privateKey);
    await refused(add(entry, bearer(es)), 401, /algorithm is not allowed|no configured key/);
    // The issuer's own signature over another payload, spliced onto this one.
    const [h, , sig] = (await token({ scope: "meridian.operator" })).split(".");
    await refused(add(entry, bearer(`${h}.${b64url(payload)}.${sig}`)), 401, /signature does not verify/);
  });

  it("refuses an expired token, one not yet valid, one without exp, and one for another audience or from another issuer", async () => {
    const entry = event({ actor: ATTEST, action: "attest.result", subject: "n" });
    await refused(add(entry, bearer(await token({ scope: ATTEST_SCOPE, iat: now() - 7200, exp: now() - 3600 }))), 401, /expired/);
    await refused(add(entry, bearer(await token({ scope: ATTEST_SCOPE, nbf: now() + 3600 }))), 401, /nbf/);
    await refused(add(entry, bearer(await token({ scope: ATTEST_SCOPE, exp: undefined }))), 401, /exp/);
    await refused(add(entry, bearer(await token({ scope: ATTEST_SCOPE, aud: "meridian-map" }))), 401, /aud/);
    await refused(add(entry, bearer(await token({ scope: ATTEST_SCOPE, aud: undefined }))), 401, /aud/);
    await refused(add(entry, bearer(await token({ scope: ATTEST_SCOPE, iss: "meridian-local-2" }))), 401, /iss/);
  });

  it("refuses a remembered token once it has expired (the verified-token cache is no replay window)", async () => {
    const short = bearer(await token({ scope: ATTEST_SCOPE, exp: now() + 2 }));
    expect((await add(opaque(), short)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 3100));
    await refused(add(opaque(), short), 401, /expired/);
  });
});

describe("credentials that are not a bearer header", () => {
  it("reads no token from the query, the body, a cookie or another header, nor a lower-case scheme", async () => {
    const t = await token({ scope: ATTEST_SCOPE });
    const entry = event({ actor: ATTEST, action: "attest.result", subject: "n" });
    await refused(add(entry, {}, `/add?access_token=${t}`), 401, /required: present/);
    await refused(add(entry, {}, `/add?authorization=Bearer%20${t}`), 401, /required: present/);
    await refused(add(Buffer.from(`Bearer ${t}`)), 401, /required: present/);
    await refused(add(Buffer.from(JSON.stringify({ authorization: `Bearer ${t}`, actor: ATTEST }))), 401, /required: present/);
    await refused(add(entry, { cookie: `access_token=${t}`, "x-access-token": t, "x-forwarded-authorization": `Bearer ${t}`, "proxy-authorization": `Bearer ${t}` }), 401, /required: present/);
    await refused(add(entry, { authorization: `bearer ${t}` }), 401, /Authorization must be `Bearer <JWT>`/);
    await refused(add(entry, { authorization: `Bearer  ${t}` }), 401, /Authorization must be `Bearer <JWT>`/);
    await refused(add(entry, { authorization: `Bearer ${t}, Bearer ${t}` }), 401, /Authorization must be `Bearer <JWT>`/);
  });

  it("lets no header anyone can set outweigh the token: a quota token with a forged XFCC / x-spiffe-id naming attest appends as quota", async () => {
    const forged = {
      ...(await as(QUOTA_SCOPE)),
      "x-spiffe-id": ATTEST,
      "x-forwarded-client-cert": `By=${SUPERVISOR};Hash=${"0".repeat(64)};URI=${ATTEST}`,
      "x-meridian-submitter": ATTEST,
      "x-user": ATTEST,
    };
    await refused(add(event({ actor: ATTEST, action: "attest.result", subject: "n" }), forged), 403, new RegExp(`${QUOTA} may not append .*${ATTEST}`));
    // Without any token, the forged headers alone name nobody.
    const { authorization: _, ...headersOnly } = forged;
    await refused(add(event({ actor: ATTEST, action: "attest.result", subject: "n" }), headersOnly), 401, /required: present/);
  });

  it("refuses the operator's token, even one whose subject or other claims name a submitter", async () => {
    await refused(add(opaque(), await as("meridian.operator")), 403, NO_SUBMITTER);
    await refused(add(opaque(), bearer(await token({ scope: "meridian.operator", sub: ATTEST, act: { sub: ATTEST } }))), 403, NO_SUBMITTER);
    await refused(add(opaque(), bearer(await token({ scope: "meridian.operator meridian.admin", sub: "local-operator" }))), 403, NO_SUBMITTER);
  });
});

describe("rotation of a submitter's token file", () => {
  it("revokes nothing: a token read from the file before a renewal still appends until its exp, and only as its own submitter", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "log-token-")), "attest-log.token");
    const minted = [await token({ scope: ATTEST_SCOPE, exp: now() + 3 }), await token({ scope: ATTEST_SCOPE, jti: "second" })];
    let n = 0;
    (await renewedTokenFile(file, async () => minted[n++]!))();
    const first = readFileSync(file, "utf8");
    (await renewedTokenFile(file, async () => minted[n++]!))();
    expect(readFileSync(file, "utf8")).not.toBe(first);
    // Replayed after the renewal: still attest's, still attest only.
    expect((await add(opaque(), bearer(first))).status).toBe(200);
    await refused(add(event({ actor: QUOTA, action: "quota.sweep", subject: "s" }), bearer(first)), 403, new RegExp(`${ATTEST} may not append`));
    await new Promise((r) => setTimeout(r, 3100));
    await refused(add(opaque(), bearer(first)), 401, /expired/);
    expect((await add(opaque(), bearer(readFileSync(file, "utf8")))).status).toBe(200);
  });
});

describe("the actor of an audit event a valid submitter appends", () => {
  it("refuses a `self` submitter (attest) naming anyone but itself, in any spelling", async () => {
    const attest = await as(ATTEST_SCOPE);
    const others = [
      QUOTA,
      ESCROW,
      SUPERVISOR,
      ATTEST.toUpperCase(),
      ATTEST.replace("spiffe://", "SPIFFE://"),
      `${ATTEST}/`,
      ` ${ATTEST}`,
      `${ATTEST}\n`,
      ATTEST.replace("attest", "%61ttest"),
      ATTEST.replace("attest", "\u0430ttest"),
      "jwt:local-operator",
      "local-operator",
    ];
    for (const actor of others) await refused(add(event({ actor, action: "attest.result", subject: "n" }), attest), 403, /actor is not the submitter|may not append/);
  });

  it("refuses a `principals` submitter (quota, the supervisor) naming a workload, its own included in another spelling", async () => {
    for (const [self, other] of [
      [QUOTA, SUPERVISOR],
      [SUPERVISOR, QUOTA],
    ] as const) {
      const headers = await as(logSubmitterScope(self));
      for (const actor of [ATTEST, ESCROW, other, self.toUpperCase(), self.replace("spiffe://", "Spiffe://"), ATTEST.replace("spiffe://", "SPIFFE:"), `spiffe:${ATTEST.slice("spiffe://".length)}`])
        await refused(add(event({ actor, action: "a", subject: "s" }), headers), 403, /may not append/);
      // Names an auditor would read as a workload's: padded, behind an invisible character, fullwidth, percent-encoded.
      for (const actor of [` ${ATTEST}`, `\u200b${ATTEST}`, `\ufeff${ATTEST}`, ATTEST.replace("spiffe", "ｓｐｉｆｆｅ"), ATTEST.replace("spiffe:", "spiffe%3A"), `${ATTEST}\u0000`])
        await refused(add(event({ actor, action: "a", subject: "s" }), headers), 403, /may not append/);
      // An end user's plain name still passes.
      expect((await add(event({ actor: "user:alice@example.com", action: "a", subject: "s" }), headers)).status).toBe(200);
    }
  });

  it("refuses an actor smuggled past the check: a duplicate key, an escaped key, a BOM, nesting, a non-canonical encoding", async () => {
    const attest = await as(ATTEST_SCOPE);
    const honest = event({ actor: ATTEST, action: "attest.result", subject: "n" }).toString();
    const smuggled = [
      honest.replace(/}$/, `,"actor":${JSON.stringify(QUOTA)}}`),
      honest.replace(`"actor":${JSON.stringify(ATTEST)}`, `"\\u0061ctor":${JSON.stringify(QUOTA)}`),
      honest.replace(`"actor":${JSON.stringify(ATTEST)}`, `"actor":${JSON.stringify(ATTEST)},"actor":${JSON.stringify(QUOTA)}`),
      `\uFEFF${honest.replace(JSON.stringify(ATTEST), JSON.stringify(QUOTA))}`,
      ` \r\n\t${honest.replace(JSON.stringify(ATTEST), JSON.stringify(QUOTA))}`,
      honest.replace(JSON.stringify(ATTEST), JSON.stringify(QUOTA)).replace(/:/g, ": "),
      honest.replace(JSON.stringify(ATTEST), `"${QUOTA.replace(/\//g, "\\/")}"`),
    ];
    for (const text of smuggled) {
      const before = log.size;
      const r = await add(Buffer.from(text), attest);
      expect([400, 403], `${r.status} ${r.body} for ${text}`).toContain(r.status);
      expect(log.size).toBe(before);
    }
  });
});
