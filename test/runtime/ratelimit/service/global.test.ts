/**
 * Global limits from per-window budgets: the allocator never commits more than the limit in a window
 * (property), its Redis twin answers the same, a daily quota keeps its burst, regions together admit at
 * most the limit, a rejection by another level gives the budget back, and an unreachable allocator
 * follows the failure policy.
 */
import fc from "fast-check";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { RedisBudgetAllocator } from "../../../../runtime/ratelimit/global/redis-budget.js";
import { WindowBudgetAllocator } from "../../../../runtime/ratelimit/global/window-budget.js";
import { GlobalBudgets, inProcessBudgets } from "../../../../runtime/ratelimit/service/global-budgets.js";
import { RateLimitService } from "../../../../runtime/ratelimit/service/rls.js";
import { MemoryStore } from "../../../../runtime/ratelimit/store/memory.js";
import { StoreUnavailable } from "../../../../runtime/ratelimit/store/resilient.js";
import { compiled } from "./fixtures.js";

const DAY = 86_400_000;
const op = fc.record({
  client: fc.constantFrom("eu", "us", "ap"),
  used: fc.integer({ min: 0, max: 40 }),
  wants: fc.integer({ min: 0, max: 40 }),
  keep: fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }),
  dt: fc.integer({ min: 0, max: 400 }),
  /** Ask for the next window (ahead of its start) rather than the current one. */
  ahead: fc.boolean(),
});

describe("per-window budget allocator", () => {
  it("never commits more than the limit in a window, never below what a client used, and starts each window empty", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 }), fc.array(op, { minLength: 1, maxLength: 60 }), (limit, ops) => {
        const a = new WindowBudgetAllocator();
        const used = new Map<string, number>();
        let t = 0;
        let window = 0;
        for (const o of ops) {
          t += o.dt;
          const w = Math.floor(t / 1000) * 1000;
          if (w !== window) used.clear();
          window = w;
          // A client only reports what its grant allowed it to use.
          const before = a.snapshot("r")?.window === w ? (a.snapshot("r")!.clients.find((c) => c.client === o.client)?.has ?? 0) : 0;
          const u = Math.max(used.get(o.client) ?? 0, Math.min(o.used, before));
          used.set(o.client, u);
          const g = a.acquire({ resource: "r", limit, periodMs: 1000, client: o.client, window: w, used: u, wants: o.wants, keep: o.keep }, t);
          expect(g.window).toBe(w);
          expect(g.has).toBeGreaterThanOrEqual(u);
          const snap = a.snapshot("r")!;
          expect(snap.clients.reduce((s, c) => s + c.has, 0)).toBeLessThanOrEqual(Math.max(limit, ...snap.clients.map((c) => c.used)));
        }
      }),
      { numRuns: 300 },
    );
  });

  it("grants the next window ahead within the same limit, bound to that window, and keeps those grants when it starts", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 }), fc.array(op, { minLength: 1, maxLength: 60 }), (limit, ops) => {
        const a = new WindowBudgetAllocator();
        /** What each client may have used of each window: at most what it was granted there, and never in a window it is not yet in. */
        const used = new Map<string, number>();
        const granted = new Map<string, number>();
        let t = 0;
        for (const o of ops) {
          t += o.dt;
          const now = Math.floor(t / 1000) * 1000;
          const w = now + (o.ahead ? 1000 : 0);
          const id = `${w}/${o.client}`;
          const u = o.ahead ? 0 : Math.max(used.get(id) ?? 0, Math.min(o.used, granted.get(id) ?? 0));
          used.set(id, u);
          const g = a.acquire({ resource: "r", limit, periodMs: 1000, client: o.client, window: w, used: u, wants: o.wants, keep: o.keep }, t);
          expect(g.window).toBe(w);
          // A grant made ahead is still there when its window starts (only what the client handed back is gone).
          const before = granted.get(id) ?? 0;
          expect(g.has).toBeGreaterThanOrEqual(o.keep === undefined ? before : Math.max(u, Math.min(before, o.keep)));
          granted.set(id, g.has);
          for (const held of [now, now + 1000]) {
            const snap = a.snapshot("r", held);
            if (snap)
              expect(
                snap.clients.reduce((s, c) => s + c.has, 0),
                `window ${held}`,
              ).toBeLessThanOrEqual(Math.max(limit, ...snap.clients.map((c) => c.used)));
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it("grants nothing for a window other than the current one or the next", () => {
    const a = new WindowBudgetAllocator();
    expect(a.acquire({ resource: "r", limit: 10, periodMs: 1000, client: "eu", window: 0, used: 0, wants: 5 }, 1500)).toEqual({ window: 1000, has: 0, free: 0 });
    expect(a.acquire({ resource: "r", limit: 10, periodMs: 1000, client: "eu", window: 3000, used: 0, wants: 5 }, 1500)).toEqual({ window: 1000, has: 0, free: 0 });
    expect(a.acquire({ resource: "r", limit: 10, periodMs: 1000, client: "eu", window: 2000, used: 0, wants: 5 }, 1500)).toEqual({ window: 2000, has: 5, free: 5 });
  });

  it("the Redis twin answers exactly as the pure allocator", async () => {
    const redis = new Redis("redis://127.0.0.1:6379/2");
    const prefix = `mrl:test:budget:${process.pid}:`;
    try {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 60 }), fc.array(op, { minLength: 1, maxLength: 25 }), async (limit, ops) => {
          const pure = new WindowBudgetAllocator();
          const twin = new RedisBudgetAllocator(redis, `${prefix}${Math.random()}:`, "caller");
          let t = 1_700_000_000_000;
          for (const o of ops) {
            t += o.dt;
            const r = { resource: "r", limit, periodMs: 1000, client: o.client, window: Math.floor(t / 1000) * 1000 + (o.ahead ? 1000 : 0), used: o.used, wants: o.wants, keep: o.keep };
            expect(await twin.acquire(r, t)).toEqual(pure.acquire(r, t));
          }
        }),
        { numRuns: 25 },
      );
    } finally {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
    }
  });
});

