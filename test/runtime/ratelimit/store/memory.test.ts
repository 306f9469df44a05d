import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decideLevels, type Level } from "../../../../runtime/ratelimit/core/hierarchy.js";
import { ALGORITHMS, type Limit } from "../../../../runtime/ratelimit/core/limit.js";
import { decideChecks, LEVELS_MEMO, reusedLevel, reusedLevels, validateCheck, type ChargePolicy, type Check, type CheckResult, type CounterLevel } from "../../../../runtime/ratelimit/core/request.js";
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

  // Plan levels are reused across requests and remember their counter's slot. The memo must never outlive
  // the slot: a reset, a sweep or a close drops it, and the same level objects used with another store
  // must not reach this one's slots. Two stores driven by the same reused level objects answer exactly as
  // decideChecks over one Map each, and hold exactly that Map's live keys after a sweep.
  it("slots remembered on reused levels: resets, sweeps, closes and a second store answer as decideChecks over a Map (property)", async () => {
    const reqArb = fc.oneof(
      fc.record({
        op: fc.constant("decide" as const),
        store: fc.integer({ min: 0, max: 1 }),
        levels: fc.uniqueArray(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: ALGORITHMS.length - 1 })), { minLength: 1, maxLength: 3, selector: ([k]) => k }),
        cost: fc.integer({ min: 0, max: 3 }),
        policy: fc.constantFrom<ChargePolicy>("independent", "atomic"),
        dt: fc.integer({ min: -100, max: 700 }),
      }),
      ...(["reset", "sweep", "close"] as const).map((op) => fc.record({ op: fc.constant(op), store: fc.integer({ min: 0, max: 1 }), key: fc.integer({ min: 0, max: 3 }) })),
    );
    // One reused level object per (key, algorithm), shared by both stores, as two services' plans never are
    // but a caller's objects may be.
    const reused: CounterLevel[][] = [0, 1, 2, 3].map((k) => ALGORITHMS.map((algorithm) => reusedLevel({ key: `k${k}`, tag: "", limit: { algorithm, limit: 3, periodMs: 1000 }, enforce: true })));
    await fc.assert(
      fc.asyncProperty(fc.array(reqArb, { minLength: 1, maxLength: 60 }), async (ops) => {
        for (const row of reused) for (const lv of row) lv.slot = -1;
        const model = twoStoreModel();
        await model.replay(ops, (store, o, t) => {
          const checks: Check[] = [{ levels: o.levels.map(([k, a]) => reused[k]![a]!), cost: o.cost, quota: false }];
          const want = model.expected(o.store, checks, o.policy, t);
          // The service's call (answers read before the next one) and the copying call alternate.
          const got = o.cost % 2 === 0 ? store.decideChecksShared(checks, o.policy, t) : store.decideChecksSync(checks, o.policy, t);
          expect(answers(got)).toEqual(want);
        });
      }),
      { numRuns: 1500 },
    );
  });

  // A reused check's levels (reusedLevels) carry a memo of their slots, trusted while it holds the store's
  // stamp: a reset, sweep or close frees slots (a new key may then take one), and a second store has a
  // stamp of its own. Reused level arrays shared by two stores, beside plain ones (sliding algorithms
  // leave longer states on keys a memo names; a key twice is refused), answer as decideChecks over a Map.
  it("memos of reused checks: resets, sweeps, closes, a second store and plain checks answer as decideChecks over a Map (property)", async () => {
    const levelArb = fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: ALGORITHMS.length - 1 }));
    const reqArb = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({
          op: fc.constant("decide" as const),
          store: fc.integer({ min: 0, max: 1 }),
          levels: fc.array(levelArb, { minLength: 1, maxLength: 3 }),
          // A memoized check is one of a few (a memo is made and then trusted only when one repeats).
          memo: fc.option(fc.integer({ min: 0, max: 6 }), { freq: 4 }),
          cost: fc.integer({ min: 0, max: 2 }),
          // Long periods and short steps: states stay apart from a new key's, so a stale slot shows.
          dt: fc.integer({ min: -50, max: 300 }),
        }),
      },
      ...(["reset", "reset", "sweep", "close"] as const).map((op) => ({
        weight: 1,
        arbitrary: fc.record({ op: fc.constant(op), store: fc.integer({ min: 0, max: 1 }), key: fc.integer({ min: 0, max: 3 }) }),
      })),
    );
    const reused: CounterLevel[][] = [0, 1, 2, 3].map((k) => ALGORITHMS.map((algorithm) => reusedLevel({ key: `k${k}`, tag: "", limit: { algorithm, limit: 5, periodMs: 60_000 }, enforce: true })));
    const at = (algorithm: string) => ALGORITHMS.indexOf(algorithm as Limit["algorithm"]);
    const [gcra, bucket, fixed, log] = [at("gcra"), at("token-bucket"), at("fixed-window"), at("sliding-log")];
    // Arrays kept across runs, as a plan cache keeps them across stores: hierarchies of the in-place
    // algorithms, one naming a key twice and one with a sliding level (never memoized).
    const memoized = (
      [
        [
          [0, gcra],
          [1, bucket],
        ],
        [
          [1, fixed],
          [2, gcra],
          [3, bucket],
        ],
        [
          [2, bucket],
          [0, fixed],
        ],
        [
          [3, gcra],
          [1, gcra],
          [0, bucket],
        ],
        [
          [3, fixed],
          [2, fixed],
        ],
        [
          [0, gcra],
          [0, bucket],
        ],
        [
          [1, log],
          [2, gcra],
        ],
      ] as [number, number][][]
    ).map((levels) => reusedLevels(levels.map(([k, a]) => reused[k]![a]!)));
    const checkOf = (levels: [number, number][], memo: number | null): readonly CounterLevel[] => (memo === null ? levels.map(([k, a]) => reused[k]![a]!) : memoized[memo]!);
    await fc.assert(
      fc.asyncProperty(fc.array(reqArb, { minLength: 1, maxLength: 60 }), async (ops) => {
        const model = twoStoreModel();
        await model.replay(ops, (store, o, t) => {
          const checks: Check[] = [{ levels: checkOf(o.levels, o.memo), cost: o.cost, quota: false }];
          try {
            validateCheck(checks[0]!);
          } catch (err) {
            expect(() => store.decideChecksShared(checks, "atomic", t)).toThrow((err as Error).message);
            return;
          }
          const want = model.expected(o.store, checks, "atomic", t);
          expect(answers(store.decideChecksShared(checks, "atomic", t))).toEqual(want);
        });
      }),
      {
        numRuns: 3000,
        // Memoized [k0, k1], k1 reset: a stale memo reads its old state, or the state of k2 in its freed slot.
        examples: [
          [
            [
              ...[1, 1, 1].map((cost) => ({ op: "decide" as const, store: 0, levels: [], memo: 0, cost, dt: 0 })),
              { op: "reset" as const, store: 0, key: 1 },
              { op: "decide" as const, store: 0, levels: [[2, bucket]] as [number, number][], memo: null, cost: 2, dt: 0 },
              { op: "decide" as const, store: 0, levels: [], memo: 0, cost: 1, dt: 0 },
            ],
          ],
        ],
      },
    );
    // The memo is not visible to copies or JSON.
    const check = memoized[0]!;
    expect(Object.keys(check)).toEqual(["0", "1"]);
    expect([...check]).toEqual([reused[0]![gcra], reused[1]![bucket]]);
    expect((check as { [LEVELS_MEMO]?: unknown })[LEVELS_MEMO]).toBeDefined();
  });

  // A reused level steps by a kind worked out once from its limit, which is a frozen copy shared by the
  // levels of one limit object (a copy per user would give each its own hidden class); a source limit
  // changed since is copied afresh. An invalid limit is refused naming it, as on a plain level, and a
  // store that sweeps after every decision (the sweep follows the decision) answers as one that never does.
  it("reused levels: frozen shared limit copies, refusal of invalid limits, sweeping after each decision (property)", async () => {
    const base: Limit = { algorithm: "gcra", limit: 3, periodMs: 1000 };
    const a = reusedLevel({ key: "a", tag: "", limit: base, enforce: true });
    const b = reusedLevel({ key: "b", tag: "", limit: base, enforce: true });
    expect(a.limit).toEqual(base);
    expect(a.limit).not.toBe(base);
    expect(b.limit).toBe(a.limit);
    expect(Object.isFrozen(a.limit)).toBe(true);
    expect(Object.isFrozen(base)).toBe(false);
    base.limit = 4;
    const c = reusedLevel({ key: "c", tag: "", limit: base, enforce: true });
    expect(c.limit).toEqual({ algorithm: "gcra", limit: 4, periodMs: 1000 });
    expect(a.limit.limit).toBe(3);
    const bad = reusedLevel({ key: "bad", tag: "", limit: { algorithm: "token-bucket", limit: 5, periodMs: 1000, burst: 0 }, enforce: true });
    const store = new MemoryStore(0);
    expect(() => store.decideChecksShared([{ levels: [a, bad], cost: 1, quota: false }], "independent", 0)).toThrow(/bad\.burst is 0/);
    expect(store.size).toBe(0);

    const reused: CounterLevel[][] = [0, 1, 2, 3].map((k) => ALGORITHMS.map((algorithm) => reusedLevel({ key: `k${k}`, tag: "", limit: { algorithm, limit: 2, periodMs: 300 }, enforce: true })));
    const reqArb = fc.record({
      levels: fc.uniqueArray(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: ALGORITHMS.length - 1 })), { minLength: 1, maxLength: 3, selector: ([k]) => k }),
      cost: fc.integer({ min: 0, max: 2 }),
      // Time moves forward here: a store sweeps when its clock has moved on (late reads: the tests above).
      dt: fc.integer({ min: 0, max: 500 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(reqArb, { minLength: 1, maxLength: 40 }), async (reqs) => {
        for (const row of reused) for (const lv of row) lv.slot = -1;
        const sweeping = new MemoryStore(0);
        const states = new Map<string, { state: number[]; expiresAt: number }>();
        let t = 5_000;
        for (const r of reqs) {
          t = Math.max(0, t + r.dt);
          const checks: Check[] = [{ levels: r.levels.map(([k, i]) => reused[k]![i]!), cost: r.cost, quota: false }];
          const read = (k: string) => {
            const e = states.get(k);
            return e && e.expiresAt > t ? e.state : undefined;
          };
          const want = decideChecks(checks, "independent", read, t);
          for (const w of want.writes) states.set(w.key, { state: w.state, expiresAt: t + Math.max(1, w.ttlMs) });
          expect(sweeping.decideChecksSync(checks, "independent", t)).toEqual(want.results);
          for (const [k, e] of states) if (e.expiresAt <= t) states.delete(k);
          expect(sweeping.size).toBe(states.size);
        }
        await sweeping.close();
      }),
      { numRuns: 400 },
    );
  });

  it("a reused level's memo is invisible to copies, JSON and equality, and copies answer alike", () => {
    const store = new MemoryStore();
    const limit = { algorithm: "fixed-window" as const, limit: 5, periodMs: 1000 };
    const lv = reusedLevel({ key: "k", tag: "t", limit, enforce: true });
    store.decideChecksShared([{ levels: [lv], cost: 1, quota: false }], "independent", 0);
    expect(lv.slot).toBe(0);
    expect(lv).toEqual({ key: "k", tag: "t", limit, enforce: true });
    expect(JSON.parse(JSON.stringify(lv))).toEqual({ key: "k", tag: "t", limit, enforce: true });
    expect(Object.keys({ ...lv })).toEqual(["key", "tag", "limit", "enforce"]);
    expect(store.decideChecksSync([{ levels: [{ ...lv }], cost: 1, quota: false }], "independent", 0)[0]!.levels[0]!.remaining).toBe(3);
    expect(store.decideChecksShared([{ levels: [lv], cost: 1, quota: false }], "independent", 0)[0]!.levels[0]!.remaining).toBe(2);
  });

  // decideChecksShared answers an admitted check from the store's own records; decideChecksSync's answers
  // are the caller's and survive later decisions.
  it("decideChecksSync's answers survive later decisions; decideChecksShared's are read before the next", () => {
    const store = new MemoryStore();
    const lv = reusedLevel({ key: "k", tag: "", limit: { algorithm: "gcra", limit: 5, periodMs: 1000 }, enforce: true });
    const kept = store.decideChecksSync([{ levels: [lv], cost: 1, quota: false }], "independent", 0);
    const shared = store.decideChecksShared([{ levels: [lv], cost: 1, quota: false }], "independent", 0);
    expect(shared[0]!.levels[0]!.remaining).toBe(3);
    store.decideChecksShared([{ levels: [lv], cost: 1, quota: false }], "independent", 0);
    expect(kept[0]!.levels[0]!.remaining).toBe(4);
  });
});

