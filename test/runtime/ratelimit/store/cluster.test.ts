/**
 * The store on a real 3-master Redis Cluster (loopback, temp dir, started once for this file): the
 * shared suite, plus what only a Cluster can show — requests whose descriptors live in different slots.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CounterLevel } from "../../../../runtime/ratelimit/core/request.js";
import { keySlot, redisKey } from "../../../../runtime/ratelimit/store/keys.js";
import { RedisStore } from "../../../../runtime/ratelimit/store/redis.js";
import { startRedisCluster, type RedisCluster } from "../redis-cluster.js";
import { storeSuite } from "./suite.js";

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

storeSuite("redis cluster", () => new RedisStore({ cluster: cluster.nodes, prefix: "mrl:", time: "caller" }), 15);

describe("redis cluster store", () => {
  const lv = (tag: string, limit = 2): CounterLevel => ({ key: `${tag}:c`, tag, limit: { algorithm: "fixed-window", limit, periodMs: 3_600_000 }, enforce: true });

  it("decides descriptors in different slots, and refunds an atomic OVER_LIMIT request", async () => {
    const store = new RedisStore({ cluster: cluster.nodes, prefix: "mrl:" });
    // Find tags on three different slots' owners: the request's checks then need three calls.
    const tags = ["a", "b", "c", "d", "e", "f", "g", "h"].map((t) => `d=x|k=${t}`);
    const slots = new Set(tags.map((t) => keySlot(redisKey("mrl:", t, "x"))));
    expect(slots.size).toBeGreaterThan(3);
    const [a, b] = [lv(tags[0]!, 2), lv(tags[1]!, 1)];
    const req = () =>
      store.decide(
        [
          { levels: [a], cost: 1, quota: false },
          { levels: [b], cost: 1, quota: false },
        ],
        "atomic",
        0,
      );
    expect((await req()).map((r) => r.charged)).toEqual([true, true]);
    // b is full: the request is OVER_LIMIT and a's charge (kept by its own slot's call) is refunded.
    const second = await req();
    expect(second.map((r) => [r.allowed, r.charged])).toEqual([
      [true, false],
      [false, false],
    ]);
    expect(second[0]!.levels[0]!.remaining).toBe(1);
    expect((await store.peek(a, 0)).remaining).toBe(1);
    // Independent charging keeps a's hit, as envoyproxy/ratelimit does.
    const third = await store.decide(
      [
        { levels: [a], cost: 1, quota: false },
        { levels: [b], cost: 1, quota: false },
      ],
      "independent",
      0,
    );
    expect(third.map((r) => r.charged)).toEqual([true, false]);
    expect((await store.peek(a, 0)).remaining).toBe(0);
    await store.close();
  });
});
