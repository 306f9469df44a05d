/**
 * The behavioural suite every store adapter passes (memory and Redis run the same cases): decisions
 * match the pure cores step for step, hierarchies are atomic, keys are isolated, and concurrent
 * decisions on one key never over-admit.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { step } from "../../../../runtime/ratelimit/core/algorithms.js";
import type { Level } from "../../../../runtime/ratelimit/core/hierarchy.js";
import { ALGORITHMS, type Decision, type Limit } from "../../../../runtime/ratelimit/core/limit.js";
import type { RateLimitStore } from "../../../../runtime/ratelimit/store/store.js";

let run = 0;

function expectSame(got: Decision, want: Decision, ctx: string): void {
  expect(got.allowed, ctx).toBe(want.allowed);
  expect(got.limit, ctx).toBeCloseTo(want.limit, 6);
  expect(got.remaining, ctx).toBe(want.remaining);
  expect(got.retryAfterMs, ctx).toBeCloseTo(want.retryAfterMs, 3);
  expect(got.resetAfterMs, ctx).toBeCloseTo(want.resetAfterMs, 3);
}

export function storeSuite(name: string, make: () => RateLimitStore, numRuns: number): void {
  describe(`${name} store (shared behavioural suite)`, () => {
    const fresh = (s: string) => `${s}-${process.pid}-${Date.now()}-${run++}`;

    it("matches the pure cores decision for decision, for every algorithm", async () => {
      const store = make();
      try {
        await fc.assert(
          fc.asyncProperty(
            fc.record({ algorithm: fc.constantFrom(...ALGORITHMS), limit: fc.integer({ min: 1, max: 8 }), periodMs: fc.constantFrom(500, 1000, 3000), burst: fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }), debt: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }) }),
            fc.array(fc.record({ dt: fc.integer({ min: 0, max: 700 }), cost: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 25 }),
            async (limit: Limit, reqs) => {
              const key = fresh("parity");
              let state: number[] | undefined;
              let t = 1_700_000_000_000;
              for (const [i, r] of reqs.entries()) {
                t += r.dt;
                const want = step(limit, state, r.cost, t);
                if (want.next) state = want.next;
                const got = await store.decide([{ key, limit }], r.cost, t);
                expectSame(got, want.decision, `${JSON.stringify(limit)} request ${i} cost ${r.cost} at +${t - 1_700_000_000_000}`);
              }
            },
          ),
          { numRuns },
        );
      } finally {
        await store.close();
      }
    });

    it("decides a hierarchy atomically: a rejection consumes nothing at any level", async () => {
      const store = make();
      try {
        const id = fresh("h");
        const user = (u: string): Level => ({ key: `${id}:user:${u}`, limit: { algorithm: "sliding-log", limit: 3, periodMs: 60_000 } });
        const tenant: Level = { key: `${id}:tenant`, limit: { algorithm: "fixed-window", limit: 4, periodMs: 60_000 } };
        const t = 1_700_000_000_000;
        const a = [];
        for (let i = 0; i < 3; i++) a.push((await store.decide([user("a"), tenant], 1, t)).allowed);
        expect(a).toEqual([true, true, true]);
        // u-a is at its own limit: rejected at level 0, and the tenant must not be charged.
        const r = await store.decide([user("a"), tenant], 1, t);
        expect(r).toMatchObject({ allowed: false, blockedBy: 0 });
        const b = await store.decide([user("b"), tenant], 1, t);
        expect(b.allowed).toBe(true);
        expect(b.levels[1]!.remaining).toBe(0);
        // The tenant is now full: u-b is rejected at level 1 and u-b's own log is not charged either.
        expect((await store.decide([user("b"), tenant], 1, t)).blockedBy).toBe(1);
        expect((await store.decide([user("b")], 2, t)).allowed).toBe(true);
      } finally {
        await store.close();
      }
    });

    it("keeps keys isolated and peeks with cost 0", async () => {
      const store = make();
      try {
        const limit: Limit = { algorithm: "gcra", limit: 1, periodMs: 1000, burst: 0 };
        const [k1, k2] = [fresh("iso"), fresh("iso")];
        expect((await store.decide([{ key: k1, limit }], 1, 0)).allowed).toBe(true);
        expect((await store.decide([{ key: k1, limit }], 0, 0)).remaining).toBe(0);
        expect((await store.decide([{ key: k1, limit }], 1, 0)).allowed).toBe(false);
        expect((await store.decide([{ key: k2, limit }], 1, 0)).allowed).toBe(true);
      } finally {
        await store.close();
      }
    });

    it("never over-admits under concurrent decisions on one key", async () => {
      const store = make();
      try {
        const key = fresh("conc");
        const limit: Limit = { algorithm: "token-bucket", limit: 50, periodMs: 3_600_000 };
        const answers = await Promise.all(Array.from({ length: 200 }, () => store.decide([{ key, limit }], 1, 1_000)));
        expect(answers.filter((a) => a.allowed)).toHaveLength(50);
      } finally {
        await store.close();
      }
    });

    it("rejects malformed requests without touching state", async () => {
      const store = make();
      try {
        const lv: Level = { key: fresh("bad"), limit: { algorithm: "fixed-window", limit: 1, periodMs: 1000 } };
        await expect(store.decide([lv, lv], 1, 0)).rejects.toThrow(/appears twice/);
        await expect(store.decide([lv], 1.5, 0)).rejects.toThrow(/cost is 1.5/);
        expect((await store.decide([lv], 1, 0)).allowed).toBe(true);
      } finally {
        await store.close();
      }
    });
  });
}
