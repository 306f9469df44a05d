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
  it("grants exactly what the in-process allocator grants, call for call (real Redis)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("static" as const, "proportional" as const, "fair" as const),
        fc.array(fc.record({ client: fc.integer({ min: 0, max: 3 }), wants: fc.integer({ min: 0, max: 300 }), dt: fc.integer({ min: 0, max: 4000 }) }), { minLength: 1, maxLength: 30 }),
        async (algorithm, calls) => {
          const r: ResourceConfig = { id: `res-${n++}`, capacity: 120, algorithm, leaseMs: 5000, refreshMs: 1000, staticPerClient: 40 };
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
      { numRuns: 30 },
    );
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
