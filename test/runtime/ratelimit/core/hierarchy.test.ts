import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decideLevels, type Level } from "../../../../runtime/ratelimit/core/hierarchy.js";
import { ALGORITHMS } from "../../../../runtime/ratelimit/core/limit.js";
import { MemoryStore } from "../../../../runtime/ratelimit/store/memory.js";

const chain = (user: number, app: number, tenant: number, global: number): Level[] => [
  { key: "user:u1", limit: { algorithm: "fixed-window", limit: user, periodMs: 1000 } },
  { key: "app:a1", limit: { algorithm: "token-bucket", limit: app, periodMs: 1000 } },
  { key: "tenant:t1", limit: { algorithm: "sliding-log", limit: tenant, periodMs: 1000 } },
  { key: "global", limit: { algorithm: "gcra", limit: global, periodMs: 1000 } },
];

describe("hierarchical limits", () => {
  it("admits only when every level admits and reports the blocking level", () => {
    const store = new MemoryStore();
    const levels = chain(5, 3, 10, 10);
    const answers = Array.from({ length: 5 }, () => store.decideSync(levels, 1, 0));
    expect(answers.map((a) => a.allowed)).toEqual([true, true, true, false, false]);
    expect(answers[3]!.blockedBy).toBe(1);
    // The user level was not charged by the rejected requests: 2 more fit once the app refills.
    const user = [levels[0]!];
    expect(store.decideSync(user, 2, 0).allowed).toBe(true);
    expect(store.decideSync(user, 1, 0).allowed).toBe(false);
  });

  it("a rejection at any level consumes nothing anywhere (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ alg: fc.constantFrom(...ALGORITHMS), limit: fc.integer({ min: 1, max: 6 }) }), { minLength: 2, maxLength: 4 }),
        fc.array(fc.record({ dt: fc.integer({ min: 0, max: 300 }), cost: fc.integer({ min: 1, max: 3 }) }), { maxLength: 60 }),
        (specs, reqs) => {
          const levels: Level[] = specs.map((s, i) => ({ key: `l${i}`, limit: { algorithm: s.alg, limit: s.limit, periodMs: 1000 } }));
          const states = new Map<string, number[]>();
          let t = 0;
          for (const r of reqs) {
            t += r.dt;
            const before = new Map(states);
            const { decision, commits } = decideLevels(levels, (k) => states.get(k), r.cost, t);
            if (!decision.allowed) {
              expect(commits).toEqual([]);
              expect(decision.blockedBy).toBeGreaterThanOrEqual(0);
            }
            for (const c of commits) states.set(c.key, c.state);
            if (!decision.allowed) expect(states).toEqual(before);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("rejects duplicate keys and bad costs", () => {
    const store = new MemoryStore();
    const l = chain(1, 1, 1, 1);
    expect(() => store.decideSync([l[0]!, l[0]!], 1, 0)).toThrow(/appears twice/);
    expect(() => store.decideSync(l, -1, 0)).toThrow(/cost is -1/);
  });
});
