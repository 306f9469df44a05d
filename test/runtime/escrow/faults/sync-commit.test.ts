/**
 * A database whose default is `synchronous_commit = off` (a common tuning; set per database or role, where the escrow
 * service does not see it) must not make acknowledged sales losable (#17): an off commit returns before its WAL is
 * flushed or sent to the synchronous standby, so a kill -9 of the primary and a failover right after the ack lose it.
 * The ledger store's sales and refunds commit synchronously whatever the default; its buyer holds (by design) do not.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { PostgresEscrowStore } from "../../../../runtime/escrow/store/postgres.js";
import { PrivatePostgres } from "./private-postgres.js";

let pgp: PrivatePostgres;

beforeAll(async () => {
  pgp = await PrivatePostgres.start();
  await pgp.createDatabase("escrow");
  const c = new pg.Client({ connectionString: pgp.url("escrow") });
  await c.connect();
  await c.query("ALTER DATABASE escrow SET synchronous_commit = off");
  await c.end();
}, 120_000);
afterAll(async () => {
  await pgp?.stop();
});

describe("a database defaulting to synchronous_commit = off", () => {
  it("an acknowledged sale and refund survive a kill -9 of the primary and promotion of the standby right after the ack", async () => {
    const s = new PostgresEscrowStore({ url: pgp.url("escrow"), schema: "escrow_off" });
    await s.createItem("off", 10, {});
    const r = (await s.acquire({ sku: "off", region: "a", want: 6, nowMs: 1, leaseTtlMs: 600_000, fresh: true, reserved: 0, rate: 0, borrow: 0 }))!;
    const fence = { generation: r.generation, epoch: r.lease.epoch };
    expect(await s.recordSales("off", "a", fence, [{ saleId: "k1", qty: 2, user: "ann" }], 2, 0)).toEqual(["sold"]);
    // Within the WAL writer's 200 ms, before an off commit's WAL would leave the primary on its own.
    expect(await s.recordSales("off", "a", fence, [{ saleId: "k2", qty: 1, user: "bob" }], 3, 0)).toEqual(["sold"]);
    expect(await s.refund("off", "k1", 4)).toBe("refunded");
    await pgp.failover();
    await s.close();
    const again = new PostgresEscrowStore({ url: pgp.url("escrow"), schema: "escrow_off" });
    expect(await again.findSale("off", "k2")).toMatchObject({ qty: 1, user: "bob", refunded: false });
    expect(await again.findSale("off", "k1")).toMatchObject({ qty: 2, refunded: true });
    expect(await again.audit("off", 5)).toMatchObject({ sold: 1 });
    await again.close();
  }, 60_000);
});