type Entry = { state: number[]; expiresAt: number };

/**
 * Two memory stores beside a Map each, decideChecks' reference: `maintain` applies a reset, sweep or close to a store
 * and its Map and checks they agree; `expected` answers checks by the reference on that store's Map and records the writes.
 */
type Maintenance = { op: "reset" | "sweep" | "close"; store: number; key: number };

function twoStoreModel() {
  const stores = [new MemoryStore(1_000_000), new MemoryStore(1_000_000)];
  const maps = [new Map<string, Entry>(), new Map<string, Entry>()];
  return {
    /** Run `ops` in order from t = 5 s: each maintenance checked by `maintain`, each decision (t moved by its dt) by `decide`. */
    async replay<D extends { op: "decide"; store: number; dt: number }>(ops: readonly (D | Maintenance)[], decide: (store: MemoryStore, o: D, t: number) => void): Promise<void> {
      let t = 5_000;
      for (const o of ops) {
        if (o.op !== "decide") await this.maintain(o as Maintenance, t);
        else {
          t = Math.max(0, t + (o as D).dt);
          decide(stores[o.store]!, o as D, t);
        }
      }
    },
    async maintain(o: Maintenance, t: number): Promise<void> {
      const store = stores[o.store]!;
      const states = maps[o.store]!;
      if (o.op === "reset") {
        expect(await store.reset({ key: `k${o.key}`, tag: "", enforce: true, limit: { algorithm: "gcra", limit: 1, periodMs: 1000 } })).toBe(states.delete(`k${o.key}`));
      } else if (o.op === "sweep") {
        for (const [k, e] of states) if (e.expiresAt <= t) states.delete(k);
        store.sweep(t);
        expect(store.size).toBe(states.size);
      } else {
        await store.close();
        states.clear();
        expect(store.size).toBe(0);
      }
    },
    expected(store: number, checks: Check[], policy: ChargePolicy, t: number): CheckResult[] {
      const states = maps[store]!;
      const want = decideChecks(
        checks,
        policy,
        (k) => {
          const e = states.get(k);
          return e && e.expiresAt > t ? e.state : undefined;
        },
        t,
      );
      for (const w of want.writes) states.set(w.key, { state: w.state, expiresAt: t + Math.max(1, w.ttlMs) });
      return want.results;
    },
  };
}

/** A store's answers as plain records (its in-place answers are its reused scratch records). */
const answers = (got: readonly CheckResult[]) =>
  got.map((r) => ({ ...r, levels: r.levels.map((d) => ({ allowed: d.allowed, limit: d.limit, remaining: d.remaining, retryAfterMs: d.retryAfterMs, resetAfterMs: d.resetAfterMs })) }));
