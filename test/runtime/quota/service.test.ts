// The quota service on the kit against real PostgreSQL and a real proof log: principals only from verified
// tokens (forged, unsigned, foreign-key and header-only callers are turned away), approvals only from above the
// node, revocation reclaims usage, every authority decision is in the log before it is answered, a log that is
// down changes nothing, and the state survives a restart.
import { generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compare, format, parse } from "../../../runtime/clock/index.js";
import { systemClock } from "../../../runtime/common/clock.js";
import { startService, type RunningService } from "../../../runtime/kit/index.js";
import { quotaService } from "../../../runtime/quota/service.js";
import { hostileHttpSuite } from "../../hostile.js";
import { dropSchema, ensureQuotaDb, issuer, PG_URL, startAuditLog, TREE, uniqueSchema } from "./fixture.js";

let log: Awaited<ReturnType<typeof startAuditLog>>;
let id: Awaited<ReturnType<typeof issuer>>;
const schemas: string[] = [];
const running: RunningService[] = [];

async function start(schema: string, logUrl = log.url) {
  const svc = await startService(
    quotaService,
    { ...TREE, postgres: PG_URL, schema, log: logUrl, server: { port: 0, auth: id.auth, timeouts: { headersMs: 500, requestMs: 1000 } } },
    { clock: systemClock, processMetrics: false },
  );
  running.push(svc);
  return svc;
}

