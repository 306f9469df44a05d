import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { GlobalAllocator, type ResourceConfig } from "../../../../runtime/ratelimit/global/allocator.js";
import { RedisLeaseAllocator } from "../../../../runtime/ratelimit/global/redis-allocator.js";

const PREFIX = `mrl:test:alloc:${process.pid}:`;
const redis = new RedisLeaseAllocator("redis://127.0.0.1:6379/2", PREFIX);
afterAll(async () => {
  const keys = await redis.redis.keys(`${PREFIX}*`);
  if (keys.length) await redis.redis.del(...keys);
  redis.close();
});

let n = 0;
describe("Redis lease allocator", () => {
  it("grants exactly what the in-process allocator grants, call for call, with and without forecasts (real Redis)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("static" as const, "proportional" as const, "fair" as const),
        fc.array(fc.record({ client: fc.integer({ min: 0, max: 3 }), wants: fc.integer({ min: 0, max: 300 }), dt: fc.integer({ min: 0, max: 4000 }) }), { minLength: 1, maxLength: 30 }),
        fc.option(fc.record({ history: fc.integer({ min: 3, max: 8 }), seasonLength: fc.integer({ min: 2, max: 4 }) }), { nil: undefined }),
        async (algorithm, calls, forecast) => {
          const r: ResourceConfig = { id: `res-${n++}`, capacity: 120, algorithm, leaseMs: 5000, refreshMs: 1000, staticPerClient: 40, ...(forecast ? { forecast } : {}) };
          const mem = new GlobalAllocator([r]);
          let t = 1_000_000;
          for (const c of calls) {
            t += c.dt;
            const want = mem.getCapacity(r.id, `c${c.client}`, c.wants, t);
            const got = await redis.getCapacity(r, `c${c.client}`, c.wants, t);
            expect(got.has).toBeCloseTo(want.has, 9);
            expect(got.expiresAt).toBe(want.expiresAt);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it("keeps Σ has ≤ capacity over the live leases with forecasts on (property, real Redis)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("proportional" as const, "fair" as const),
        fc.array(fc.record({ client: fc.integer({ min: 0, max: 4 }), wants: fc.integer({ min: 0, max: 300 }), dt: fc.integer({ min: 0, max: 1500 }) }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 3, max: 10 }),
        async (algorithm, calls, history) => {
          const r: ResourceConfig = { id: `sum-${n++}`, capacity: 100, algorithm, leaseMs: 3000, refreshMs: 1000, forecast: { history, seasonLength: 2 } };
          let t = 1_000_000;
          for (const c of calls) {
            t += c.dt;
            await redis.getCapacity(r, `c${c.client}`, c.wants, t);
            const leases = Object.values(await redis.redis.hgetall(`${PREFIX}{${r.id}}:leases`)).map((v) => v.split(",").map(Number));
            const live = leases.filter(([, , expiresAt]) => expiresAt! > t).reduce((sum, [, has]) => sum + has!, 0);
            expect(live).toBeLessThanOrEqual(r.capacity + 1e-9);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it("gives a climbing client its fair share a refresh earlier with forecasts than without (real Redis)", async () => {
    /** A climbs 10, 20, 30, … per refresh against B's steady 60 on 100: the refresh at which A first holds its 50. */
    const firstFair = async (forecast?: ResourceConfig["forecast"]) => {
      const r: ResourceConfig = { id: `climb-${n++}`, capacity: 100, algorithm: "fair", leaseMs: 3000, refreshMs: 1000, ...(forecast ? { forecast } : {}) };
      for (let k = 0; k < 10; k++) {
        const a = await redis.getCapacity(r, "a", 10 * (k + 1), k * 1000);
        await redis.getCapacity(r, "b", 60, k * 1000 + 1);
        if (a.has >= 50) return k;
      }
      return Infinity;
    };
    expect(await firstFair()).toBe(5);
    expect(await firstFair({ history: 8, seasonLength: 4 })).toBe(4);
  });

  it("forgets a client's demand with its lease, as the in-process allocator does", async () => {
    const r: ResourceConfig = { id: `forget-${n++}`, capacity: 100, algorithm: "fair", leaseMs: 3000, refreshMs: 1000, forecast: { history: 8, seasonLength: 4 } };
    for (let k = 0; k < 4; k++) await redis.getCapacity(r, "a", 10 * (k + 1), k * 1000);
    expect(await redis.redis.hget(`${PREFIX}{${r.id}}:demand`, "a")).toBe("10,20,30,40");
    // Long after its lease ran out, its old climb no longer speaks for it.
    await redis.getCapacity(r, "b", 90, 60_000);
    expect(await redis.redis.hget(`${PREFIX}{${r.id}}:demand`, "a")).toBeNull();
    await redis.release(r, "b");
    expect(await redis.redis.hget(`${PREFIX}{${r.id}}:demand`, "b")).toBeNull();
  });

  it("reproduces Doorman's example once the leases settle", async () => {
    const r: ResourceConfig = { id: `doorman-${n++}`, capacity: 120, algorithm: "fair", leaseMs: 60_000, refreshMs: 5000 };
    for (const [c, w] of [
      ["a", 1000],
      ["b", 50],
      ["c", 10],
    ] as const)
      await redis.getCapacity(r, c, w, 0);
    const has = [];
    for (const [c, w] of [
      ["a", 1000],
      ["b", 50],
      ["c", 10],
    ] as const)
      has.push((await redis.getCapacity(r, c, w, 10)).has);
    expect(has).toEqual([60, 50, 10]);
  });
});
