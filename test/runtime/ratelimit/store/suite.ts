/**
 * The behavioural suite every store adapter passes (memory, Redis and a real Redis Cluster run the same
 * cases): single counters match the pure cores decision for decision; whole requests match
 * core/request.ts (shared counters, shadow and quota checks, both charging policies); a request whose
 * clock read is late never resets a window; concurrent decisions never over-admit.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { step } from "../../../../runtime/ratelimit/core/algorithms.js";
import { ALGORITHMS, type Decision, type Limit, type State } from "../../../../runtime/ratelimit/core/limit.js";
import { decideChecks, type ChargePolicy, type Check, type CounterLevel } from "../../../../runtime/ratelimit/core/request.js";
import type { RateLimitStore } from "../../../../runtime/ratelimit/store/port.js";

let run = 0;
const T0 = 1_700_000_000_000;

/** Redis answers whole milliseconds, rounded up. */
const upMs = (x: number) => (x > 0 ? Math.ceil(x - 1e-9) : x);

function expectSame(got: Decision, want: Decision, ctx: string): void {
  expect(got.allowed, ctx).toBe(want.allowed);
  expect(got.limit, ctx).toBeCloseTo(want.limit, 6);
  expect(got.remaining, ctx).toBe(want.remaining);
  expect(Math.abs(got.retryAfterMs - want.retryAfterMs), `${ctx} retryAfterMs ${got.retryAfterMs} vs ${want.retryAfterMs}`).toBeLessThanOrEqual(1);
  expect(Math.abs(got.resetAfterMs - want.resetAfterMs), `${ctx} resetAfterMs ${got.resetAfterMs} vs ${want.resetAfterMs}`).toBeLessThanOrEqual(1);
}

const limitArb: fc.Arbitrary<Limit> = fc.record({
  algorithm: fc.constantFrom(...ALGORITHMS),
  limit: fc.integer({ min: 1, max: 8 }),
  periodMs: fc.constantFrom(500, 1000, 3000),
  burst: fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }),
  debt: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
});