const RULES = `
domain: edge
descriptors:
  - key: api
    value: checkout
    rate_limit: { unit: day, requests_per_unit: 1000, global: true }
    hierarchical: true
    descriptors:
      - key: user
        rate_limit: { unit: minute, requests_per_unit: 700 }
      - key: user
        value: limited
        rate_limit: { unit: minute, requests_per_unit: 2 }
`;

describe("global limits in the rate limit service", () => {
  // Per-descriptor hits_addend: 0 probes (a request-level 0 means 1, as in Envoy).
  const call = (svc: RateLimitService, user: string, hits = 1) =>
    svc.shouldRateLimit({
      domain: "edge",
      descriptors: [
        {
          entries: [
            { key: "api", value: "checkout" },
            { key: "user", value: user },
          ],
          hitsAddend: hits,
        },
      ],
    });

  it("keeps a daily quota's burst, shares it across regions exactly, and gives back a rejected request's budget", async () => {
    const clock = new ManualClock(10 * DAY);
    const allocator = new WindowBudgetAllocator();
    const budgets = { eu: new GlobalBudgets({ client: "eu", source: inProcessBudgets(allocator), clock }), us: new GlobalBudgets({ client: "us", source: inProcessBudgets(allocator), clock }) };
    const region = (client: "eu" | "us") => new RateLimitService(compiled(RULES), new MemoryStore(), clock, { globals: budgets[client] });
    const [eu, us] = [region("eu"), region("us")];
    // A burst of 600 in one request: the whole day's quota is there to be spent at once.
    expect((await call(eu, "a", 600)).overallCode).toBe("OK");
    let admitted = 600;
    for (let i = 0; i < 300; i++) if ((await call(us, `u${i}`)).overallCode === "OK") admitted++;
    // us goes quiet: a second later its unused prefetch goes back to the allocator.
    clock.advance(1001);
    await budgets.us.releaseIdle();
    for (let i = 0; i < 300; i++) if ((await call(eu, `v${i}`)).overallCode === "OK") admitted++;
    expect(admitted).toBe(1000);
    expect((await call(us, "late")).overallCode).toBe("OVER_LIMIT");
    // The next day starts with the full budget.
    clock.advance(DAY);
    expect((await call(eu, "limited", 2)).overallCode).toBe("OK");
    // user limited's per-minute limit (2) rejects the next request; its global hit is given back.
    const left = async () => (await call(eu, "probe", 0)).statuses[0]!.policies.find((p) => p.name === "edge.api_checkout")!.remaining;
    const before = await left();
    expect((await call(eu, "limited")).overallCode).toBe("OVER_LIMIT");
    expect(await left()).toBe(before);
    eu.close();
    us.close();
  });

  it("follows the failure policy when the allocator is unreachable", async () => {
    const clock = new ManualClock(DAY);
    const down = () => Promise.reject(new Error("ECONNREFUSED"));
    const svc = (failureMode: "unavailable" | "local") =>
      new RateLimitService(compiled(RULES), new MemoryStore(), clock, { globals: new GlobalBudgets({ client: "eu", source: down, clock, failureMode, instances: 4 }) });
    await expect(call(svc("unavailable"), "a")).rejects.toBeInstanceOf(StoreUnavailable);
    const local = svc("local");
    expect((await call(local, "a", 250)).overallCode).toBe("OK");
    expect((await call(local, "b", 1)).overallCode).toBe("OVER_LIMIT");
  });
});
