// The store suite on Redis + the PostgreSQL journal, and what the journal adds: acknowledged sales
// survive Redis losing or rolling back the item (it is rebuilt under a new generation, every old lease
// fenced off), a sale Redis recorded but the journal missed is journaled, and PostgreSQL itself
// refuses a batch that would sell past the total. (The same faults against a real redis-server that
// is killed and restarted: test/runtime/escrow/faults/redis.test.ts.)
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JournaledEscrowStore } from "../../../../runtime/escrow/store/journaled.js";
import type { AcquireRequest, Fence } from "../../../../runtime/escrow/store/port.js";
import { describeEscrowStore } from "./suite.js";
import { PG_URL, REDIS_URL, deleteRedisPrefix, dropPgSchema, ensurePgDatabase, uniqueName } from "../servers.js";

const prefix = `mes:test:${uniqueName("journal")}:`;
const schema = uniqueName("journal");
beforeAll(ensurePgDatabase);
afterAll(async () => {
  await deleteRedisPrefix(prefix);
  await dropPgSchema(schema);
});

const open = () => new JournaledEscrowStore({ redisUrl: REDIS_URL, postgresUrl: PG_URL, prefix, schema });
describeEscrowStore("redis+postgres journal", open, { numRuns: 15 });

const acquire = (s: JournaledEscrowStore, sku: string, want: number, nowMs: number, extra: Partial<AcquireRequest> = {}) =>
  s.acquire({ sku, region: "a", want, nowMs, leaseTtlMs: 60_000, fresh: true, reserved: 0, rate: 0, borrow: 0, ...extra });
const fenceOf = (r: { generation: string; lease: { epoch: number } }): Fence => ({ generation: r.generation, epoch: r.lease.epoch });
const sale = (saleId: string, qty = 1, user = "u") => ({ saleId, qty, user });

/** What an RDB restore does to one SKU: put its keys back as they were when `snapshot` was taken. */
async function snapshot(s: JournaledEscrowStore, sku: string): Promise<() => Promise<void>> {
  const r = new Redis(REDIS_URL);
  const keys = Object.values(s.redis.keys(sku));
  const dumps = await Promise.all(keys.map((k) => r.dumpBuffer(k)));
  return async () => {
    for (const [i, k] of keys.entries()) {
      await r.del(k);
      if (dumps[i]) await r.restore(k, 0, dumps[i]!);
    }
    await r.quit();
  };
}

