// Who may append, from the verified credential: a log configured with `submitters` takes `POST /add` only from
// those SPIFFE IDs (the kit's mTLS peer: the local CA's real SVIDs here), and an audit event (audit/audit.ts) only
// when its actor is the verified submitter — or, for a submitter that speaks for the end users it authenticated
// (quota), a principal that is not a workload. One service naming another as its actor is refused (403, naming both).
import { mkdtempSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../../runtime/common/clock.js";
import { localOperatorAuth, type LocalOperatorAuth } from "../../../runtime/kit/index.js";
import { allowTrustDomain, createLocalTrustDomain, mtlsClientOptions } from "../../../runtime/identity/index.js";
import { encodeAuditEvent, type AuditEvent } from "../../../runtime/prooflog/audit/audit.js";
import { proofLogConfigSchema } from "../../../runtime/prooflog/config.js";
import { generateKey } from "../../../runtime/prooflog/note.js";
import { startLogServer } from "../../../runtime/prooflog/serve.js";
import { MemoryStore } from "../../../runtime/prooflog/storage/store.js";
import type { TransparencyLog } from "../../../runtime/prooflog/log.js";

const TD = "log.test";
const QUOTA = `spiffe://${TD}/ns/meridian/sa/quota`;
const ATTEST = `spiffe://${TD}/ns/meridian/sa/attest`;
const ESCROW = `spiffe://${TD}/ns/meridian/sa/escrow`;
const ORIGIN = "meridian.test/submitters";

const dir = mkdtempSync(join(tmpdir(), "log-submitters-"));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

let ca: Awaited<ReturnType<typeof createLocalTrustDomain>>;
let app: FastifyInstance;
let log: TransparencyLog;
let port: number;

beforeAll(async () => {
  ca = await createLocalTrustDomain(TD, systemClock);
  const server = await ca.issueSvid(`spiffe://${TD}/ns/meridian/sa/prooflog`, { dnsNames: ["localhost"] });
  ({ app, log } = await startLogServer({
    origin: ORIGIN,
    signerKey: generateKey(ORIGIN).signerKey,
    store: new MemoryStore(),
    port: 0,
    checkpointIntervalMs: 60_000,
    submitters: [{ spiffe: QUOTA, actors: "principals" }, { spiffe: ATTEST }],
    server: { tls: { cert: file("server.pem", server.cert), key: file("server.key", server.key), bundle: file("bundle.pem", ca.bundle) } },
    notice: () => undefined,
  }));
  port = (app.server.address() as { port: number }).port;
}, 30_000);
afterAll(() => app?.close());

/** POST /add over mTLS as `as` (an SVID the local CA issues), or with no client certificate. */
async function add(entry: Uint8Array, as?: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const client = as ? await ca.issueSvid(as) : undefined;
  const options = client ? mtlsClientOptions(client, ca.bundle, allowTrustDomain(TD)) : { ca: ca.bundle, checkServerIdentity: () => undefined };
  return new Promise((resolve, reject) => {
    const req = https.request(
      { ...options, host: "127.0.0.1", port, path: "/add", method: "POST", agent: false, headers: { ...headers, "content-type": "application/octet-stream", "content-length": entry.length } },
      (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end(Buffer.from(entry));
  });
}

let tick = 0;
const event = (e: Omit<AuditEvent, "timestamp">): Buffer => encodeAuditEvent({ ...e, timestamp: { wallTime: 1_700_000_000_000, logical: tick++ } });

describe("POST /add with submitters", () => {
  it("refuses (403, naming both) an audit event one service submits naming another service as its actor", async () => {
    const before = log.size;
    const forged = await add(event({ actor: ESCROW, action: "escrow.refund", subject: "r-1" }), ATTEST);
    expect(forged.status).toBe(403);
    expect(forged.body).toContain(ATTEST);
    expect(forged.body).toContain(ESCROW);
    // A submitter that speaks for its end users still cannot name a workload other than itself.
    const viaQuota = await add(event({ actor: ATTEST, action: "quota.override.approve", subject: "o-1" }), QUOTA);
    expect(viaQuota.status).toBe(403);
    expect(viaQuota.body).toContain(QUOTA);
    expect(viaQuota.body).toContain(ATTEST);
    // Nor a workload in a spelling another reader would take for it.
    expect((await add(event({ actor: ESCROW.toUpperCase(), action: "a", subject: "s" }), QUOTA)).status).toBe(403);
    // Nor can it smuggle an actor past the check: a second `actor` key (JSON.parse keeps the last) is not the canonical encoding.
    const twice = Buffer.from(
      event({ actor: QUOTA, action: "a", subject: "s" })
        .toString()
        .replace(/}$/, `,"actor":${JSON.stringify(ESCROW)}}`),
    );
    expect((await add(twice, QUOTA)).status).toBe(400);
    // An entry that claims an actor but is no well-formed audit event is refused too (a lax reader would take its actor).
    expect((await add(Buffer.from(JSON.stringify({ actor: ESCROW, action: "a", subject: "s", extra: 1 })), ATTEST)).status).toBe(400);
    // Nor behind a byte order mark or whitespace a lax reader skips.
    const escrowEvent = event({ actor: ESCROW, action: "a", subject: "s" });
    expect((await add(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), escrowEvent]), ATTEST)).status).toBe(400);
    expect((await add(Buffer.concat([Buffer.from(" \n"), escrowEvent]), ATTEST)).status).toBe(400);
    expect(log.size).toBe(before);
  });

  it("takes the honest path: an audit event naming its own submitter, a quota user's event, and entries that are not audit events", async () => {
    const own = await add(event({ actor: ATTEST, action: "attest.result", subject: "node-1" }), ATTEST);
    expect(own.status).toBe(200);
    expect(JSON.parse(own.body)).toMatchObject({ index: expect.any(Number) });
    // Quota names the tenant administrator whose JWT it verified (a principal, not a workload).
    expect((await add(event({ actor: "alice@tenant-a", action: "quota.override.request", subject: "o-2" }), QUOTA)).status).toBe(200);
    expect((await add(event({ actor: QUOTA, action: "quota.sweep", subject: "s" }), QUOTA)).status).toBe(200);
    // The bytes are the log's entry as given: no framing added.
    const bytes = Buffer.from("not an audit event: opaque bytes");
    const r = JSON.parse((await add(bytes, ATTEST)).body) as { index: number };
    expect(Buffer.from((await log.readEntries(r.index, r.index + 1))[0]!)).toEqual(bytes);
    expect((await add(Buffer.from(JSON.stringify({ map: "quota", root: "abc" })), ATTEST)).status).toBe(200);
  });

  it("refuses a submitter that is not listed (403) and a caller with no verified identity (401)", async () => {
    const before = log.size;
    const unlisted = await add(event({ actor: ESCROW, action: "escrow.sale", subject: "s" }), ESCROW);
    expect(unlisted.status).toBe(403);
    expect(unlisted.body).toContain(ESCROW);
    expect((await add(Buffer.from("opaque"), ESCROW)).status).toBe(403);
    const anonymous = await add(event({ actor: QUOTA, action: "quota.sweep", subject: "s" }));
    expect(anonymous.status).toBe(401);
    // Headers a caller writes name nobody: without `server.identity` the log never reads them.
    const forged = { "x-forwarded-client-cert": `By=spiffe://${TD}/ns/meridian/sa/prooflog;Hash=${"0".repeat(64)};URI=${QUOTA}`, "x-spiffe-id": QUOTA };
    expect((await add(event({ actor: QUOTA, action: "quota.sweep", subject: "s" }), undefined, forged)).status).toBe(401);
    expect((await add(event({ actor: ESCROW, action: "escrow.sale", subject: "s" }), ATTEST, { "x-forwarded-client-cert": `URI=${ESCROW}` })).status).toBe(403);
    expect(log.size).toBe(before);
  });

  it("still serves the log's reads to anyone", async () => {
    await log.publishCheckpoint();
    const res = await new Promise<number>((resolve, reject) => {
      const req = https.request({ ca: ca.bundle, checkServerIdentity: () => undefined, host: "127.0.0.1", port, path: "/checkpoint", agent: false }, (r) => (r.resume(), resolve(r.statusCode ?? 0)));
      req.on("error", reject);
      req.end();
    });
    expect(res).toBe(200);
  });
});

