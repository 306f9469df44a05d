import { describe, expect, it } from "vitest";
import { createGcraLimiter } from "../../../../runtime/ratelimit/index.js";
import { gcraStep } from "../../../../runtime/ratelimit/core/gcra.js";
import type { Limit } from "../../../../runtime/ratelimit/core/limit.js";

// redis-cell README: `CL.THROTTLE user123 15 30 60 1` → limited 0, limit 16, remaining 15, retry -1, reset 2 s.
const cell: Limit = { algorithm: "gcra", limit: 30, periodMs: 60_000, burst: 15 };

describe("gcra (redis-cell semantics)", () => {
  it("answers redis-cell's published example", () => {
    const s = gcraStep(cell, undefined, 1, 0);
    expect(s.decision).toEqual({ allowed: true, limit: 16, remaining: 15, retryAfterMs: 0, resetAfterMs: 2000 });
    expect(s.next).toEqual([2000]);
  });

  it("passes max_burst + 1 at once, then one per emission interval", () => {
    let state: number[] | undefined;
    for (let i = 0; i < 16; i++) {
      const s = gcraStep(cell, state, 1, 0);
      expect(s.decision.allowed).toBe(true);
      expect(s.decision.remaining).toBe(15 - i);
      state = s.next!;
    }
    const rejected = gcraStep(cell, state, 1, 0);
    expect(rejected.decision).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 2000, resetAfterMs: 32_000 });
    expect(rejected.next).toBeNull();
    expect(gcraStep(cell, state, 1, 2000).decision.allowed).toBe(true);
  });

  it("peeks with quantity 0 and never passes a cost above max_burst + 1", () => {
    const s = gcraStep(cell, [5000], 0, 0);
    expect(s.next).toBeNull();
    expect(s.decision.allowed).toBe(true);
    expect(gcraStep(cell, undefined, 17, 0).decision).toMatchObject({ allowed: false, retryAfterMs: -1 });
  });

  it("createGcraLimiter keeps the escrow contract per key", () => {
    const lim = createGcraLimiter({ ratePerSecond: 2, burst: 1 });
    expect(lim.check("u1", 1, 0)).toEqual({ allowed: true, retryAfterMs: 0, remaining: 1 });
    expect(lim.check("u1", 1, 0)).toEqual({ allowed: true, retryAfterMs: 0, remaining: 0 });
    expect(lim.check("u1", 1, 0)).toEqual({ allowed: false, retryAfterMs: 500, remaining: 0 });
    expect(lim.check("u1", 0, 0).allowed).toBe(true);
    expect(lim.check("u2", 1, 0).allowed).toBe(true);
    expect(lim.check("u1", 1, 500).allowed).toBe(true);
    expect(lim.check("u1", 3, 10_000).retryAfterMs).toBe(-1);
    expect(() => createGcraLimiter({ ratePerSecond: 0, burst: 1 })).toThrow(/gcra.limit is 0/);
  });
});

describe("createGcraLimiter agrees with the GCRA core", () => {
  it("answers exactly as gcraStep for any sequence (property)", async () => {
    const fc = (await import("fast-check")).default;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 0, max: 10 }),
        fc.array(fc.record({ dt: fc.integer({ min: 0, max: 300 }), cost: fc.integer({ min: 0, max: 12 }), key: fc.constantFrom("a", "b") }), { maxLength: 80 }),
        (rate, burst, reqs) => {
          const lim = createGcraLimiter({ ratePerSecond: rate, burst });
          const l: Limit = { algorithm: "gcra", limit: rate, periodMs: 1000, burst };
          const states = new Map<string, number[]>();
          let t = 0;
          for (const r of reqs) {
            t += r.dt;
            const want = gcraStep(l, states.get(r.key), r.cost, t);
            if (want.next) states.set(r.key, want.next);
            const got = lim.check(r.key, r.cost, t);
            expect(got).toEqual({ allowed: want.decision.allowed, retryAfterMs: want.decision.retryAfterMs, remaining: want.decision.remaining });
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