function caller(svc: RunningService) {
  return async (method: "GET" | "POST", path: string, who?: string | Record<string, string>, body?: unknown) => {
    const headers: Record<string, string> = { ...(typeof who === "string" ? await id.as(who) : (who ?? {})), ...(body === undefined ? {} : { "content-type": "application/json" }) };
    const res = await fetch(`${svc.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers; the assertions check their shape
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
}

const tomorrow = () => new Date(Date.now() + 86_400_000).toISOString();

beforeAll(async () => {
  await ensureQuotaDb();
  log = await startAuditLog();
  id = await issuer();
});
afterAll(async () => {
  for (const s of running) await s.close().catch(() => undefined);
  await log?.close();
  for (const s of schemas) await dropSchema(s);
});

describe("quota service", () => {
  it("takes principals from verified credentials only", async () => {
    const schema = uniqueSchema("quota_auth");
    schemas.push(schema);
    const call = caller(await start(schema));
    const body = { amounts: { cpu: 1 } };
    // A header naming a principal is not a credential.
    expect((await call("POST", "/v1/quota/nodes/alice/reserve", { "x-meridian-principal": "quota-admin", "x-spiffe-id": "spiffe://meridian/quota-admin" }, body)).status).toBe(401);
    // A token with the right issuer and audience, signed with another key.
    const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({ scope: "meridian.quota" })
      .setProtectedHeader({ alg: "EdDSA", kid: "local-1" })
      .setIssuer("https://issuer.test")
      .setAudience("meridian-quota")
      .setSubject("quota-admin")
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(privateKey);
    const r1 = await call("POST", "/v1/quota/nodes/alice/reserve", { authorization: `Bearer ${forged}` }, body);
    expect(r1.status).toBe(401);
    expect(r1.body.detail).toMatch(/bearer token rejected/);
    // An unsigned token (alg none) claiming the same subject.
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const unsigned = `${b64({ alg: "none" })}.${b64({ iss: "https://issuer.test", aud: "meridian-quota", sub: "quota-admin", exp: now + 600 })}.`;
    expect((await call("POST", "/v1/quota/nodes/alice/reserve", { authorization: `Bearer ${unsigned}` }, body)).status).toBe(401);
    // A token whose subject is shaped like a workload's SPIFFE ID (a principal an authority list may name) is not that
    // workload: workloads are named by their SVID, verified over mTLS or by the sidecar.
    const lookalike = await call("POST", "/v1/quota/nodes/alice/reserve", "spiffe://meridian.test/ns/meridian-ops/sa/quota-admin", body);
    expect(lookalike.status).toBe(403);
    expect(lookalike.body.detail).toMatch(/SPIFFE ID/);
    // A verified caller without authority over the node.
    const outsider = await call("POST", "/v1/quota/nodes/alice/reserve", "mallory", body);
    expect(outsider.status).toBe(403);
    expect(outsider.body.detail).toBe("mallory has no authority over alice");
    // Nothing above was charged; the owner's own reservation is.
    expect((await call("GET", "/v1/quota/nodes/alice", "alice")).body.usage).toEqual({});
    expect((await call("POST", "/v1/quota/nodes/alice/reserve", "alice", body)).body).toMatchObject({ ok: true, usage: { cpu: 1 } });
  });

  it("approves increases only from above the node, and logs every decision before answering", async () => {
    const schema = uniqueSchema("quota_approve");
    schemas.push(schema);
    const call = caller(await start(schema));
    const req = { node: "shop", dimension: "cpu", hard: 40, reason: "sale", expires_at: tomorrow() };
    expect((await call("POST", "/v1/quota/overrides", "mallory", req)).status).toBe(403);
    const o = await call("POST", "/v1/quota/overrides", "shop-lead", req);
    expect(o.status).toBe(201);
    expect(o.body).toMatchObject({ state: "pending", requestedBy: "shop-lead" });
    expect(o.body.logIndex).toEqual(expect.any(Number));
    const ovr = o.body.id as string;
    // The requester, a co-owner of the same node, and the owner of a node below cannot approve.
    for (const who of ["shop-lead", "shop-colead", "alice"]) {
      const r = await call("POST", `/v1/quota/overrides/${ovr}/approve`, who);
      expect(r.status, who).toBe(403);
    }
    expect((await call("GET", "/v1/quota/nodes/alice", "alice")).body.effective.cpu).toBe(10);
    const ok = await call("POST", `/v1/quota/overrides/${ovr}/approve`, "acme-admin");
    expect(ok.body).toMatchObject({ state: "active", approvedBy: "acme-admin" });
    expect((await call("GET", "/v1/quota/nodes/alice", "alice")).body.effective.cpu).toBe(40);

    // A tenant's own owner cannot raise the tenant; only a root authority can approve it.
    const t = await call("POST", "/v1/quota/overrides", "acme-admin", { ...req, node: "acme", hard: 500 });
    expect((await call("POST", `/v1/quota/overrides/${t.body.id}/approve`, "acme-admin")).status).toBe(403);
    // An emergency increase the owner gives itself takes effect now, and an approval from above keeps it.
    const e = await call("POST", "/v1/quota/overrides", "acme-admin", { ...req, node: "acme", dimension: "memory", hard: 128, emergency: true });
    expect(e.body.state).toBe("active");
    expect((await call("POST", `/v1/quota/overrides/${t.body.id}/approve`, "quota-admin")).body.state).toBe("active");

    // Every request and approval is in the proof log, at the index the answer named.
    const events = await log.events(ok.body.logIndex + 1);
    expect(events[o.body.logIndex]).toMatchObject({ actor: "shop-lead", action: "quota.override.request", subject: ovr, detail: { node: "shop", hard: 40 } });
    expect(events[ok.body.logIndex]).toMatchObject({ actor: "acme-admin", action: "quota.override.approve", subject: ovr });
    // The refused approvals left no trace.
    expect(events.filter((x) => x.action === "quota.override.approve" && x.subject === ovr)).toHaveLength(1);
  });

  it("reclaims a revoked delegation's usage, and keeps everything across a restart", async () => {
    const schema = uniqueSchema("quota_revoke");
    schemas.push(schema);
    let call = caller(await start(schema));
    const d = await call("POST", "/v1/quota/delegations", "acme-admin", { from: "acme", to: "search", kind: "application", amounts: { cpu: 50 }, owners: ["search-lead"] });
    expect(d.status).toBe(201);
    expect((await call("POST", "/v1/quota/nodes/search/reserve", "search-lead", { amounts: { cpu: 30, memory: 8 } })).status).toBe(200);
    expect((await call("POST", "/v1/quota/nodes/alice/reserve", "alice", { amounts: { cpu: 5 } })).status).toBe(200);
    expect((await call("GET", "/v1/quota/nodes/acme", "acme-admin")).body.usage).toEqual({ cpu: 35, memory: 8 });
    // The delegate cannot revoke its own delegation; the delegator can.
    expect((await call("POST", `/v1/quota/delegations/${d.body.id}/revoke`, "search-lead")).status).toBe(403);
    const rv = await call("POST", `/v1/quota/delegations/${d.body.id}/revoke`, "acme-admin");
    expect(rv.body).toMatchObject({ reclaimed: { cpu: 30, memory: 8 } });
    expect((await call("GET", "/v1/quota/nodes/acme", "acme-admin")).body.usage).toEqual({ cpu: 5 });
    expect((await call("GET", "/v1/quota/nodes/search", "acme-admin")).body).toMatchObject({ closed: true, usage: {} });
    expect((await call("POST", "/v1/quota/nodes/search/reserve", "search-lead", { amounts: { cpu: 1 } })).body.detail).toBe("search is closed");
    // The 50 cpu carved out went back to acme's pool: a delegation of all 100 fits again.
    expect((await call("POST", "/v1/quota/delegations", "acme-admin", { from: "acme", to: "ads", kind: "application", amounts: { cpu: 100 } })).status).toBe(201);
    const events = await log.events(rv.body.logIndex + 1);
    expect(events[rv.body.logIndex]).toMatchObject({ actor: "acme-admin", action: "quota.delegation.revoke", detail: { reclaimed: { cpu: 30, memory: 8 } } });

    // Restart on the same schema: usage, the closed delegation and the new one are all there.
    await running.pop()!.close();
    call = caller(await start(schema));
    expect((await call("GET", "/v1/quota/nodes/acme", "acme-admin")).body.usage).toEqual({ cpu: 5 });
    expect((await call("GET", "/v1/quota/nodes/alice", "alice")).body.usage).toEqual({ cpu: 5 });
    expect((await call("GET", "/v1/quota/nodes/search", "acme-admin")).body.closed).toBe(true);
    expect((await call("GET", "/v1/quota/delegations", "acme-admin")).body.delegations.map((x: { to: string; revoked: boolean }) => [x.to, x.revoked])).toEqual([
      ["search", true],
      ["ads", false],
    ]);
  });

  it("changes nothing when the proof log cannot record a decision", async () => {
    const schema = uniqueSchema("quota_nolog");
    schemas.push(schema);
    const call = caller(await start(schema, "http://127.0.0.1:9/"));
    const r = await call("POST", "/v1/quota/overrides", "shop-lead", { node: "shop", dimension: "cpu", hard: 40, reason: "sale", expires_at: tomorrow() });
    expect(r.status).toBe(503);
    expect(r.body.error).toBe("quota state not stored");
    expect((await call("GET", "/v1/quota/overrides", "shop-lead")).body.overrides).toEqual([]);
    // Reservations are not authority decisions: they do not wait for the log.
    expect((await call("POST", "/v1/quota/nodes/alice/reserve", "alice", { amounts: { cpu: 1 } })).status).toBe(200);
  });

  it("serves the fair-sharing cores", async () => {
    const schema = uniqueSchema("quota_fair");
    schemas.push(schema);
    const call = caller(await start(schema));
    const drf = await call("POST", "/v1/quota/fair/drf", "alice", {
      capacity: { cpu: 9, memory: 18 },
      users: [
        { id: "A", demand: { cpu: 1, memory: 4 } },
        { id: "B", demand: { cpu: 3, memory: 1 } },
      ],
    });
    expect(drf.body.allocations.map((a: { id: string; tasks: number }) => [a.id, a.tasks])).toEqual([
      ["A", 3],
      ["B", 2],
    ]);
    expect((await call("POST", "/v1/quota/fair/max-min", "alice", { capacity: 120, wants: [1000, 50, 10] })).body.allocations).toEqual([60, 50, 10]);
    expect((await call("POST", "/v1/quota/fair/drf", "alice", { capacity: { cpu: 1 }, users: [{ id: "A", demand: { gpu: 1 } }] })).status).toBe(400);
  });

  it("propagates the HLC like every service on the kit: header in (refused unapplied when malformed or beyond max offset) and out, its epoch, epoch-checked tokens", async () => {
    const schema = uniqueSchema("quota_hlc");
    schemas.push(schema);
    const svc = await start(schema);
    const headers = { ...(await id.as("alice")), "content-type": "application/json" };
    const reserve = (extra: Record<string, string>) =>
      fetch(`${svc.url}/v1/quota/nodes/alice/reserve`, { method: "POST", headers: { ...headers, ...extra }, body: JSON.stringify({ amounts: { cpu: 1 } }) });
    // A peer's HLC 100 ms ahead (max offset 250) is taken: the response and the write's token are above it.
    const ahead = { wall: (Date.now() + 100) * 1000, logical: 5 };
    const res = await reserve({ "x-meridian-hlc": format(ahead) });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-meridian-hlc-epoch")).toBe("0");
    expect(compare(parse(res.headers.get("x-meridian-hlc")!), ahead)).toBeGreaterThan(0);
    const token = res.headers.get("x-meridian-consistency")!;
    expect(compare(parse(token), ahead)).toBeGreaterThan(0);
    // Malformed (400) and beyond max offset (409): refused before the handler, nothing reserved.
    expect((await reserve({ "x-meridian-hlc": "tomorrow" })).status).toBe(400);
    const far = await reserve({ "x-meridian-hlc": `${(Date.now() + 60_000) * 1000}.0` });
    expect(far.status).toBe(409);
    expect(((await far.json()) as { error: string }).error).toBe("untrustworthy HLC timestamp");
    // A token naming an epoch this clock never had is refused, not compared.
    const foreign = await fetch(`${svc.url}/v1/quota/nodes/alice/usage`, { headers: { ...(await id.as("alice")), "x-meridian-consistency": `${token}@3` } });
    expect(foreign.status).toBe(409);
    expect(((await foreign.json()) as { error: string }).error).toBe("unknown hlc epoch");
    const usage = await fetch(`${svc.url}/v1/quota/nodes/alice/usage`, { headers: { ...(await id.as("alice")), "x-meridian-consistency": token } });
    expect(usage.status).toBe(200);
    expect(((await usage.json()) as { usage: Record<string, number> }).usage).toEqual({ cpu: 1 });
  });
});

let hostile: RunningService;
let hostileHeaders: Record<string, string> = {};
describe("quota service under hostile input", () => {
  beforeAll(async () => {
    const schema = uniqueSchema("quota_hostile");
    schemas.push(schema);
    hostile = await start(schema);
    hostileHeaders = await id.as("alice");
  });
  hostileHttpSuite("meridian ratelimit quota", () => ({
    url: hostile.url,
    routes: [{ method: "POST", path: "/v1/quota/nodes/alice/reserve", headers: hostileHeaders, json: true }],
    protectedRoutes: [{ method: "POST", path: "/v1/quota/overrides/ovr-1/approve" }],
    state: async () => (hostile.parts as { domain(): { tree: { usage(n: string): unknown } } }).domain().tree.usage("alice"),
    slowlorisWaitMs: 4000,
  }));
});