describe("the submitters config", () => {
  it("names each SPIFFE ID once, as a SPIFFE ID, with actors self (default) or principals", () => {
    expect(proofLogConfigSchema.parse({ origin: ORIGIN, submitters: [{ spiffe: QUOTA }] }).submitters).toEqual([{ spiffe: QUOTA, actors: "self" }]);
    const problems = (submitters: unknown) => proofLogConfigSchema.safeParse({ origin: ORIGIN, submitters }).error?.issues.map((i) => i.message) ?? [];
    expect(problems([{ spiffe: QUOTA }, { spiffe: QUOTA, actors: "principals" }])).toEqual(["submitters must name each SPIFFE ID once"]);
    expect(problems([{ spiffe: "quota" }])).toEqual(["expected a SPIFFE ID spiffe://<trust domain>/<path>"]);
    expect(problems([{ spiffe: QUOTA, actors: "anyone" }])).toHaveLength(1);
    expect(problems([])).toHaveLength(1);
  });
});

// Where no mesh verifies peers (`meridian local`), a submitter may also be named by a JWT scope of its own: a verified
// bearer token carrying it appends as that submitter's SPIFFE ID, and the actor check holds as for the mTLS peer.
describe("POST /add with submitters identified by a JWT scope (no mesh)", () => {
  const ATTEST_SCOPE = "meridian.log.attest";
  const QUOTA_SCOPE = "meridian.log.quota";
  let local: { app: FastifyInstance; url: string; log: TransparencyLog };
  let operator: LocalOperatorAuth;
  beforeAll(async () => {
    operator = await localOperatorAuth(systemClock);
    local = await startLogServer({
      origin: ORIGIN,
      signerKey: generateKey(ORIGIN).signerKey,
      store: new MemoryStore(),
      port: 0,
      checkpointIntervalMs: 60_000,
      submitters: [
        { spiffe: QUOTA, actors: "principals", scope: QUOTA_SCOPE },
        { spiffe: ATTEST, scope: ATTEST_SCOPE },
      ],
      server: { auth: operator.auth },
      notice: () => undefined,
    });
  });
  afterAll(() => local?.app.close());

  const post = async (entry: Uint8Array, scope?: string, headers: Record<string, string> = {}) => {
    const token = scope === undefined ? undefined : await operator.token({ subject: "a-service", scope });
    const res = await fetch(`${local.url}/add`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/octet-stream", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: Buffer.from(entry),
    });
    return { status: res.status, body: await res.text() };
  };

  it("takes a submitter's token as its SPIFFE ID: its own events, a quota user's, opaque entries", async () => {
    expect((await post(event({ actor: ATTEST, action: "attest.result", subject: "node-1" }), ATTEST_SCOPE)).status).toBe(200);
    expect((await post(event({ actor: "alice@tenant-a", action: "quota.override.request", subject: "o-1" }), QUOTA_SCOPE)).status).toBe(200);
    expect((await post(event({ actor: QUOTA, action: "quota.sweep", subject: "s" }), QUOTA_SCOPE)).status).toBe(200);
    expect((await post(Buffer.from("opaque"), ATTEST_SCOPE)).status).toBe(200);
  });

  it("refuses no token (401), a token of no submitter (403), one submitter's token naming another (403, naming both), a token of two submitters (403)", async () => {
    const before = local.log.size;
    expect((await post(event({ actor: ATTEST, action: "a", subject: "s" }))).status).toBe(401);
    expect((await post(Buffer.from("opaque"))).status).toBe(401);
    // Headers anyone can set name nobody.
    expect((await post(event({ actor: ATTEST, action: "a", subject: "s" }), undefined, { "x-spiffe-id": ATTEST, "x-forwarded-client-cert": `URI=${ATTEST}` })).status).toBe(401);
    // The operator's token, and a token whose scope no submitter has.
    expect((await post(Buffer.from("opaque"), "meridian.operator")).status).toBe(403);
    expect((await post(Buffer.from("opaque"), "meridian.log.escrow")).status).toBe(403);
    // Quota's token naming attest; attest's naming escrow.
    const viaQuota = await post(event({ actor: ATTEST, action: "attest.result", subject: "node-1" }), QUOTA_SCOPE);
    expect(viaQuota.status).toBe(403);
    expect(viaQuota.body).toContain(QUOTA);
    expect(viaQuota.body).toContain(ATTEST);
    const viaAttest = await post(event({ actor: ESCROW, action: "escrow.refund", subject: "r-1" }), ATTEST_SCOPE);
    expect(viaAttest.status).toBe(403);
    expect(viaAttest.body).toContain(ESCROW);
    // A token carrying two submitters' scopes says no one identity: refused rather than picking one.
    const both = await post(event({ actor: ATTEST, action: "a", subject: "s" }), `${QUOTA_SCOPE} ${ATTEST_SCOPE}`);
    expect(both.status).toBe(403);
    expect(both.body).toMatch(/more than one submitter/);
    // A token the log's issuer did not sign.
    const stranger = await localOperatorAuth(systemClock);
    const res = await fetch(`${local.url}/add`, { method: "POST", headers: { authorization: `Bearer ${await stranger.token({ scope: ATTEST_SCOPE })}` }, body: "opaque" });
    expect(res.status).toBe(401);
    expect(local.log.size).toBe(before);
  });

  it("refuses a scope given to two submitters, and a scope submitter where the log verifies no bearer tokens", async () => {
    const problems = (submitters: unknown) => proofLogConfigSchema.safeParse({ origin: ORIGIN, submitters }).error?.issues.map((i) => i.message) ?? [];
    expect(proofLogConfigSchema.parse({ origin: ORIGIN, submitters: [{ spiffe: QUOTA, scope: QUOTA_SCOPE }] }).submitters).toEqual([{ spiffe: QUOTA, actors: "self", scope: QUOTA_SCOPE }]);
    expect(
      problems([
        { spiffe: QUOTA, scope: "s" },
        { spiffe: ATTEST, scope: "s" },
      ]),
    ).toEqual(["submitters must give each scope once"]);
    expect(problems([{ spiffe: QUOTA, scope: "two words" }])).toHaveLength(1);
    await expect(
      startLogServer({ origin: ORIGIN, signerKey: generateKey(ORIGIN).signerKey, store: new MemoryStore(), port: 0, submitters: [{ spiffe: QUOTA, scope: QUOTA_SCOPE }], notice: () => undefined }),
    ).rejects.toThrow(/submitters.*scope.*server\.auth\.jwt/);
  });
});
