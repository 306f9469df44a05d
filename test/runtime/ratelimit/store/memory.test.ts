import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decideLevels, type Level } from "../../../../runtime/ratelimit/core/hierarchy.js";
import { ALGORITHMS, type Limit } from "../../../../runtime/ratelimit/core/limit.js";
import { decideChecks, type ChargePolicy, type Check } from "../../../../runtime/ratelimit/core/request.js";
import { MemoryStore } from "../../../../runtime/ratelimit/store/memory.js";
import { storeSuite } from "./suite.js";

storeSuite("memory", () => new MemoryStore(), 200);

const limitArb = fc.record({
  algorithm: fc.constantFrom(...ALGORITHMS),
  limit: fc.integer({ min: 1, max: 6 }),
  periodMs: fc.constantFrom(100, 1000),
}) as fc.Arbitrary<Limit>;

const opArb = fc.oneof(
  fc.record({
    op: fc.constant("decide" as const),
    keys: fc.uniqueArray(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 3 }),
    limits: fc.array(limitArb, { minLength: 3, maxLength: 3 }),
    cost: fc.integer({ min: 0, max: 3 }),
    dt: fc.integer({ min: -100, max: 400 }),
  }),
  fc.record({ op: fc.constant("reset" as const), key: fc.integer({ min: 0, max: 4 }) }),
  fc.record({ op: fc.constant("sweep" as const) }),
);

