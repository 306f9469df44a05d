// The Redis store's holds go out in groups (runtime/escrow/store/redis.ts `hold`: holds arriving while
// one hold script is in flight share the next): the cap is still checked hold by hold, in order, against
// everything before it in the same script; a hold that fails alone fails only its own caller.
import { afterAll, describe, expect, it } from "vitest";
import { RedisEscrowStore } from "../../../../runtime/escrow/store/redis.js";
import { REDIS_URL, deleteRedisPrefix, uniqueName } from "../servers.js";

const prefix = `mes:test:${uniqueName("holds")}:`;
afterAll(() => deleteRedisPrefix(prefix));

describe("RedisEscrowStore holds, grouped", () => {
  it("holds sent together are checked in order against the cap: exactly cap units of one buyer are held, whatever the grouping", async () => {
    const s = new RedisEscrowStore({ url: REDIS_URL, prefix });
    try {
      await s.createItem("rush", 100, {});
      // Watch the scripts that reach Redis: 40 concurrent holds must not be 40 round trips.
      const monitor = await s.redis.duplicate().monitor();
      const sent: number[] = [];
      monitor.on("monitor", (_t: string, args: string[]) => {
        if (/^eval(sha)?$/i.test(args[0] ?? "") && args[3] === s.keys("rush").buyers) sent.push(Number(args[4]));
      });
      const outs = await Promise.all(Array.from({ length: 40 }, (_, i) => s.hold("rush", { user: i % 2 ? "bob" : "ann", holdId: `r${i}`, qty: 1, cap: 7, expiresAtMs: 10_000, nowMs: 1 })));
      const granted = (user: string) => outs.filter((o, i) => o.ok && (i % 2 ? "bob" : "ann") === user).length;
      expect([granted("ann"), granted("bob")]).toEqual([7, 7]);
      // In order: the first seven of each buyer got theirs, every later one was refused with the cap's count.
      expect(outs.map((o) => o.ok)).toEqual(Array.from({ length: 40 }, (_, i) => i < 14));
      expect(outs[20]).toEqual({ ok: false, held: 7, bought: 0 });
      await new Promise((r) => setTimeout(r, 200)); // MONITOR reports asynchronously
      monitor.disconnect();
      // (The first script may go twice: EVALSHA, then EVAL when Redis does not know it yet.)
      expect(sent.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(40);
      expect(sent.length).toBeLessThan(40);
    } finally {
      await s.close();
    }
  });

  it("a hold whose buyer record is unreadable fails alone, loudly; the holds sent with it stand", async () => {
    const s = new RedisEscrowStore({ url: REDIS_URL, prefix });
    try {
      await s.createItem("rot", 100, {});
      await s.redis.hset(s.keys("rot").buyers, "mallory", "{not json");
      const hold = (user: string, holdId: string) => s.hold("rot", { user, holdId, qty: 1, cap: 4, expiresAtMs: 10_000, nowMs: 1 });
      const [a, m, b] = await Promise.allSettled([hold("ann", "a1"), hold("mallory", "m1"), hold("bob", "b1")]);
      expect(a).toEqual({ status: "fulfilled", value: { ok: true } });
      expect(b).toEqual({ status: "fulfilled", value: { ok: true } });
      expect(m.status).toBe("rejected");
      expect(String((m as PromiseRejectedResult).reason)).toMatch(/hold refused by Redis/);
      // Nothing was written for the failed hold; the others are held.
      expect(await s.redis.hget(s.keys("rot").buyers, "mallory")).toBe("{not json");
      expect(JSON.parse((await s.redis.hget(s.keys("rot").buyers, "ann"))!)).toMatchObject({ h: { a1: [1, 10_000] } });
    } finally {
      await s.close();
    }
  });
});
