import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { QuotaTree } from "../../../runtime/quota/tree.js";

const DIMS = ["cpu", "memory", "storage", "bandwidth"];

function estate(clock = new ManualClock(0)) {
  const t = new QuotaTree(DIMS, clock, 60_000);
  t.addNode({ id: "acme", kind: "tenant", hard: { cpu: 100, memory: 256, storage: 1000 }, soft: { cpu: 80 }, owners: ["acme-admin"] });
  t.addNode({ id: "shop", kind: "application", parent: "acme", hard: { cpu: 60, bandwidth: 50 }, owners: ["shop-lead"] });
  t.addNode({ id: "search", kind: "application", parent: "acme", hard: { cpu: 500 } });
  t.addNode({ id: "alice", kind: "user", parent: "shop", hard: { memory: 64 } });
  t.addNode({ id: "bob", kind: "user", parent: "shop" });
  return t;
}

describe("multi-dimensional quotas", () => {
  it("inherits the nearest ancestor's limit and lets the stricter one win", () => {
    const t = estate();
    expect(t.effectiveHard("bob", "cpu")).toBe(60);
    expect(t.effectiveHard("alice", "memory")).toBe(64);
    expect(t.effectiveHard("bob", "memory")).toBe(256);
    expect(t.effectiveHard("bob", "storage")).toBe(1000);
    expect(t.effectiveHard("bob", "bandwidth")).toBe(50);
    expect(t.effectiveHard("search", "bandwidth")).toBe(Infinity);
    expect(t.conflicts()).toEqual([{ node: "search", dimension: "cpu", own: 500, capped: 100 }]);
  });

  it("reserves atomically along the chain, aggregates usage, warns on soft limits", () => {
    const t = estate();
    expect(t.reserve("alice", { cpu: 40, memory: 60 }).ok).toBe(true);
    expect(t.usage("acme")).toEqual({ cpu: 40, memory: 60 });
    // bob's cpu fits bob (inherits) but not shop (60): nothing is charged anywhere.
    const r = t.reserve("bob", { cpu: 30, memory: 10 });
    expect(r).toMatchObject({ ok: false, violations: [{ node: "shop", dimension: "cpu", usage: 40, requested: 30, limit: 60 }] });
    expect(t.usage("bob")).toEqual({});
    expect(t.usage("acme")).toEqual({ cpu: 40, memory: 60 });
    const s = t.reserve("search", { cpu: 45 });
    expect(s).toMatchObject({ ok: true, warnings: [{ node: "acme", dimension: "cpu", limit: 80 }] });
    t.release("alice", { cpu: 40 });
    expect(t.usage("acme")).toEqual({ cpu: 45, memory: 60 });
    expect(() => t.release("bob", { cpu: 1 })).toThrow(/bob releases 1 cpu but holds 0/);
  });

  it("never lets any node's usage exceed its hard limit, and a rejection changes nothing (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ who: fc.constantFrom("alice", "bob", "search", "shop"), release: fc.boolean(), cpu: fc.integer({ min: 0, max: 50 }), memory: fc.integer({ min: 0, max: 100 }) }), {
          maxLength: 60,
        }),
        (ops) => {
          const t = estate();
          const held = new Map<string, { cpu: number; memory: number }>();
          for (const op of ops) {
            const before = ["acme", "shop", "search", "alice", "bob"].map((n) => t.usage(n));
            if (op.release) {
              const h = held.get(op.who);
              if (h) {
                t.release(op.who, h);
                held.delete(op.who);
              }
              continue;
            }
            const r = t.reserve(op.who, { cpu: op.cpu, memory: op.memory });
            if (r.ok) {
              const h = held.get(op.who) ?? { cpu: 0, memory: 0 };
              held.set(op.who, { cpu: h.cpu + op.cpu, memory: h.memory + op.memory });
            } else expect(["acme", "shop", "search", "alice", "bob"].map((n) => t.usage(n))).toEqual(before);
            for (const n of ["acme", "shop", "search", "alice", "bob"]) for (const d of ["cpu", "memory"]) expect(t.usage(n)[d] ?? 0).toBeLessThanOrEqual(t.ownHard(n, d) ?? Infinity);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it("rejects malformed trees and amounts naming the problem", () => {
    const t = estate();
    expect(() => t.addNode({ id: "x", kind: "user", parent: "acme", hard: {} })).not.toThrow();
    expect(() => t.addNode({ id: "y", kind: "tenant", parent: "acme" })).toThrow(/a tenant cannot sit under a tenant/);
    expect(() => t.addNode({ id: "z", kind: "user" })).toThrow(/a user cannot sit under nothing/);
    expect(() => t.addNode({ id: "w", kind: "user", parent: "shop", hard: { gpu: 1 } })).toThrow(/hard.gpu is not a dimension/);
    expect(() => t.reserve("alice", { cpu: -1 })).toThrow(/cpu is -1/);
    expect(() => t.reserve("nobody", { cpu: 1 })).toThrow(/no quota node "nobody"/);
  });
});