describe("memory store", () => {
  it("sweeps expired states so memory follows live keys", () => {
    const store = new MemoryStore(1_000_000);
    for (let i = 0; i < 100; i++) store.decideSync([{ key: `k${i}`, limit: { algorithm: "fixed-window", limit: 5, periodMs: 1000 } }], 1, 0);
    expect(store.size).toBe(100);
    store.sweep(5000);
    expect(store.size).toBe(0);
  });

  // decideSync remembers the slot of the last key seen at each depth > 0 (parents shared by many children):
  // a reset or sweep frees slots, and a remembered slot must not outlive its key.
  it("a parent's remembered slot is forgotten when the parent is reset", async () => {
    const store = new MemoryStore(1_000_000);
    const lv = (key: string): Level => ({ key, limit: { algorithm: "fixed-window", limit: 5, periodMs: 1000 } });
    expect(store.decideSync([lv("a"), lv("p")], 1, 0).levels[1]!.remaining).toBe(4);
    expect(store.decideSync([lv("a"), lv("p")], 1, 0).levels[1]!.remaining).toBe(3);
    expect(await store.reset({ ...lv("p"), tag: "", enforce: true })).toBe(true);
    expect(store.decideSync([lv("b"), lv("p")], 1, 0).levels[1]!.remaining).toBe(4);
    // The second hit is counted against p's own counter, found under p's key at any depth.
    expect(store.decideSync([lv("p")], 1, 0).remaining).toBe(3);
    expect(await store.reset({ ...lv("p"), tag: "", enforce: true })).toBe(true);
    expect(store.size).toBe(2);
  });
  // decideSync finds duplicate keys by slot for keys it holds and by string for new ones; either way the
  // hierarchy is refused before anything is counted.
  it("refuses a hierarchy naming a key twice, held or new, and counts nothing", () => {
    const store = new MemoryStore(1_000_000);
    const lv = (key: string): Level => ({ key, limit: { algorithm: "gcra", limit: 5, periodMs: 1000 } });
    expect(() => store.decideSync([lv("new"), lv("x"), lv("new")], 1, 0)).toThrow(/level key "new" appears twice/);
    store.decideSync([lv("held"), lv("p")], 1, 0);
    store.decideSync([lv("held"), lv("p")], 1, 0);
    expect(() => store.decideSync([lv("held"), lv("p"), lv("held")], 1, 0)).toThrow(/level key "held" appears twice/);
    expect(() => store.decideSync([lv("q"), lv("p"), lv("p")], 1, 0)).toThrow(/level key "p" appears twice/);
    expect(store.size).toBe(2);
    expect(store.decideSync([lv("held")], 1, 0).remaining).toBe(2);
  });
  // Counters live in reused slots of one Float64Array (states of more than two numbers beside them): a key
  // decided under one algorithm and then another (a sliding log's long state, then a gcra), reset, swept and
  // re-created in a freed slot answers exactly as decideLevels over a plain Map of states.
  it("slots: any mix of algorithms per key, resets and sweeps answers as decideLevels over a Map (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 60 }), async (ops) => {
        const store = new MemoryStore(1_000_000);
        const states = new Map<string, { state: number[]; expiresAt: number }>();
        let t = 5_000;
        for (const o of ops) {
          if (o.op === "reset") {
            const had = states.delete(`k${o.key}`);
            expect(await store.reset({ key: `k${o.key}`, tag: "", enforce: true, limit: { algorithm: "gcra", limit: 1, periodMs: 1000 } })).toBe(had);
          } else if (o.op === "sweep") {
            for (const [k, e] of states) if (e.expiresAt <= t) states.delete(k);
            store.sweep(t);
            expect(store.size).toBe(states.size);
          } else {
            t = Math.max(0, t + o.dt);
            const chain: Level[] = o.keys.map((k, i) => ({ key: `k${k}`, limit: o.limits[i]! }));
            const got = store.decideSync(chain, o.cost, t);
            const read = (k: string) => {
              const e = states.get(k);
              return e && e.expiresAt > t ? e.state : undefined;
            };
            const { decision, commits } = decideLevels(chain, read, o.cost, t);
            for (const c of commits) states.set(c.key, { state: c.state, expiresAt: t + Math.max(1, c.ttlMs) });
            expect(got).toEqual(decision);
          }
        }
      }),
      { numRuns: 1500 },
    );
  });

  // The service's call (decide → decideChecksSync) steps checks whose levels all admit in place and sends
  // the rest (refusals, shadow levels, sliding algorithms, several checks under atomic) to the pure cores:
  // whichever path a check takes, every answer and every later state is decideChecks' over a Map.
  it("decideChecksSync answers as decideChecks over a Map, whichever path each check takes (property)", () => {
    const checkArb = fc.record({
      keys: fc.uniqueArray(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 3 }),
      limits: fc.array(limitArb, { minLength: 3, maxLength: 3 }),
      shadow: fc.array(
        fc.integer({ min: 0, max: 4 }).map((x) => x === 0),
        { minLength: 3, maxLength: 3 },
      ),
      cost: fc.integer({ min: 0, max: 3 }),
      quota: fc.boolean(),
    });
    const reqArb = fc.record({ checks: fc.array(checkArb, { minLength: 1, maxLength: 3 }), policy: fc.constantFrom<ChargePolicy>("independent", "atomic"), dt: fc.integer({ min: -100, max: 400 }) });
    fc.assert(
      fc.property(fc.array(reqArb, { minLength: 1, maxLength: 40 }), (reqs) => {
        const store = new MemoryStore(1_000_000);
        const states = new Map<string, { state: number[]; expiresAt: number }>();
        let t = 5_000;
        for (const r of reqs) {
          t = Math.max(0, t + r.dt);
          const checks: Check[] = r.checks.map((c) => ({
            cost: c.cost,
            quota: c.quota,
            levels: c.keys.map((k, i) => ({ key: `k${k}`, tag: "", limit: c.limits[i]!, enforce: !c.shadow[i] })),
          }));
          const read = (k: string) => {
            const e = states.get(k);
            return e && e.expiresAt > t ? e.state : undefined;
          };
          const want = decideChecks(checks, r.policy, read, t);
          for (const w of want.writes) states.set(w.key, { state: w.state, expiresAt: t + Math.max(1, w.ttlMs) });
          expect(store.decideChecksSync(checks, r.policy, t)).toEqual(want.results);
        }
      }),
      { numRuns: 1500 },
    );
  });
});
