// The memory store's hot path (decideSync: steps computed into scratch, states overwritten in place)
// must answer exactly as the pure cores do. The pure steps now read the same scratch functions out
// (stepOf), so the first property pins that read-out; the second checks decideSync against decideLevels
// over Map states, for every algorithm, burst, debt, cost (0 peeks included) and late clock reads, and
// the third decideChecksShared on reused levels (the service's call) against decideChecks.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { step } from "../../../../runtime/ratelimit/core/algorithms.js";
import { decideLevels, type Level } from "../../../../runtime/ratelimit/core/hierarchy.js";
import { Scratch, inPlace, stepInPlace } from "../../../../runtime/ratelimit/core/in-place.js";
import { ALGORITHMS, limitOk, validateLimit, type Limit } from "../../../../runtime/ratelimit/core/limit.js";
import { decideChecks, reusedLevel, type Check } from "../../../../runtime/ratelimit/core/request.js";
import { MemoryStore } from "../../../../runtime/ratelimit/store/memory.js";

const limitArb = fc
  .record({
    algorithm: fc.constantFrom(...ALGORITHMS),
    limit: fc.integer({ min: 1, max: 8 }),
    periodMs: fc.constantFrom(100, 1000, 3000),
    burst: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
    debt: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }),
  })
  .map((l) => Object.fromEntries(Object.entries(l).filter(([, v]) => v !== undefined)) as unknown as Limit);

const requestsArb = fc.array(fc.record({ dt: fc.integer({ min: -200, max: 700 }), cost: fc.integer({ min: 0, max: 4 }), depth: fc.integer({ min: 1, max: 4 }) }), { minLength: 1, maxLength: 80 });

describe("in-place steps", () => {
  it("stepInPlace computes step's decision and next state (property)", () => {
    fc.assert(
      fc.property(
        limitArb.filter(inPlace),
        fc.option(fc.array(fc.double({ min: 0, max: 20_000, noNaN: true }), { minLength: 1, maxLength: 2 }), { nil: undefined }),
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 0, max: 20_000 }),
        (l, state, cost, now) => {
          const s = step(l, state, cost, now);
          const out = new Scratch();
          stepInPlace(l, state, cost, now, out);
          expect({ allowed: out.allowed, limit: out.limit, remaining: out.remaining, retryAfterMs: out.retryAfterMs, resetAfterMs: out.resetAfterMs }).toEqual(s.decision);
          expect(out.nextLength === 0 ? null : [out.next0, out.next1].slice(0, out.nextLength)).toEqual(s.next);
          expect(out.ttlMs).toBe(s.ttlMs);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("MemoryStore.decideSync answers as decideLevels over the same history (property)", () => {
    fc.assert(
      fc.property(fc.array(limitArb, { minLength: 1, maxLength: 4 }), requestsArb, (limits, reqs) => {
        const levels: Level[] = limits.map((limit, i) => ({ key: `l${i}`, limit }));
        const store = new MemoryStore();
        const states = new Map<string, { state: number[]; expiresAt: number }>();
        let t = 10_000;
        for (const r of reqs) {
          t = Math.max(0, t + r.dt);
          // A prefix of the chain (a user alone, a user under its app, …): levels share counters across depths.
          const chain = levels.slice(0, Math.min(r.depth, levels.length));
          const got = store.decideSync(chain, r.cost, t);
          const read = (k: string) => {
            const e = states.get(k);
            return e && e.expiresAt > t ? e.state : undefined;
          };
          const { decision, commits } = decideLevels(chain, read, r.cost, t);
          for (const c of commits) states.set(c.key, { state: c.state, expiresAt: t + Math.max(1, c.ttlMs) });
          expect(got).toEqual(decision);
        }
      }),
      { numRuns: 1500 },
    );
  });

  // The service's path: reused levels (their step plans, LEVEL_STEP, worked out once from a frozen copy
  // of the limit) through decideChecksShared, stepped on the store's slots. Its answers and every
  // counter's state must be decideChecks' over a Map, refusals and peeks included.
  it("MemoryStore.decideChecksShared on reused levels answers as decideChecks (property)", () => {
    fc.assert(
      fc.property(fc.array(limitArb.filter(inPlace), { minLength: 1, maxLength: 4 }), requestsArb, (limits, reqs) => {
        const levels = limits.map((limit, i) => reusedLevel({ key: `l${i}`, tag: "", limit, enforce: true }));
        const store = new MemoryStore();
        const states = new Map<string, { state: number[]; expiresAt: number }>();
        let t = 10_000;
        for (const r of reqs) {
          t = Math.max(0, t + r.dt);
          const checks: Check[] = [{ levels: levels.slice(0, Math.min(r.depth, levels.length)), cost: r.cost, quota: false }];
          const got = store.decideChecksSync(checks, "atomic", t);
          const read = (k: string) => {
            const e = states.get(k);
            return e && e.expiresAt > t ? e.state : undefined;
          };
          const { results, writes } = decideChecks(checks, "atomic", read, t);
          for (const w of writes) states.set(w.key, { state: w.state, expiresAt: t + Math.max(1, w.ttlMs) });
          expect(got).toEqual(results);
        }
      }),
      { numRuns: 1500 },
    );
  });

  // The service's call refuses a malformed check before anything is counted, naming what is wrong.
  it("decideChecksSync refuses what decideSync refuses, naming it, and counts nothing", () => {
    const store = new MemoryStore();
    const limit: Limit = { algorithm: "gcra", limit: 5, periodMs: 1000 };
    const lv = (key: string) => ({ key, tag: "", limit, enforce: true });
    const ok = { levels: [lv("ok")], cost: 1, quota: false };
    expect(() => store.decideChecksSync([ok, { levels: [lv("k")], cost: 1.5, quota: false }], "independent", 0)).toThrow(/cost is 1.5; expected an integer ≥ 0/);
    expect(() => store.decideChecksSync([{ levels: [lv("k")], cost: -1, quota: false }], "independent", 0)).toThrow(/cost is -1/);
    expect(() => store.decideChecksSync([ok, { levels: [], cost: 1, quota: false }], "independent", 0)).toThrow(/at least one level/);
    expect(() => store.decideChecksSync([ok, { levels: [lv("k"), lv("k")], cost: 1, quota: false }], "independent", 0)).toThrow(/level key "k" appears twice/);
    expect(() => store.decideChecksSync([{ levels: [{ ...lv("k"), limit: { ...limit, limit: 0 } }], cost: 1, quota: false }], "independent", 0)).toThrow(/k\.limit is 0/);
    expect(store.size).toBe(0);
  });

  // The stores check limits on every decision with limitOk and call validateLimit (which names the fault)
  // only when it fails: the two must agree on every limit, valid or not.
  it("limitOk accepts exactly what validateLimit accepts (property)", () => {
    const num = fc.oneof(fc.double(), fc.integer({ min: -2, max: 5 }), fc.constantFrom(0, -0, Infinity, NaN, "5" as unknown as number, undefined as unknown as number));
    fc.assert(
      fc.property(
        fc.record({ algorithm: fc.constantFrom(...ALGORITHMS, "leaky" as never), limit: num, periodMs: num, burst: fc.option(num, { nil: undefined }), debt: fc.option(num, { nil: undefined }) }),
        (raw) => {
          const l = Object.fromEntries(Object.entries(raw).filter(([k, v]) => v !== undefined || (k !== "burst" && k !== "debt"))) as unknown as Limit;
          let valid = true;
          try {
            validateLimit(l);
          } catch {
            valid = false;
          }
          expect(limitOk(l)).toBe(valid);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
