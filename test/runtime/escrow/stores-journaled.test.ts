// The store suite on Redis + PostgreSQL journal, and what the journal adds: acknowledged sales survive
// Redis losing everything, and a sale Redis recorded but the journal missed is backfilled.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JournaledEscrowStore } from "../../../runtime/escrow/stores/journaled.js";
import { describeEscrowStore } from "./store-suite.js";
import { PG_URL, REDIS_URL, deleteRedisPrefix, dropPgSchema, ensurePgDatabase, uniqueName } from "./servers.js";

const prefix = `mes:test:${uniqueName("journal")}:`;
const schema = uniqueName("journal");
beforeAll(ensurePgDatabase);
afterAll(async () => {
  await deleteRedisPrefix(prefix);
  await dropPgSchema(schema);
});

const open = () => new JournaledEscrowStore({ redisUrl: REDIS_URL, postgresUrl: PG_URL, prefix, schema });
describeEscrowStore("redis+postgres journal", open, { numRuns: 20 });

describe("the PostgreSQL journal behind Redis", () => {
  it("acknowledged sales survive Redis losing the item: it is rebuilt with them taken out of the pool", async () => {
    const s = open();
    await s.createItem("phoenix", 10, {}, 0);
    const lease = (await s.acquire({ sku: "phoenix", region: "a", want: 6, nowMs: 1, leaseTtlMs: 1000, fresh: true, reserved: 0 }))!;
    expect(await s.recordSales("phoenix", "a", lease.lease.epoch, [{ saleId: "x1", qty: 2 }, { saleId: "x2", qty: 1 }], 2)).toEqual(["sold", "sold"]);
    await deleteRedisPrefix(`${prefix}{phoenix}`); // Redis restarts empty
    expect(await s.audit("phoenix", 3)).toBeNull();
    expect(await s.createItem("phoenix", 10, {}, 3)).toBe("exists");
    expect(await s.audit("phoenix", 3)).toMatchObject({ total: 10, pool: 7, sold: 3 });
    expect(await s.findSale("phoenix", "x1")).toMatchObject({ qty: 2, region: "a" });
    await s.close();
  });

  it("a sale Redis recorded but the journal missed (crash between the two) is backfilled on the next cycle", async () => {
    const s = open();
    await s.createItem("gap", 5, {}, 0);
    const lease = (await s.acquire({ sku: "gap", region: "a", want: 5, nowMs: 1, leaseTtlMs: 1000, fresh: true, reserved: 0 }))!;
    // Simulate the crash: the Redis half only.
    await s.redis.recordSales("gap", "a", lease.lease.epoch, [{ saleId: "lost", qty: 1 }], 2);
    expect(await s.backfill("gap")).toBe(1);
    expect(await s.backfill("gap")).toBe(0);
    await deleteRedisPrefix(`${prefix}{gap}`);
    await s.createItem("gap", 5, {}, 3);
    expect(await s.audit("gap", 3)).toMatchObject({ pool: 4, sold: 1 });
    await s.close();
  });
});
