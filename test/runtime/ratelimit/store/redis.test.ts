import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../../runtime/common/clock.js";
import type { Algorithm } from "../../../../runtime/ratelimit/core/limit.js";
import type { ChargePolicy, Check, CheckResult, CounterLevel } from "../../../../runtime/ratelimit/core/request.js";
import { MemoryStore } from "../../../../runtime/ratelimit/store/memory.js";
import { counterKey, counterPath, counterTag, keySlot, redisKey } from "../../../../runtime/ratelimit/store/keys.js";
import { RedisStore } from "../../../../runtime/ratelimit/store/redis.js";
import { ResilientStore, StoreUnavailable, type FailureMode } from "../../../../runtime/ratelimit/store/resilient.js";
import type { RateLimitStore } from "../../../../runtime/ratelimit/store/port.js";
import { storeSuite } from "./suite.js";

// DB 2 and the `mrl:test:` prefix belong to the rate limiter's tests on the shared Redis.
const URL = "redis://127.0.0.1:6379/2";
const PREFIX = `mrl:test:${process.pid}:`;

afterAll(async () => {
  const r = new Redis(URL);
  const keys = await r.keys(`${PREFIX}*`);
  if (keys.length) await r.del(...keys);
  r.disconnect();
});

storeSuite("redis", () => new RedisStore({ url: URL, prefix: PREFIX, time: "caller" }), 30);

const once = (store: RateLimitStore, lv: CounterLevel, now = 0) => store.decide([{ levels: [lv], cost: 1, quota: false }], "independent", now).then((r) => r[0]!);

describe("redis store", () => {
  it("names a counter by its own path, and keeps a hierarchy's levels in one Cluster slot", async () => {
    const entries = [
      { key: "tenant", value: "acme" },
      { key: "user", value: "a|b=c{d}" },
    ];
    const leaf = counterPath("edge", entries);
    const root = counterPath("edge", entries, 1);
    expect(leaf).toBe("d=edge|tenant=acme|user=a%7cb%3dc%7bd%7d");
    expect(counterTag("edge", entries)).toBe(root);
    const limit = { algorithm: "fixed-window" as const, limit: 5, periodMs: 60_000 };
    const keys = [redisKey("mrl:", root, counterKey(leaf, limit)), redisKey("mrl:", root, counterKey(root, limit))];
    expect(new Set(keys.map(keySlot)).size).toBe(1);
    // Redis Cluster's published example: "123456789" hashes to 0x31C3; `{user1000}.following` shares user1000's slot.
    expect(keySlot("123456789")).toBe(0x31c3 % 16384);
    expect(keySlot("{user1000}.following")).toBe(keySlot("user1000"));
    const store = new RedisStore({ url: URL, prefix: PREFIX });
    const levels = [leaf, root].map((p): CounterLevel => ({ key: counterKey(p, limit), tag: root, limit, enforce: true }));
    await store.decide([{ levels, cost: 1, quota: false }], "independent", 0);
    const client = store.client as Redis;
    expect((await client.keys(`${PREFIX}{${root}}:*`)).sort()).toEqual(levels.map((l) => redisKey(PREFIX, root, l.key)).sort());
    await store.close();
  });

  it("takes time from Redis TIME: a caller's clock cannot move the window", async () => {
    const store = new RedisStore({ url: URL, prefix: PREFIX });
    const lv: CounterLevel = { key: `time-${process.pid}`, tag: "t", limit: { algorithm: "fixed-window", limit: 2, periodMs: 3_600_000 }, enforce: true };
    // Wildly different caller clocks still share one window: Redis decides the time.
    expect((await once(store, lv, 0)).allowed).toBe(true);
    expect((await once(store, lv, 9e12)).allowed).toBe(true);
    const third = await once(store, lv, 123);
    expect(third.allowed).toBe(false);
    expect(Math.abs(third.levels[0]!.decidedAt! - Date.now())).toBeLessThan(5_000);
    await store.close();
  });

  it("coalesces concurrent requests into few script calls and still admits exactly the limit", async () => {
    const store = new RedisStore({ url: URL, prefix: PREFIX, maxInFlight: 1 });
    const client = store.client as Redis;
    let calls = 0;
    const send = client.sendCommand.bind(client);
    client.sendCommand = ((cmd: { name: string }) => {
      if (/^eval/i.test(cmd.name)) calls++;
      return send(cmd as never);
    }) as typeof client.sendCommand;
    const lv: CounterLevel = { key: `batch-${process.pid}`, tag: "b", limit: { algorithm: "gcra", limit: 100, periodMs: 3_600_000, burst: 99 }, enforce: true };
    const answers = await Promise.all(Array.from({ length: 500 }, () => once(store, lv)));
    expect(answers.filter((a) => a.allowed)).toHaveLength(100);
    expect(calls).toBeLessThan(20);
    await store.close();
  });

  it("a batch of mixed requests (repeated shapes, both policies, shared counters) answers as one-by-one decisions", async () => {
    // One script call carries each distinct request shape once and repeats it in arrival order; the
    // answers must be exactly the memory store's for the same requests decided one after another.
    const store = new RedisStore({ url: URL, prefix: `${PREFIX}mix:`, time: "caller", maxInFlight: 1 });
    const memory = new MemoryStore();
    const L = (key: string, algorithm: Algorithm, limit: number, enforce = true): CounterLevel => ({ key, tag: key.split("/")[0]!, limit: { algorithm, limit, periodMs: 60_000 }, enforce });
    const hot = L("t/hot", "gcra", 40);
    const app = L("t/app", "fixed-window", 70);
    const shapes: { checks: Check[]; policy: ChargePolicy }[] = [
      { checks: [{ levels: [hot], cost: 1, quota: false }], policy: "independent" },
      { checks: [{ levels: [hot, app], cost: 2, quota: false }], policy: "atomic" },
      {
        checks: [
          { levels: [L("t/log", "sliding-log", 15)], cost: 1, quota: false },
          { levels: [app], cost: 1, quota: false },
        ],
        policy: "independent",
      },
      { checks: [{ levels: [L("t/tb", "token-bucket", 25), L("t/shadow", "fixed-window", 3, false)], cost: 3, quota: true }], policy: "atomic" },
      { checks: [{ levels: [app], cost: 0, quota: false }], policy: "independent" },
    ];
    let seed = 11;
    const order = Array.from({ length: 400 }, () => (seed = (seed * 48271) % 2147483647) % 10).map((r) => (r < 6 ? 0 : r - 5));
    const T = 7_000_000;
    const got = await Promise.all(order.map((k) => store.decide(shapes[k]!.checks, shapes[k]!.policy, T)));
    const want = order.map((k) => memory.decideChecksSync(shapes[k]!.checks, shapes[k]!.policy, T));
    const strip = (rs: CheckResult[]) =>
      rs.map((r) => ({ ...r, levels: r.levels.map(({ decidedAt: _, ...d }) => ({ ...d, retryAfterMs: Math.ceil(d.retryAfterMs - 1e-9), resetAfterMs: Math.ceil(d.resetAfterMs - 1e-9) })) }));
    expect(strip(got.flat()).length).toBeGreaterThan(0);
    expect(got.map(strip)).toEqual(want.map(strip));
    // Every shape was both admitted and refused at some point: the batch crossed the limits.
    expect(new Set(got.map((r) => r.every((c) => c.allowed)))).toEqual(new Set([true, false]));
    await store.close();
  });
});

