import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { Delegations } from "../../../runtime/quota/delegation.js";
import { QuotaTree } from "../../../runtime/quota/tree.js";

function setup() {
  const clock = new ManualClock(1_000_000);
  const t = new QuotaTree(["cpu", "memory"], clock, 60_000, ["root"]);
  t.addNode({ id: "acme", kind: "tenant", hard: { cpu: 100, memory: 100 }, owners: ["admin"] });
  t.addNode({ id: "shop", kind: "application", parent: "acme", hard: { cpu: 10 }, owners: ["lead"] });
  return { clock, t };
}

describe("temporary overrides", () => {
  it("take effect only once approved from above the node, and end at expiry", () => {
    const { clock, t } = setup();
    const o = t.overrides.request({ node: "shop", dimension: "cpu", hard: 30, reason: "launch day", requestedBy: "lead", expiresAt: clock.now() + 3_600_000 });
    expect(t.effectiveHard("shop", "cpu")).toBe(10);
    expect(() => t.overrides.approve(o.id, "lead")).toThrow(/cannot approve their own override/);
    expect(() => t.overrides.approve(o.id, "mallory")).toThrow(/mallory is not above shop/);
    expect(() => t.overrides.request({ node: "shop", dimension: "cpu", hard: 99, reason: "mine now", requestedBy: "mallory", expiresAt: clock.now() + 1000 })).toThrow(
      /mallory has no authority over shop/,
    );
    t.overrides.approve(o.id, "admin");
    expect(t.effectiveHard("shop", "cpu")).toBe(30);
    expect(t.reserve("shop", { cpu: 25 }).ok).toBe(true);
    clock.advance(3_600_000);
    expect(t.overrides.list()[0]!.state).toBe("expired");
    expect(t.effectiveHard("shop", "cpu")).toBe(10);
    // Usage above the restored limit stays (nothing is taken away) but nothing more is admitted.
    expect(t.reserve("shop", { cpu: 1 }).ok).toBe(false);
  });

  it("never let a node's own owners approve its increase: a tenant's needs a root authority", () => {
    const { clock, t } = setup();
    t.addNode({ id: "shop2", kind: "application", parent: "acme", owners: ["lead", "colead"] });
    const o = t.overrides.request({ node: "shop2", dimension: "cpu", hard: 30, reason: "launch", requestedBy: "lead", expiresAt: clock.now() + 1000 });
    expect(() => t.overrides.approve(o.id, "colead")).toThrow(/colead is not above shop2/);
    const top = t.overrides.request({ node: "acme", dimension: "cpu", hard: 500, reason: "growth", requestedBy: "admin", expiresAt: clock.now() + 1000 });
    expect(() => t.overrides.approve(top.id, "admin")).toThrow(/cannot approve their own/);
    const other = t.overrides.request({ node: "acme", dimension: "memory", hard: 500, reason: "growth", requestedBy: "root", expiresAt: clock.now() + 1000 });
    expect(() => t.overrides.approve(other.id, "admin")).toThrow(/admin is not above acme/);
    expect(t.overrides.approve(top.id, "root").approvedBy).toBe("root");
    expect(t.effectiveHard("acme", "cpu")).toBe(500);
  });

  it("emergency overrides apply at once and lapse without approval", () => {
    const { clock, t } = setup();
    const e = t.overrides.request({ node: "shop", dimension: "cpu", hard: 50, reason: "incident 4711", requestedBy: "lead", expiresAt: clock.now() + 86_400_000, emergency: true });
    expect(t.effectiveHard("shop", "cpu")).toBe(50);
    clock.advance(60_000);
    expect(t.overrides.list()[0]!.state).toBe("lapsed");
    expect(t.effectiveHard("shop", "cpu")).toBe(10);
    expect(() => t.overrides.approve(e.id, "admin")).toThrow(/is lapsed/);
    const e2 = t.overrides.request({ node: "shop", dimension: "cpu", hard: 50, reason: "incident 4712", requestedBy: "lead", expiresAt: clock.now() + 86_400_000, emergency: true });
    t.overrides.approve(e2.id, "admin");
    clock.advance(120_000);
    expect(t.effectiveHard("shop", "cpu")).toBe(50);
    t.overrides.revoke(e2.id, "admin");
    expect(t.effectiveHard("shop", "cpu")).toBe(10);
    expect(() => t.overrides.request({ node: "shop", dimension: "cpu", hard: 1, reason: " ", requestedBy: "lead", expiresAt: clock.now() + 1 })).toThrow(/needs a reason/);
  });
});

describe("delegation", () => {
  it("carves sub-quotas, never over-delegates, and revokes in cascade", () => {
    const { t } = setup();
    const dl = new Delegations(t);
    const team = dl.delegate({ from: "acme", to: "search", kind: "application", amounts: { cpu: 60 }, by: "admin", owners: ["search-lead"] });
    expect(() => dl.delegate({ from: "acme", to: "ads", kind: "application", amounts: { cpu: 50 }, by: "admin", owners: [] })).toThrow(/cannot delegate 50 cpu: 60 of its 100 is already delegated/);
    expect(() => dl.delegate({ from: "acme", to: "ads", kind: "application", amounts: { cpu: 5 }, by: "search-lead", owners: [] })).toThrow(/search-lead has no delegation authority over acme/);
    const user = dl.delegate({ from: "search", to: "carol", kind: "user", amounts: { cpu: 20 }, by: "search-lead", owners: ["carol"] });
    expect(user.from).toBe("search");
    expect(t.reserve("carol", { cpu: 15 }).ok).toBe(true);
    expect(t.reserve("carol", { cpu: 10 }).ok).toBe(false);
    expect(() => dl.revoke(team.id, "search-lead")).toThrow(/search-lead has no authority over acme/);
    const revoked = dl.revoke(team.id, "admin");
    expect(revoked.map((d) => d.to)).toEqual(["search", "carol"]);
    // Revocation reclaims usage: what carol held no longer counts against search or acme.
    expect(revoked[0]!.reclaimed).toEqual({ cpu: 15 });
    expect([t.usage("acme"), t.usage("search"), t.usage("carol")]).toEqual([{}, {}, {}]);
    expect(t.reserve("carol", { cpu: 1 }).ok).toBe(false);
    expect(dl.committed("acme")).toEqual({});
    // The carved cpu is back in acme's pool.
    expect(dl.delegate({ from: "acme", to: "ads", kind: "application", amounts: { cpu: 90 }, by: "admin", owners: [] }).amounts).toEqual({ cpu: 90 });
    expect(() => dl.delegate({ from: "search", to: "dave", kind: "user", amounts: { cpu: 1 }, by: "admin", owners: [] })).toThrow(/search has been revoked/);
  });
});
