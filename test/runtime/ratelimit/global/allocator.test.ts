import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GlobalAllocator } from "../../../../runtime/ratelimit/global/allocator.js";
import { globalOverageBound, RegionalLimiter } from "../../../../runtime/ratelimit/global/regional.js";
import { proportionalShare, staticShare } from "../../../../runtime/ratelimit/global/shares.js";
import { maxMinFair } from "../../../../runtime/quota/max-min.js";
import { seededUniform } from "../../../../model/random.js";

describe("Doorman capacity algorithms", () => {
  it("reproduce Doorman's published example (capacity 120, wants 1000/50/10)", () => {
    expect(maxMinFair(120, [1000, 50, 10])).toEqual([60, 50, 10]);
    const p = proportionalShare(120, [1000, 50, 10]);
    expect(p[0]).toBeCloseTo(69.69, 2);
    expect(p[1]).toBeCloseTo(40.31, 2);
    expect(p[2]).toBe(10);
    expect(staticShare(40, [1000, 50, 10])).toEqual([40, 40, 10]);
  });

  it("grants leases whose sum never exceeds capacity, reclaims expired ones and redistributes", () => {
    const a = new GlobalAllocator([{ id: "api", capacity: 120, algorithm: "fair", leaseMs: 10_000, refreshMs: 2_000 }]);
    expect(a.getCapacity("api", "c1", 1000, 0).has).toBe(120);
    // c2 is entitled to 50 but c1 still holds everything: it gets nothing until c1 refreshes.
    expect(a.getCapacity("api", "c2", 50, 1).has).toBe(0);
    expect(a.getCapacity("api", "c3", 10, 2).has).toBe(0);
    expect(a.getCapacity("api", "c1", 1000, 2000).has).toBe(60);
    expect(a.getCapacity("api", "c2", 50, 2001).has).toBe(50);
    expect(a.getCapacity("api", "c3", 10, 2002).has).toBe(10);
    // c1 and c3 go silent; their leases expire at 12 000 and 12 002 and are reclaimed for c2.
    expect(a.getCapacity("api", "c2", 500, 11_000).has).toBe(50);
    expect(a.getCapacity("api", "c2", 500, 12_003).has).toBe(120);
    expect(a.snapshot("api", 12_003).map((c) => c.client)).toEqual(["c2"]);
    a.release("api", "c2");
    expect(a.snapshot("api", 12_003)).toEqual([]);
    expect(() => a.getCapacity("nope", "c", 1, 0)).toThrow(/unknown resource "nope"; expected one of api/);
  });

  it("keeps global admissions within the stated overage bound under simulated partitions (property)", () => {
    fc.assert(
      fc.property(
        fc.record({
          regions: fc.integer({ min: 2, max: 4 }),
          capacity: fc.integer({ min: 50, max: 500 }),
          refreshMs: fc.constantFrom(100, 250, 500),
          leaseFactor: fc.integer({ min: 2, max: 5 }),
          safe: fc.constantFrom(0, 0, 5),
          algorithm: fc.constantFrom("fair" as const, "proportional" as const),
          seed: fc.integer(),
        }),
        (p) => {
          const rng = seededUniform(p.seed);
          const allocator = new GlobalAllocator([{ id: "r", capacity: p.capacity, algorithm: p.algorithm, leaseMs: p.refreshMs * p.leaseFactor, refreshMs: p.refreshMs, safeCapacity: p.safe }]);
          const regions = Array.from({ length: p.regions }, (_, i) => new RegionalLimiter({ resource: "r", client: `region-${i}` }));
          const demand = regions.map(() => rng() * p.capacity * 0.8);
          const partitionedUntil = regions.map(() => 0);
          const step = 10;
          const horizon = 20_000;
          const admittedAt: number[] = [];
          const expiredAt: number[][] = [];
          for (let t = 0; t < horizon; t += step) {
            let admitted = 0;
            const expired: number[] = [];
            regions.forEach((r, i) => {
              if (rng() < 0.002) partitionedUntil[i] = t + rng() * 4 * p.refreshMs * p.leaseFactor;
              if (rng() < 0.02) demand[i] = rng() < 0.4 ? 0 : rng() * p.capacity * 2;
              if (r.needsSync(t) && t >= partitionedUntil[i]!) r.applyLease(allocator.getCapacity("r", `region-${i}`, r.wants(t), t), t);
              if (r.current && t >= r.current.expiresAt) expired.push(i);
              const n = Math.round((demand[i]! * step) / 1000 + rng() * 2);
              for (let k = 0; k < n; k++) if (r.tryAcquire(1, t)) admitted++;
            });
            admittedAt.push(admitted);
            expiredAt.push(expired);
          }
          const W = 1000 / step;
          for (let s = 0; s + W <= admittedAt.length; s += 5) {
            let sum = 0;
            const expiredRegions = new Set<number>();
            let expiredMs = 0;
            for (let j = s; j < s + W; j++) {
              sum += admittedAt[j]!;
              for (const i of expiredAt[j]!) expiredRegions.add(i);
              expiredMs += expiredAt[j]!.length * step;
            }
            const bound = globalOverageBound({
              capacity: p.capacity,
              refreshMs: p.refreshMs,
              regions: p.regions,
              safeCapacity: p.safe,
              expiredMs: expiredMs + expiredRegions.size * step,
              expiredRegions: expiredRegions.size,
            });
            expect(sum).toBeLessThanOrEqual(p.capacity + bound + 1e-6);
          }
          // The regions did get capacity: not a limiter that admits nothing.
          expect(regions.reduce((s2, r) => s2 + r.admitted, 0)).toBeGreaterThan(0);
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe("regional limiter", () => {
  it("admits at low lease rates thanks to the one-unit bucket floor", () => {
    const r = new RegionalLimiter({ resource: "r", client: "eu" });
    // 2/s with a 100 ms refresh is 0.2 tokens per interval: without the floor nothing would ever pass.
    r.applyLease({ resource: "r", has: 2, expiresAt: 10_000, refreshMs: 100, safeCapacity: 0 }, 0);
    const admitted = Array.from({ length: 40 }, (_, i) => r.tryAcquire(1, i * 100)).filter(Boolean).length;
    // The first lease starts with the one-unit floor, then one unit per 500 ms.
    expect(admitted).toBe(8);
    expect(r.tryAcquire(1, 20_000)).toBe(false);
  });
});

describe("predictive shares (a resource's forecast)", () => {
  const resource = { id: "api", capacity: 100, algorithm: "fair" as const, leaseMs: 5_000, refreshMs: 1_000 };
  /** A climbs 10 → 40 per refresh while B wants a steady 60; each asks once per refresh. */
  const run = (a: GlobalAllocator) => {
    for (let t = 0; t <= 3; t++) {
      a.getCapacity("api", "a", 10 * (t + 1), t * 1_000);
      a.getCapacity("api", "b", 60, t * 1_000 + 1);
    }
    return a.snapshot("api", 3_001);
  };

  it("grants a climbing client where its demand is going; the steady one keeps what it wants without a forecast", () => {
    expect(run(new GlobalAllocator([resource]))).toEqual([
      { client: "a", wants: 40, has: 40, expiresAt: 8_000 },
      { client: "b", wants: 60, has: 60, expiresAt: 8_001 },
    ]);
    // Holt's trend on 10, 20, 30, 40 predicts 50: max-min over (50, 60) gives B 50.
    expect(run(new GlobalAllocator([{ ...resource, forecast: { history: 8, seasonLength: 4 } }]))).toEqual([
      { client: "a", wants: 40, predicted: 50, has: 40, expiresAt: 8_000 },
      { client: "b", wants: 60, predicted: 60, has: 50, expiresAt: 8_001 },
    ]);
  });

  it("never predicts below what a client wants now", () => {
    const a = new GlobalAllocator([{ ...resource, forecast: { history: 8, seasonLength: 4 } }]);
    for (const [t, w] of [80, 60, 40, 20].entries()) a.getCapacity("api", "a", w, t * 1_000);
    expect(a.snapshot("api", 3_000)[0]).toMatchObject({ wants: 20, predicted: 20, has: 20 });
  });

  it("keeps Σ has ≤ capacity at every instant with forecasting on (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ client: fc.constantFrom("a", "b", "c", "d"), wants: fc.integer({ min: 0, max: 300 }), dt: fc.integer({ min: 0, max: 1_500 }) }), { minLength: 1, maxLength: 80 }),
        fc.integer({ min: 3, max: 12 }),
        (asks, history) => {
          const a = new GlobalAllocator([{ ...resource, forecast: { history, seasonLength: 2 } }]);
          let now = 0;
          for (const ask of asks) {
            now += ask.dt;
            a.getCapacity("api", ask.client, ask.wants, now);
            const total = a.snapshot("api", now).reduce((s, c) => s + c.has, 0);
            expect(total).toBeLessThanOrEqual(resource.capacity + 1e-9);
          }
        },
      ),
    );
  });

  it("refuses a forecast it cannot fit", () => {
    expect(() => new GlobalAllocator([{ ...resource, forecast: { history: 2, seasonLength: 4 } }])).toThrow(/history ≥ 3/);
  });
});