describe("failure policies", () => {
  const dead = () => new RedisStore({ url: "redis://127.0.0.1:1/2", prefix: PREFIX, commandTimeoutMs: 200, redisOptions: { maxRetriesPerRequest: 0, retryStrategy: () => null } });
  const lv: CounterLevel = { key: "u", tag: "u", limit: { algorithm: "fixed-window", limit: 10, periodMs: 1000 }, enforce: true };
  const mk = (mode: FailureMode, extra = {}) => new ResilientStore(dead(), { mode, clock: new ManualClock(0), probeAfterMs: 60_000, ...extra });

  it("unavailable (the default) fails the request so Envoy's failure_mode_deny decides", async () => {
    const store = mk("unavailable");
    await expect(once(store, lv)).rejects.toBeInstanceOf(StoreUnavailable);
    expect(store.report()).toMatchObject({ degraded: true, outages: 1, decisionsWithoutStore: 0 });
    await store.close();
  });

  it("local falls back to a share of the limit and reports the overage that allows", async () => {
    const store = mk("local", { instances: 4, localShare: 0.5 });
    const answers = [];
    for (let i = 0; i < 8; i++) answers.push((await once(store, lv)).allowed);
    expect(answers.filter(Boolean)).toHaveLength(5);
    expect(store.report()).toMatchObject({ degraded: true, outages: 1, decisionsWithoutStore: 8, admittedWithoutStore: 5, overageBoundPerPeriod: 10 });
    await store.close();
  });

  it("closed rejects, open admits and reports an unbounded overage", async () => {
    const closed = mk("closed");
    expect((await once(closed, lv)).levels[0]).toMatchObject({ allowed: false, retryAfterMs: 60_000 });
    const open = mk("open");
    expect((await once(open, lv)).allowed).toBe(true);
    expect(open.report().overageBoundPerPeriod).toBe(Infinity);
    await closed.close();
    await open.close();
  });

  it("goes back to the store once it answers again, probing only every probeAfterMs", async () => {
    const clock = new ManualClock(0);
    let up = false;
    let calls = 0;
    const primary: RateLimitStore = {
      decide: (checks) => {
        calls++;
        return up ? Promise.resolve(checks.map(() => ({ allowed: true, charged: true, levels: [] }))) : Promise.reject(new Error("ECONNREFUSED"));
      },
      peek: () => Promise.reject(new Error("no")),
      reset: () => Promise.resolve(false),
      close: () => Promise.resolve(),
    };
    const store = new ResilientStore(primary, { mode: "closed", clock, probeAfterMs: 1000 });
    expect((await once(store, lv)).allowed).toBe(false);
    expect((await once(store, lv)).allowed).toBe(false);
    expect(calls).toBe(1);
    up = true;
    clock.advance(999);
    expect((await once(store, lv)).allowed).toBe(false);
    clock.advance(1);
    expect((await once(store, lv)).allowed).toBe(true);
    expect(store.report()).toMatchObject({ degraded: false, outages: 1, decisionsWithoutStore: 3, lastError: "ECONNREFUSED" });
  });
});
