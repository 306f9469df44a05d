import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { buildQuotaTree, parseQuotaConfig } from "../../../runtime/quota/config.js";
import { buildQuotaHttp } from "../../../runtime/quota/service.js";

const YAML = `
dimensions: [cpu, memory]
emergency_grace_ms: 60000
tenants:
  - id: acme
    hard: { cpu: 100, memory: 64 }
    owners: [acme-admin]
    applications:
      - id: shop
        hard: { cpu: 10 }
        owners: [shop-lead]
        users:
          - id: alice
`;

function setup() {
  const clock = new ManualClock(Date.parse("2026-11-24T00:00:00Z"));
  const app = buildQuotaHttp(buildQuotaTree(parseQuotaConfig(YAML, "quota.yaml"), clock));
  const call = (method: "GET" | "POST", url: string, body?: object, who?: string) =>
    app.inject({ method, url, ...(body ? { payload: body } : {}), headers: who ? { "x-meridian-principal": who } : {} });
  return { clock, call };
}

describe("quota service", () => {
  it("reserves along the chain and answers 409 naming the violated limit", async () => {
    const { call } = setup();
    expect((await call("POST", "/v1/quota/nodes/alice/reserve", { amounts: { cpu: 8 } })).json()).toEqual({ ok: true, warnings: [] });
    const over = await call("POST", "/v1/quota/nodes/alice/reserve", { amounts: { cpu: 3 } });
    expect(over.statusCode).toBe(409);
    expect(over.json()).toEqual({ error: "quota exceeded", detail: "shop cpu: 8 used + 3 requested > 10" });
    expect((await call("GET", "/v1/quota/nodes/alice")).json()).toMatchObject({ kind: "user", chain: ["alice", "shop", "acme"], usage: { cpu: 8 }, effective: { cpu: 10, memory: 64 } });
    expect((await call("POST", "/v1/quota/nodes/alice/release", { amounts: { cpu: 8 } })).json()).toMatchObject({ usage: { cpu: 0 } });
    expect((await call("GET", "/v1/quota/nodes/bob")).statusCode).toBe(404);
    const bad = await call("POST", "/v1/quota/nodes/alice/reserve", { amounts: { cpu: -1 } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().detail).toMatch(/amounts.cpu/);
  });

  it("runs the override approval workflow with identities from the mesh", async () => {
    const { call } = setup();
    const req = { node: "shop", dimension: "cpu", hard: 40, reason: "sale", expires_at: "2026-11-25T00:00:00Z" };
    expect((await call("POST", "/v1/quota/overrides", req)).statusCode).toBe(401);
    const o = await call("POST", "/v1/quota/overrides", req, "shop-lead");
    expect(o.statusCode).toBe(201);
    expect(o.json()).toMatchObject({ id: "ovr-1", state: "pending", requestedBy: "shop-lead" });
    const self = await call("POST", "/v1/quota/overrides/ovr-1/approve", undefined, "shop-lead");
    expect(self.statusCode).toBe(403);
    expect(self.json().detail).toMatch(/cannot approve their own override/);
    expect((await call("POST", "/v1/quota/overrides/ovr-1/approve", undefined, "acme-admin")).json()).toMatchObject({ state: "active", approvedBy: "acme-admin" });
    expect((await call("GET", "/v1/quota/nodes/alice")).json().effective.cpu).toBe(40);
    expect((await call("POST", "/v1/quota/overrides/ovr-9/approve", undefined, "acme-admin")).statusCode).toBe(404);
    expect((await call("POST", "/v1/quota/overrides", { ...req, dimension: "gpu" }, "shop-lead")).json().detail).toMatch(/"gpu" is not a dimension/);
  });

  it("delegates and revokes sub-quotas", async () => {
    const { call } = setup();
    const d = await call("POST", "/v1/quota/delegations", { from: "acme", to: "search", kind: "application", amounts: { cpu: 50 }, owners: ["search-lead"] }, "acme-admin");
    expect(d.statusCode).toBe(201);
    expect((await call("POST", "/v1/quota/delegations", { from: "acme", to: "ads", kind: "application", amounts: { cpu: 60 } }, "acme-admin")).statusCode).toBe(409);
    expect((await call("POST", "/v1/quota/delegations/dlg-1/revoke", undefined, "search-lead")).statusCode).toBe(403);
    expect((await call("POST", "/v1/quota/delegations/dlg-1/revoke", undefined, "acme-admin")).json().revoked).toHaveLength(1);
    expect((await call("POST", "/v1/quota/nodes/search/reserve", { amounts: { cpu: 1 } })).json().detail).toBe("search is closed");
  });

  it("names config problems", () => {
    expect(() => parseQuotaConfig("tenants:\n  - id: a\n    hard: { cpu: -1 }\n", "q.yaml")).toThrow(/q\.yaml: tenants\.0\.hard\.cpu is -1/);
    expect(() => buildQuotaTree(parseQuotaConfig("dimensions: [cpu]\ntenants:\n  - id: a\n    hard: { gpu: 1 }\n"), new ManualClock())).toThrow(/node a: hard.gpu is not a dimension/);
  });
});
