import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { step } from "../../../../runtime/ratelimit/core/algorithms.js";
import { ALGORITHMS, admissionBound, validateLimit, type Limit } from "../../../../runtime/ratelimit/core/limit.js";

function run(l: Limit, arrivals: { t: number; cost: number }[]): { t: number; cost: number }[] {
  let state: number[] | undefined;
  const admitted: { t: number; cost: number }[] = [];
  for (const a of arrivals) {
    const s = step(l, state, a.cost, a.t);
    if (s.decision.allowed && a.cost > 0) admitted.push(a);
    if (s.next) state = s.next;
    else if (s.decision.allowed && a.cost > 0) throw new Error("an admitted cost must write state");
  }
  return admitted;
}

const limitArb = fc.record({
  algorithm: fc.constantFrom(...ALGORITHMS),
  limit: fc.integer({ min: 1, max: 20 }),
  periodMs: fc.integer({ min: 100, max: 5000 }),
  burst: fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
  debt: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
});
const arrivalsArb = fc.array(fc.record({ dt: fc.integer({ min: 0, max: 400 }), cost: fc.integer({ min: 0, max: 4 }) }), { minLength: 1, maxLength: 200 }).map((xs) => {
  let t = 1_000_000;
  return xs.map((x) => ({ t: (t += x.dt), cost: x.cost }));
});

describe("algorithm cores", () => {
  it("no algorithm admits more than its limit plus its stated burst over any window", () => {
    fc.assert(
      fc.property(limitArb, arrivalsArb, fc.constantFrom(0.5, 1, 2.5), (l, arrivals, windows) => {
        const admitted = run(l, arrivals);
        const W = l.periodMs * windows;
        const bound = admissionBound(l, W);
        for (let i = 0; i < admitted.length; i++) {
          let sum = 0;
          for (let j = i; j < admitted.length && admitted[j]!.t < admitted[i]!.t + W; j++) sum += admitted[j]!.cost;
          expect(sum).toBeLessThanOrEqual(bound + 1e-6);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("rejections and peeks change nothing", () => {
    fc.assert(
      fc.property(limitArb, arrivalsArb, (l, arrivals) => {
        let state: number[] | undefined;
        for (const a of arrivals) {
          const s = step(l, state, a.cost, a.t);
          if (!s.decision.allowed || a.cost === 0) expect(s.next).toBeNull();
          if (s.next) state = s.next;
          if (!s.decision.allowed && s.decision.retryAfterMs >= 0) {
            // Waiting the advertised retry-after is enough when nothing else arrives.
            expect(step(l, state, a.cost, a.t + s.decision.retryAfterMs + 1e-6).decision.allowed).toBe(true);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it("token bucket borrows up to its debt once, then recovers before admitting again", () => {
    const l: Limit = { algorithm: "token-bucket", limit: 10, periodMs: 1000, burst: 5, debt: 3 };
    const a = step(l, undefined, 7, 0);
    expect(a.decision.allowed).toBe(true);
    expect(a.next![0]).toBe(-2);
    expect(step(l, a.next!, 1, 0).decision).toMatchObject({ allowed: false, retryAfterMs: 200 });
    expect(step(l, a.next!, 1, 250).decision.allowed).toBe(true);
    expect(step(l, undefined, 9, 0).decision.retryAfterMs).toBe(-1);
  });

  it("fixed window admits 2× limit across a boundary; sliding log never does", () => {
    const at = (alg: Limit["algorithm"]) => {
      const l: Limit = { algorithm: alg, limit: 5, periodMs: 1000 };
      return run(
        l,
        [...Array(5).fill(999), ...Array(5).fill(1000)].map((t: number) => ({ t, cost: 1 })),
      ).length;
    };
    expect(at("fixed-window")).toBe(10);
    expect(at("sliding-log")).toBe(5);
    expect(at("sliding-window")).toBe(5);
  });

  it("sliding-window counter weights the previous window by its overlap", () => {
    const l: Limit = { algorithm: "sliding-window", limit: 10, periodMs: 1000 };
    let state = step(l, undefined, 8, 500).next!;
    // At 1250 the previous window counts 8 × 0.75 = 6, so 4 more fit and the 5th does not.
    for (let i = 0; i < 4; i++) state = step(l, state, 1, 1250).next!;
    const r = step(l, state, 1, 1250);
    expect(r.decision.allowed).toBe(false);
    expect(r.decision.retryAfterMs).toBeCloseTo(125, 6);
  });

  it("validates limits naming the field", () => {
    expect(() => validateLimit({ algorithm: "leaky" as never, limit: 1, periodMs: 1 })).toThrow(/limit.algorithm is "leaky"; expected one of gcra/);
    expect(() => validateLimit({ algorithm: "gcra", limit: -1, periodMs: 1 })).toThrow(/limit.limit is -1/);
  });
});
