import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { hierarchyKeys, keySlot } from "../../../../runtime/ratelimit/store/keys.js";
import { RedisStore } from "../../../../runtime/ratelimit/store/redis.js";
import { ResilientStore } from "../../../../runtime/ratelimit/store/resilient.js";
import { storeSuite } from "./suite.js";

// DB 2 and the `mrl:` prefix belong to the rate limiter's tests on the shared Redis.
const URL = "redis://127.0.0.1:6379/2";
const PREFIX = `mrl:test:${process.pid}:`;

afterAll(async () => {
  const r = new Redis(URL);
  const keys = await r.keys(`${PREFIX}*`);
  if (keys.length) await r.del(...keys);
  r.disconnect();
});

storeSuite("redis", () => new RedisStore({ url: URL, prefix: PREFIX }), 40);

describe("redis store", () => {
  it("keeps a hierarchy in one Cluster slot", async () => {
    const keys = hierarchyKeys("mrl:", ["user:alice", "app:checkout", "tenant:acme"]);
    expect(keys[0]).toBe("mrl:{tenant:acme}:user:alice");
    expect(new Set(keys.map(keySlot)).size).toBe(1);
    // Redis Cluster's published example: "123456789" hashes to 0x31C3; `{user1000}.following` shares user1000's slot.
    expect(keySlot("123456789")).toBe(0x31c3 % 16384);
    expect(keySlot("{user1000}.following")).toBe(keySlot("user1000"));
    // The real Redis stores what the script writes under those keys.
    const store = new RedisStore({ url: URL, prefix: PREFIX });
    await store.decide([{ key: "user:alice", limit: { algorithm: "gcra", limit: 5, periodMs: 1000 } }, { key: "tenant:acme", limit: { algorithm: "fixed-window", limit: 5, periodMs: 1000 } }], 1, Date.now());
    expect((await store.redis.keys(`${PREFIX}{tenant:acme}:*`)).sort()).toEqual([`${PREFIX}{tenant:acme}:tenant:acme`, `${PREFIX}{tenant:acme}:user:alice`]);
    await store.close();
  });

  it("falls back to a local limiter when Redis is unreachable and reports the overage it allows", async () => {
    const clock = new ManualClock(0);
    const dead = new RedisStore({ url: "redis://127.0.0.1:1/2", prefix: PREFIX, commandTimeoutMs: 200, redisOptions: { maxRetriesPerRequest: 0, retryStrategy: () => null } });
    const store = new ResilientStore(dead, { mode: "local", instances: 4, localShare: 0.5, clock, probeAfterMs: 60_000 });
    const level = { key: "u", limit: { algorithm: "fixed-window" as const, limit: 10, periodMs: 1000 } };
    const answers = [];
    for (let i = 0; i < 8; i++) answers.push((await store.decide([level], 1, 0)).allowed);
    expect(answers.filter(Boolean)).toHaveLength(5);
    expect(store.report()).toMatchObject({ degraded: true, outages: 1, decisionsWithoutStore: 8, admittedWithoutStore: 5, overageBoundPerPeriod: 10 });
    await store.close();
  });

  it("fails closed or open as configured", async () => {
    const clock = new ManualClock(0);
    const mk = (mode: "fail-open" | "fail-closed") =>
      new ResilientStore(new RedisStore({ url: "redis://127.0.0.1:1/2", commandTimeoutMs: 200, redisOptions: { maxRetriesPerRequest: 0, retryStrategy: () => null } }), { mode, clock, probeAfterMs: 1000 });
    const level = { key: "u", limit: { algorithm: "gcra" as const, limit: 1, periodMs: 1000 } };
    const closed = mk("fail-closed");
    expect(await closed.decide([level], 1, 0)).toMatchObject({ allowed: false, retryAfterMs: 1000 });
    const open = mk("fail-open");
    expect((await open.decide([level], 1, 0)).allowed).toBe(true);
    expect((await open.decide([level], 1, 0)).allowed).toBe(true);
    expect(open.report().overageBoundPerPeriod).toBe(Infinity);
    await closed.close();
    await open.close();
  });
});

describe("resilient store recovery", () => {
  it("goes back to the store once it answers again, probing only every probeAfterMs", async () => {
    const clock = new ManualClock(0);
    let up = false;
    let calls = 0;
    const primary = {
      decide: () => {
        calls++;
        return up ? Promise.resolve({ allowed: true, limit: 1, remaining: 0, retryAfterMs: 0, resetAfterMs: 0, levels: [], blockedBy: -1 }) : Promise.reject(new Error("ECONNREFUSED"));
      },
      close: () => Promise.resolve(),
    };
    const store = new ResilientStore(primary, { mode: "fail-closed", clock, probeAfterMs: 1000 });
    const level = { key: "k", limit: { algorithm: "gcra" as const, limit: 1, periodMs: 1000 } };
    expect((await store.decide([level], 1, 0)).allowed).toBe(false);
    expect((await store.decide([level], 1, 0)).allowed).toBe(false);
    expect(calls).toBe(1);
    up = true;
    clock.advance(999);
    expect((await store.decide([level], 1, 0)).allowed).toBe(false);
    clock.advance(1);
    expect((await store.decide([level], 1, 0)).allowed).toBe(true);
    expect(store.report()).toMatchObject({ degraded: false, outages: 1, decisionsWithoutStore: 3, lastError: "ECONNREFUSED" });
  });
});
