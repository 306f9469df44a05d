// Redis losing part of an item (#17) — one of its keys gone while the others stay, as an allkeys-* maxmemory eviction
// policy or an operator's DEL does; no restart, so the run id says nothing. Every Redis script keeps the item's account
// balanced (pool + Σ held + sold = total), so an account that does not balance is a discontinuity: rebuilt from the
// journal, not left with units that no region can ever sell.
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JournaledEscrowStore } from "../../../../runtime/escrow/store/journaled.js";
import { conservationDrift, type Fence } from "../../../../runtime/escrow/store/port.js";
import { PG_URL, REDIS_URL, deleteRedisPrefix, dropPgSchema, ensurePgDatabase, uniqueName } from "../servers.js";

const prefix = `mes:test:${uniqueName("jevict")}:`;
const schema = uniqueName("jevict");
beforeAll(ensurePgDatabase);
afterAll(async () => {
  await deleteRedisPrefix(prefix);
  await dropPgSchema(schema);
});

describe("journaled store: Redis loses one key of an item", () => {
  it("the leases hash evicted: the units the leases held are not lost — Redis is rebuilt, every unsold unit back in the pool", async () => {
    const s = new JournaledEscrowStore({ redisUrl: REDIS_URL, postgresUrl: PG_URL, prefix, schema });
    await s.createItem("evicted", 10, {}, 0);
    const r = (await s.acquire({ sku: "evicted", region: "a", want: 6, nowMs: 1, leaseTtlMs: 60_000, fresh: true, reserved: 0, rate: 0, borrow: 0 }))!;
    const fence: Fence = { generation: r.generation, epoch: r.lease.epoch };
    expect(await s.recordSales("evicted", "a", fence, [{ saleId: "e1", qty: 2, user: "ann" }], 2, 0)).toEqual(["sold"]);
    expect((await s.verify("evicted", 3))!.action).toBe("none");
    const raw = new Redis(REDIS_URL);
    await raw.del(s.redis.keys("evicted").leases); // 4 units held by region a's lease vanish with it
    await raw.quit();
    const v = (await s.verify("evicted", 4))!;
    expect(v.action).toBe("rebuilt");
    const audit = (await s.audit("evicted", 5))!;
    expect(conservationDrift(audit)).toBe(0);
    expect(audit).toMatchObject({ total: 10, sold: 2, pool: 8 });
    expect((await s.verify("evicted", 6))!.action).toBe("none");
    expect(await s.findSale("evicted", "e1")).toMatchObject({ qty: 2 });
    await s.close();
  });

  it("the refunds set evicted: a refund is not applied to Redis a second time", async () => {
    const s = new JournaledEscrowStore({ redisUrl: REDIS_URL, postgresUrl: PG_URL, prefix, schema });
    await s.createItem("evicted-refunds", 10, {}, 0);
    const r = (await s.acquire({ sku: "evicted-refunds", region: "a", want: 6, nowMs: 1, leaseTtlMs: 60_000, fresh: true, reserved: 0, rate: 0, borrow: 0 }))!;
    const fence: Fence = { generation: r.generation, epoch: r.lease.epoch };
    expect(
      await s.recordSales(
        "evicted-refunds",
        "a",
        fence,
        [
          { saleId: "f1", qty: 2, user: "ann" },
          { saleId: "f2", qty: 1, user: "bob" },
        ],
        2,
        0,
      ),
    ).toEqual(["sold", "sold"]);
    expect(await s.refund("evicted-refunds", "f1", 3)).toBe("refunded");
    const raw = new Redis(REDIS_URL);
    await raw.del(s.redis.keys("evicted-refunds").refunds);
    await raw.quit();
    await s.verify("evicted-refunds", 4);
    // Sold 1 (f2), as the journal says — not −1 with f1's two units given back twice.
    expect(await s.audit("evicted-refunds", 5)).toMatchObject({ total: 10, sold: 1 });
    expect((await s.verify("evicted-refunds", 6))!.action).toBe("none");
    expect(await s.audit("evicted-refunds", 7)).toMatchObject({ sold: 1 });
    await s.close();
  });

  it("the sales hash evicted: the item is rebuilt (a retried commit could otherwise sell again)", async () => {
    const s = new JournaledEscrowStore({ redisUrl: REDIS_URL, postgresUrl: PG_URL, prefix, schema });
    await s.createItem("evicted-sales", 10, {}, 0);
    const r = (await s.acquire({ sku: "evicted-sales", region: "a", want: 6, nowMs: 1, leaseTtlMs: 60_000, fresh: true, reserved: 0, rate: 0, borrow: 0 }))!;
    const fence: Fence = { generation: r.generation, epoch: r.lease.epoch };
    expect(await s.recordSales("evicted-sales", "a", fence, [{ saleId: "g1", qty: 2, user: "ann" }], 2, 0)).toEqual(["sold"]);
    const raw = new Redis(REDIS_URL);
    await raw.del(s.redis.keys("evicted-sales").sales);
    await raw.quit();
    expect((await s.verify("evicted-sales", 3))!.action).toBe("rebuilt");
    expect(await s.audit("evicted-sales", 4)).toMatchObject({ total: 10, sold: 2, pool: 8 });
    expect((await s.verify("evicted-sales", 5))!.action).toBe("none");
    await s.close();
  });
});