export function storeSuite(name: string, make: () => RateLimitStore, numRuns: number): void {
  describe(`${name} store (shared behavioural suite)`, () => {
    const fresh = (s: string) => `${s}-${process.pid}-${Date.now()}-${run++}`;
    const one = (key: string, limit: Limit, enforce = true): CounterLevel => ({
      key,
      tag: key,
      limit: limit.debt !== undefined && limit.algorithm !== "token-bucket" ? { ...limit, debt: undefined } : limit,
      enforce,
    });

    it("matches the pure cores decision for decision, for every algorithm", async () => {
      const store = make();
      try {
        await fc.assert(
          fc.asyncProperty(limitArb, fc.array(fc.record({ dt: fc.integer({ min: 0, max: 700 }), cost: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 25 }), async (limit, reqs) => {
            const lv = one(fresh("parity"), limit);
            let state: State | undefined;
            let t = T0;
            for (const [i, r] of reqs.entries()) {
              t += r.dt;
              const want = step(lv.limit, state, r.cost, t);
              if (want.next) state = want.next;
              // atomic: a rejection counts nothing, exactly the core's step (independent would count a
              // rejected fixed-window hit as envoyproxy/ratelimit does; the request property covers that).
              const [got] = await store.decide([{ levels: [lv], cost: r.cost, quota: false }], "atomic", t);
              const exp = { ...want.decision, retryAfterMs: upMs(want.decision.retryAfterMs), resetAfterMs: upMs(want.decision.resetAfterMs) };
              expectSame(got!.levels[0]!, name === "memory" ? want.decision : exp, `${JSON.stringify(lv.limit)} request ${i} cost ${r.cost} at +${t - T0}`);
            }
          }),
          { numRuns },
        );
      } finally {
        await store.close();
      }
    });

    it("decides whole requests as core/request.ts does: shared counters, shadow, quota, both policies", async () => {
      const store = make();
      try {
        await fc.assert(
          fc.asyncProperty(
            fc.array(limitArb, { minLength: 3, maxLength: 3 }),
            fc.array(
              fc.record({
                dt: fc.integer({ min: 0, max: 400 }),
                policy: fc.constantFrom<ChargePolicy>("independent", "atomic"),
                checks: fc.array(
                  fc.record({ keys: fc.uniqueArray(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 2 }), cost: fc.integer({ min: 0, max: 3 }), quota: fc.boolean(), shadow: fc.boolean() }),
                  { minLength: 1, maxLength: 3 },
                ),
              }),
              { minLength: 1, maxLength: 12 },
            ),
            fc.boolean(),
            async (limits, reqs, split) => {
              // A counter's tag is fixed by its own path. Either every counter shares one tag (multi-level
              // checks, as hierarchical descriptors are), or each has its own (single-level checks, which a
              // Cluster spreads over slots — the split-and-refund path).
              const id = fresh("req");
              const tagOf = (k: number) => (split ? `${id}:t${k}` : `${id}:t`);
              const keyOf = (k: number) => `${id}:k${k}`;
              const states = new Map<string, State>();
              let t = T0;
              for (const [n, r] of reqs.entries()) {
                t += r.dt;
                const checks: Check[] = r.checks.map((c) => ({
                  cost: c.cost,
                  quota: c.quota,
                  levels: (split ? c.keys.slice(0, 1) : c.keys).map((k, j) => ({ ...one(keyOf(k), limits[k]!, !(c.shadow && j === 0)), tag: tagOf(k) })),
                }));
                const want = decideChecks(checks, r.policy, (k) => states.get(k), t);
                for (const w of want.writes) states.set(w.key, w.state);
                const got = await store.decide(checks, r.policy, t);
                got.forEach((g, i) => {
                  const ctx = `request ${n} check ${i} (${r.policy})`;
                  expect(g.allowed, ctx).toBe(want.results[i]!.allowed);
                  expect(g.charged, ctx).toBe(want.results[i]!.charged);
                  g.levels.forEach((d, j) => {
                    const e = want.results[i]!.levels[j]!;
                    expectSame(d, name === "memory" ? e : { ...e, retryAfterMs: upMs(e.retryAfterMs), resetAfterMs: upMs(e.resetAfterMs) }, `${ctx} level ${j}`);
                  });
                });
              }
            },
          ),
          { numRuns: Math.max(5, Math.floor(numRuns / 2)) },
        );
      } finally {
        await store.close();
      }
    });

    it("never lets a late clock read reset a window", async () => {
      const store = make();
      try {
        for (const algorithm of ["fixed-window", "sliding-window", "token-bucket"] as const) {
          const lv = one(fresh("late"), { algorithm, limit: 3, periodMs: 1000 });
          const at = (t: number) => store.decide([{ levels: [lv], cost: 1, quota: false }], "independent", t).then((r) => r[0]!.allowed);
          expect([await at(T0 + 1000), await at(T0 + 1000), await at(T0 + 1000)]).toEqual([true, true, true]);
          // A replica whose clock lags (or a request that read the clock before an await) is in the
          // previous window by its own clock: it must count against the stored one and be rejected.
          expect(await at(T0 + 999), algorithm).toBe(false);
          expect(await at(T0 + 1000), algorithm).toBe(false);
        }
      } finally {
        await store.close();
      }
    });

    it("never over-admits under concurrent decisions on one counter", async () => {
      const store = make();
      try {
        const lv = one(fresh("conc"), { algorithm: "fixed-window", limit: 50, periodMs: 3_600_000 });
        const answers = await Promise.all(Array.from({ length: 200 }, () => store.decide([{ levels: [lv], cost: 1, quota: false }], "independent", T0)));
        expect(answers.filter((a) => a[0]!.allowed)).toHaveLength(50);
      } finally {
        await store.close();
      }
    });

    it("peeks, resets, and refuses malformed checks without touching state", async () => {
      const store = make();
      try {
        const lv = one(fresh("bad"), { algorithm: "fixed-window", limit: 1, periodMs: 60_000 });
        await expect(store.decide([{ levels: [lv, lv], cost: 1, quota: false }], "independent", T0)).rejects.toThrow(/appears twice/);
        await expect(store.decide([{ levels: [lv], cost: 1.5, quota: false }], "independent", T0)).rejects.toThrow(/cost is 1.5/);
        expect((await store.peek(lv, T0)).remaining).toBe(1);
        expect((await store.decide([{ levels: [lv], cost: 1, quota: false }], "independent", T0))[0]!.allowed).toBe(true);
        expect((await store.peek(lv, T0)).remaining).toBe(0);
        expect(await store.reset(lv)).toBe(true);
        expect((await store.peek(lv, T0)).remaining).toBe(1);
        expect(await store.reset(lv)).toBe(false);
      } finally {
        await store.close();
      }
    });
  });
}
