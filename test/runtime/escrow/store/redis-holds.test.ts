// The Redis store's holds go out in groups (runtime/escrow/store/redis.ts `hold`: holds and sale batches
// arriving while one batch script is in flight share the next): the cap is still checked hold by hold, in order, against
// everything before it in the same script; a hold that fails alone fails only its own caller.
import { afterAll, describe, expect, it } from "vitest";
import { RedisEscrowStore } from "../../../../runtime/escrow/store/redis.js";
import { REDIS_URL, deleteRedisPrefix, uniqueName } from "../servers.js";

const prefix = `mes:test:${uniqueName("holds")}:`;
/** Wait for MONITOR's asynchronous reports (a loaded machine delays them), at most 10 s. */
async function until(seen: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !seen(); i++) await new Promise((r) => setTimeout(r, 50));
}
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
        // The batch script: KEYS inv, leases, sales, buyers, then the operations as one JSON argument.
        if (/^eval(sha)?$/i.test(args[0] ?? "") && args[6] === s.keys("rush").buyers) sent.push((JSON.parse(args[7]!) as unknown[]).length);
      });
      const outs = await Promise.all(Array.from({ length: 40 }, (_, i) => s.hold("rush", { user: i % 2 ? "bob" : "ann", holdId: `r${i}`, qty: 1, cap: 7, expiresAtMs: 10_000, nowMs: 1 })));
      const granted = (user: string) => outs.filter((o, i) => o.ok && (i % 2 ? "bob" : "ann") === user).length;
      expect([granted("ann"), granted("bob")]).toEqual([7, 7]);
      // In order: the first seven of each buyer got theirs, every later one was refused with the cap's count.
      expect(outs.map((o) => o.ok)).toEqual(Array.from({ length: 40 }, (_, i) => i < 14));
      expect(outs[20]).toEqual({ ok: false, held: 7, bought: 0 });
      await until(() => sent.reduce((a, b) => a + b, 0) >= 40); // MONITOR reports asynchronously
      monitor.disconnect();
      // (The first script may go twice: EVALSHA, then EVAL when Redis does not know it yet.)
      expect(sent.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(40);
      expect(sent.length).toBeLessThan(40);
    } finally {
      await s.close();
    }
  });

  it("holds and sale batches of one turn share one script; an operation that fails fails alone; an ill-formed buyer id breaks nothing", async () => {
    const s = new RedisEscrowStore({ url: REDIS_URL, prefix });
    try {
      await s.createItem("mix", 100, {});
      const lease = (await s.acquire({ sku: "mix", region: "a", want: 10, nowMs: 1, leaseTtlMs: 60_000, fresh: true, reserved: 0, rate: 0, borrow: 0 }))!;
      const fence = { generation: lease.generation, epoch: lease.lease.epoch };
      await s.redis.hset(s.keys("mix").buyers, "mallory", "{not json");
      const monitor = await s.redis.duplicate().monitor();
      const scripts: number[] = [];
      monitor.on("monitor", (_t: string, args: string[]) => {
        // (MONITOR escapes non-ASCII bytes: count the operations rather than parse them.)
        if (/^eval(sha)?$/i.test(args[0] ?? "") && args[6] === s.keys("mix").buyers) scripts.push(args[7]!.match(/\[[01],"/g)?.length ?? 0);
      });
      const hold = (user: string, holdId: string) => s.hold("mix", { user, holdId, qty: 1, cap: 5, expiresAtMs: 10_000, nowMs: 1 });
      const [ann, sales, mallorySale, odd] = await Promise.allSettled([
        hold("ann", "a1"),
        s.recordSalesAt(
          "mix",
          "a",
          fence,
          [
            { saleId: "s1", qty: 2, user: "bob" },
            { saleId: "s2", qty: 8, user: "bob" },
          ],
          5,
          9,
        ),
        s.recordSalesAt("mix", "a", fence, [{ saleId: "s3", qty: 1, user: "mallory" }], 5, 10),
        hold("eve\ud800", "e1"),
      ]);
      expect(ann).toEqual({ status: "fulfilled", value: { ok: true } });
      expect(sales).toEqual({ status: "fulfilled", value: { outcomes: ["sold", "over-cap"], positions: [2, 0] } });
      expect(mallorySale.status).toBe("rejected");
      expect(String((mallorySale as PromiseRejectedResult).reason)).toMatch(/sale batch refused by Redis/);
      expect(odd).toEqual({ status: "fulfilled", value: { ok: true } });
      // The buyer id as Redis always stored it (UTF-8: a lone surrogate is U+FFFD).
      expect(await s.redis.hexists(s.keys("mix").buyers, "eve\ufffd")).toBe(1);
      expect((await s.audit("mix", 5))!.sold).toBe(2);
      await until(() => scripts.includes(4)); // MONITOR reports asynchronously
      monitor.disconnect();
      // All four operations in one script (the first may go twice: EVALSHA, then EVAL when Redis does not know it yet).
      expect(scripts.at(-1)).toBe(4);
      expect(scripts.length).toBeLessThanOrEqual(2);
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