describe("the PostgreSQL journal behind Redis", () => {
  it("Redis losing the item: rebuilt from the journal under a new generation; the old lease is void", async () => {
    const s = open();
    await s.createItem("phoenix", 10, {}, 0);
    const lease = (await acquire(s, "phoenix", 6, 1))!;
    expect(await s.recordSales("phoenix", "a", fenceOf(lease), [sale("x1", 2, "ann"), sale("x2")], 2, 0)).toEqual(["sold", "sold"]);
    await deleteRedisPrefix(`${prefix}{phoenix}`); // Redis restarts empty
    // The next operation finds nothing, verifies, and rebuilds: sold stays sold.
    const audit = (await s.audit("phoenix", 3))!;
    expect(audit).toMatchObject({ total: 10, pool: 7, sold: 3, leases: {} });
    expect(audit.generation).not.toBe(lease.generation);
    const renewed = (await acquire(s, "phoenix", 0, 4, { fresh: false, fence: fenceOf(lease) }))!;
    expect(renewed.lost).toBe(true);
    expect(await s.recordSales("phoenix", "a", fenceOf(lease), [sale("x3")], 5, 0)).toEqual(["lease-lost"]);
    expect(await s.findSale("phoenix", "x1")).toMatchObject({ qty: 2, region: "a", user: "ann" });
    // The buyer's units bought survive the rebuild too: the cap still counts them.
    expect(await s.hold("phoenix", { user: "ann", holdId: "h", qty: 3, cap: 4, expiresAtMs: 100, nowMs: 5 })).toEqual({ ok: false, held: 0, bought: 2 });
    await s.close();
  });

  it("Redis rolled back to an earlier snapshot: the journal refuses the positions it sells again, and Redis is rebuilt", async () => {
    const s = open();
    await s.createItem("rollback", 5, {}, 0);
    const lease = (await acquire(s, "rollback", 5, 1))!;
    expect(await s.recordSales("rollback", "a", fenceOf(lease), [sale("r1")], 2, 0)).toEqual(["sold"]);
    const restore = await snapshot(s, "rollback");
    expect(await s.recordSales("rollback", "a", fenceOf(lease), [sale("r2"), sale("r3")], 3, 0)).toEqual(["sold", "sold"]);
    await restore(); // Redis forgets r2 and r3: it thinks 1 sold, 4 held
    // Before anyone verifies, the region sells again: Redis agrees, the journal does not.
    expect(await s.recordSales("rollback", "a", fenceOf(lease), [sale("r4"), sale("r5"), sale("r6")], 4, 0)).toEqual(["lease-lost", "lease-lost", "lease-lost"]);
    const audit = (await s.audit("rollback", 5))!;
    expect(audit).toMatchObject({ sold: 3, pool: 2 });
    expect(await s.findSale("rollback", "r2")).not.toBeNull();
    expect(await s.findSale("rollback", "r4")).toBeNull();
    await s.close();
  });

  it("a rollback with no sale since is caught by verify's watermark, before anyone sells", async () => {
    const s = open();
    await s.createItem("watermark", 5, {}, 0);
    const lease = (await acquire(s, "watermark", 5, 1))!;
    const restore = await snapshot(s, "watermark");
    await s.recordSales("watermark", "a", fenceOf(lease), [sale("w1", 2)], 2, 0);
    await restore();
    const v = (await s.verify("watermark", 3))!;
    expect(v.action).toBe("rebuilt");
    expect(v.reason).toMatch(/rolled back: it has issued sale positions up to 0, the journal holds sales up to 2/);
    expect(await s.audit("watermark", 3)).toMatchObject({ sold: 2, pool: 3 });
    expect((await s.verify("watermark", 4))!.action).toBe("none");
    await s.close();
  });

  it("a sale Redis recorded but the journal missed (a crash between the two) is journaled by the next verify", async () => {
    const s = open();
    await s.createItem("gap", 5, {}, 0);
    const lease = (await acquire(s, "gap", 5, 1))!;
    await s.verify("gap", 1);
    await s.redis.recordSales("gap", "a", fenceOf(lease), [sale("lost")], 2, 0); // the Redis half only
    expect((await s.verify("gap", 3))!.action).toBe("none"); // it may still be in flight
    const v = (await s.verify("gap", 4))!;
    expect(v).toMatchObject({ action: "backfilled" });
    expect(await s.findSale("gap", "lost")).toMatchObject({ qty: 1 });
    expect((await s.verify("gap", 5))!.action).toBe("none");
    await s.close();
  });

  it("a refund is recorded in the journal first; one Redis missed is applied by verify", async () => {
    const s = open();
    await s.createItem("refund", 5, {}, 0);
    const lease = (await acquire(s, "refund", 5, 1))!;
    await s.recordSales("refund", "a", fenceOf(lease), [sale("f1", 2)], 2, 0);
    const restore = await snapshot(s, "refund");
    expect(await s.refund("refund", "f1", 3)).toBe("refunded");
    await restore(); // Redis forgets the refund (the journal has it)
    expect((await s.verify("refund", 4))!.action).toBe("backfilled");
    expect(await s.audit("refund", 5)).toMatchObject({ sold: 0, pool: 2 });
    expect(await s.refund("refund", "f1", 6)).toBe("already-refunded");
    await s.close();
  });

  it("sale batches from several regions in flight at once are group-committed: fewer journal writes, each sale with its own region and epoch", async () => {
    const s = open();
    await s.createItem("group", 100, {}, 0);
    const a = (await acquire(s, "group", 50, 1))!;
    const b = (await acquire(s, "group", 50, 1, { region: "b" }))!;
    const writes: string[] = [];
    const query = s.pool.query.bind(s.pool) as (...args: unknown[]) => Promise<unknown>;
    (s.pool as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = (...args: unknown[]) => {
      if (typeof args[0] === "string" && /journal_(sale_)?batch\(/.test(args[0])) writes.push(args[0]);
      return query(...args);
    };
    const batches = Array.from({ length: 12 }, (_, i) =>
      i % 2 === 0 ? s.recordSales("group", "a", fenceOf(a), [sale(`a${i}`, 1, "ann")], 2, 0) : s.recordSales("group", "b", fenceOf(b), [sale(`b${i}`, 2, "bob")], 3, 0),
    );
    expect((await Promise.all(batches)).flat()).toEqual(Array(12).fill("sold"));
    expect(writes.length).toBeLessThan(12);
    expect(await s.findSale("group", "a4")).toMatchObject({ region: "a", user: "ann", qty: 1, atMs: 2 });
    expect(await s.findSale("group", "b5")).toMatchObject({ region: "b", user: "bob", qty: 2, atMs: 3 });
    const epochs = (await s.pool.query(`SELECT region, array_agg(DISTINCT epoch) AS e FROM ${schema}.journal_sales WHERE sku = 'group' GROUP BY region ORDER BY region`)).rows;
    expect(epochs).toEqual([
      { region: "a", e: [String(a.lease.epoch)] },
      { region: "b", e: [String(b.lease.epoch)] },
    ]);
    expect(await s.audit("group", 4)).toMatchObject({ sold: 18 });
    expect((await s.verify("group", 5))!.action).toBe("none");
    await s.close();
  });

  it("journaling a batch looks its sales up by key: it does not read every sale of the SKU", async () => {
    const s = open();
    await s.createItem("many", 5000, {}, 0);
    const c = await s.pool.connect();
    try {
      const gen = (await c.query(`SELECT gen FROM ${schema}.journal_items WHERE sku = 'many'`)).rows[0].gen as string;
      const batch = (from: number, n: number) => {
        const ids = Array.from({ length: n }, (_, i) => `m${from + i}`);
        return c.query(`SELECT ${schema}.journal_batch('many', $1, 'a', 1, 0, $2, $3, $4, $5) AS v`, [gen, ids, ids.map(() => 1), ids.map(() => "u"), ids.map((_, i) => from + i)]);
      };
      for (let i = 1; i <= 3000; i += 500) expect((await batch(i, 500)).rows[0].v).toBe("ok");
      await c.query("BEGIN");
      expect((await batch(3001, 4)).rows[0].v).toBe("ok");
      const read = (await c.query(`SELECT seq_tup_read + COALESCE(idx_tup_fetch, 0) AS n FROM pg_stat_xact_user_tables WHERE schemaname = $1 AND relname = 'journal_sales'`, [schema])).rows[0];
      await c.query("COMMIT");
      // A key lookup per sale and a few position neighbours, not the 3,000 sales already journaled.
      expect(Number(read.n)).toBeLessThan(100);
    } finally {
      c.release();
    }
    await s.close();
  });

  it("PostgreSQL refuses to journal past the total, whatever Redis says", async () => {
    const s = open();
    await s.createItem("cap", 2, {}, 0);
    const lease = (await acquire(s, "cap", 2, 1))!;
    await s.recordSales("cap", "a", fenceOf(lease), [sale("c1", 2)], 2, 0);
    const c = await s.pool.connect();
    await expect(c.query(`SELECT ${schema}.journal_batch('cap', $1, 'a', 1, 3, ARRAY['c9'], ARRAY[1]::bigint[], ARRAY['u'], ARRAY[9]::bigint[])`, [lease.generation])).rejects.toMatchObject({
      code: "ME001",
    });
    c.release();
    await s.close();
  });
});
