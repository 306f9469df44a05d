// Principals in the quota service, against real PostgreSQL: a principal named in a body (a delegation's owners,
// the node it creates) must be one PostgreSQL stores as given, as the kit requires of a token's sub; and nothing
// folds one caller into another (case, Unicode normalisation) or lets a body field speak for the caller.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../../runtime/common/clock.js";
import { startService, type RunningService } from "../../../runtime/kit/index.js";
import { quotaService } from "../../../runtime/quota/service.js";
import { dropSchema, ensureQuotaDb, issuer, PG_URL, startAuditLog, TREE, uniqueSchema } from "./fixture.js";

let log: Awaited<ReturnType<typeof startAuditLog>>;
let id: Awaited<ReturnType<typeof issuer>>;
let svc: RunningService;
const schema = uniqueSchema("quota_principals");

beforeAll(async () => {
  await ensureQuotaDb();
  log = await startAuditLog();
  id = await issuer();
  // "élise" (NFC) owns shop's user node beside alice.
  const tree = structuredClone(TREE);
  tree.tenants[0]!.applications[0]!.users.push({ id: "elise", owners: ["\u00e9lise"] });
  svc = await startService(quotaService, { ...tree, postgres: PG_URL, schema, log: log.url, server: { port: 0, auth: id.auth } }, { clock: systemClock, processMetrics: false });
});
afterAll(async () => {
  await svc?.close().catch(() => undefined);
  await log?.close();
  await dropSchema(schema);
});

const call = async (method: "GET" | "POST", path: string, who: string, body?: unknown) => {
  const headers: Record<string, string> = { ...(await id.as(who)), ...(body === undefined ? {} : { "content-type": "application/json" }) };
  const res = await fetch(`${svc.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers; the assertions check their shape
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};
const tomorrow = () => new Date(Date.now() + 86_400_000).toISOString();

describe("principals named in a body", () => {
  it("a delegation's owners and new node must be text PostgreSQL holds as given: 400, not a failed commit", async () => {
    const delegate = (to: string, owners: string[]) => call("POST", "/v1/quota/delegations", "acme-admin", { from: "acme", to, kind: "application", amounts: { cpu: 1 }, owners });
    for (const owners of [["bob\u0000"], ["bob\uD800"], ["\uDC00"], ["x".repeat(256)]]) {
      const r = await delegate("search", owners);
      expect({ owners, status: r.status, error: r.body.error }).toEqual({ owners, status: 400, error: "invalid body" });
      expect(r.body.detail).toMatch(/owners/);
    }
    for (const to of ["se\u0000arch", "search\uD800"]) {
      const r = await delegate(to, ["bob"]);
      expect({ to, status: r.status }).toEqual({ to, status: 400 });
      expect(r.body.detail).toMatch(/\bto\b/);
    }
    // Nothing was delegated; a well-formed one still is.
    expect((await call("GET", "/v1/quota/delegations", "acme-admin")).body.delegations).toEqual([]);
    expect((await delegate("search", ["bob\uFFFD", "b\u00f6b"])).status).toBe(201);
  });
});

describe("callers that look alike", () => {
  it("case and normalisation twins of an owner are other principals", async () => {
    const body = { amounts: { cpu: 1 } };
    for (const who of ["Alice", "ALICE", "alice ", "e\u0301lise", "\u00c9lise"]) {
      const node = who.toLowerCase().startsWith("a") ? "alice" : "elise";
      expect({ who, status: (await call("POST", `/v1/quota/nodes/${node}/reserve`, who, body)).status }).toEqual({ who, status: 403 });
    }
    expect((await call("POST", "/v1/quota/nodes/elise/reserve", "\u00e9lise", body)).status).toBe(200);
    expect((await call("GET", "/v1/quota/nodes/elise", "\u00e9lise")).body.usage).toEqual({ cpu: 1 });
    expect((await call("GET", "/v1/quota/nodes/alice", "alice")).body.usage).toEqual({});
  });

  it("a body naming another principal does not speak for the caller", async () => {
    // The requester is the token's sub; a field naming someone else is refused, not taken.
    const req = { node: "shop", dimension: "cpu", hard: 40, reason: "sale", expires_at: tomorrow() };
    expect((await call("POST", "/v1/quota/overrides", "shop-lead", { ...req, requestedBy: "acme-admin" })).status).toBe(400);
    const o = await call("POST", "/v1/quota/overrides", "shop-lead", req);
    expect(o).toMatchObject({ status: 201, body: { requestedBy: "shop-lead" } });
    // Approving with a body that names an authority is still the caller approving: its own override, refused.
    const self = await call("POST", `/v1/quota/overrides/${o.body.id}/approve`, "shop-lead", { approver: "acme-admin", by: "quota-admin" });
    expect(self.status).toBe(403);
    const ok = await call("POST", `/v1/quota/overrides/${o.body.id}/approve`, "acme-admin");
    expect(ok).toMatchObject({ status: 200, body: { approvedBy: "acme-admin" } });
  });
});
