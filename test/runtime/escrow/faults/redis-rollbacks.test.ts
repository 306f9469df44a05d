/**
 * Redis rolled back, against a private redis-server restarted from RDB snapshots (#17), the journaled store driven
 * directly (no HTTP: each interleaving is placed exactly): a snapshot taken while a journal batch is in flight;
 * rollbacks several in a row; a rollback to before a refund. Each time the account must come back exactly the
 * journal's — every acknowledged sale kept, nothing sold twice, a refund neither lost nor applied twice.
 */
import { describe, expect, it } from "vitest";
import pg from "pg";
import { JournaledEscrowStore } from "../../../../runtime/escrow/store/journaled.js";
import type { Fence, SaleOutcome } from "../../../../runtime/escrow/store/port.js";
import { PG_URL } from "../servers.js";
import { privateRedisForFile } from "./private-redis.js";

const fx = privateRedisForFile("faults_rollbacks");
const { schema } = fx;

const open = () => new JournaledEscrowStore({ redisUrl: fx.redis.url, postgresUrl: PG_URL, schema });
const sale = (saleId: string, qty: number, user = "u") => ({ saleId, qty, user });

/** The first command after a restart may meet the broken connection (one retry per request): try again. */
async function retry<T>(fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= 20) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function lease(s: JournaledEscrowStore, sku: string, want: number, nowMs: number, fence?: Fence): Promise<Fence> {
  const r = (await retry(() => s.acquire({ sku, region: "a", want, nowMs, leaseTtlMs: 600_000, fresh: fence === undefined, reserved: 0, rate: 0, borrow: 0, fence })))!;
  return { generation: r.generation, epoch: r.lease.epoch };
}

async function rebuilds(s: JournaledEscrowStore, sku: string): Promise<string[]> {
  return ((await s.pool.query(`SELECT reason FROM ${schema}.journal_rebuilds WHERE sku = $1 ORDER BY id`, [sku])).rows as { reason: string }[]).map((r) => r.reason);
}

/** Redis's account is the journal's: sold, and every unsold unit in the pool or a lease. */
async function expectAccount(s: JournaledEscrowStore, sku: string, total: number, sold: number, nowMs: number): Promise<void> {
  const j = (await s.pool.query(`SELECT sold FROM ${schema}.journal_items WHERE sku = $1`, [sku])).rows[0] as { sold: string };
  expect(Number(j.sold)).toBe(sold);
  const a = (await s.audit(sku, nowMs))!;
  expect({ total: a.total, sold: a.sold, unsold: a.pool + Object.values(a.leases).reduce((t, l) => t + l.held, 0) }).toEqual({ total, sold, unsold: total - sold });
}

describe("Redis restored from RDB snapshots (private redis-server)", () => {
  it("a snapshot taken while a journal batch is in flight, restored after more sales: the region selling again is refused, nothing acknowledged is lost", async () => {
    const sku = "inflight";
    const s = open();
    await s.createItem(sku, 12, {}, 0);
    const fence = await lease(s, sku, 12, 1);
    expect(await s.recordSales(sku, "a", fence, [sale("a1", 2), sale("a2", 1)], 2, 0)).toEqual(["sold", "sold"]);
    // Hold the journal's item lock: the next batch is sold in Redis and waits for its journal transaction.
    const lock = new pg.Client({ connectionString: PG_URL });
    await lock.connect();
    await lock.query("BEGIN");
    await lock.query(`SELECT 1 FROM ${schema}.journal_items WHERE sku = $1 FOR UPDATE`, [sku]);
    let answered: SaleOutcome[] | null = null;
    const inFlight = s.recordSales(sku, "a", fence, [sale("b1", 1), sale("b2", 2)], 3, 0).then((x) => (answered = x));
    while (!(await s.redis.sale(sku, "b2"))) await new Promise((r) => setTimeout(r, 10));
    const snapshot = await fx.redis.snapshot("inflight");
    expect(answered).toBeNull(); // the snapshot has b1 and b2; the journal not yet
    await lock.query("COMMIT");
    await lock.end();
    expect(await inFlight).toEqual(["sold", "sold"]);
    expect(await s.recordSales(sku, "a", fence, [sale("c1", 2), sale("c2", 1)], 4, 0)).toEqual(["sold", "sold"]);

    await fx.redis.restart(snapshot); // Redis forgets c1 and c2: 6 sold, the lease holds 6
    // Before any verify the region sells again under its fence: Redis agrees, the journal refuses the positions.
    expect(await retry(() => s.recordSales(sku, "a", fence, [sale("d1", 1), sale("d2", 1)], 5, 0))).toEqual(["lease-lost", "lease-lost"]);
    expect(await rebuilds(s, sku)).toEqual([expect.stringMatching(/refused a sale batch: rolled-back/)]);
    await expectAccount(s, sku, 12, 9, 6);
    for (const id of ["a1", "a2", "b1", "b2", "c1", "c2"]) expect(await s.findSale(sku, id), id).not.toBeNull();
    expect(await s.findSale(sku, "d1")).toBeNull();
    expect((await s.verify(sku, 7))!.action).toBe("none");
    await s.close();
  });

  it("rolled back three times in a row (twice to one snapshot, then to one taken just after the first rebuild): each caught, the account exact", async () => {
    const sku = "again";
    const s = open();
    await s.createItem(sku, 12, {}, 0);
    let fence = await lease(s, sku, 12, 1);
    expect(await s.recordSales(sku, "a", fence, [sale("a1", 2)], 2, 0)).toEqual(["sold"]);
    const s1 = await fx.redis.snapshot("again-1");
    expect(await s.recordSales(sku, "a", fence, [sale("a2", 2)], 3, 0)).toEqual(["sold"]);

    await fx.redis.restart(s1);
    expect((await retry(() => s.verify(sku, 4)))!.action).toBe("rebuilt");
    await expectAccount(s, sku, 12, 4, 4);
    const s2 = await fx.redis.snapshot("again-2"); // the new generation, nothing sold in it yet
    fence = await lease(s, sku, 8, 5, fence); // the old lease is void; a new one under the new generation
    expect(await s.recordSales(sku, "a", fence, [sale("b1", 3)], 6, 0)).toEqual(["sold"]);
    expect((await s.verify(sku, 7))!.action).toBe("none");

    await fx.redis.restart(s1); // the first generation again
    expect((await retry(() => s.verify(sku, 8)))!.action).toBe("rebuilt");
    await expectAccount(s, sku, 12, 7, 8);
    fence = await lease(s, sku, 5, 9, fence);
    expect(await s.recordSales(sku, "a", fence, [sale("c1", 1)], 10, 0)).toEqual(["sold"]);

    await fx.redis.restart(s2); // the second generation, before b1
    expect((await retry(() => s.verify(sku, 11)))!.action).toBe("rebuilt");
    await expectAccount(s, sku, 12, 8, 11);
    expect((await s.verify(sku, 12))!.action).toBe("none");
    expect(await rebuilds(s, sku)).toHaveLength(3);
    for (const id of ["a1", "a2", "b1", "c1"]) expect(await s.findSale(sku, id), id).not.toBeNull();
    await s.close();
  });

  it("rolled back to before a refund: the refund stands once — units back in the pool, the buyer's units bought back", async () => {
    const sku = "before-refund";
    const s = open();
    await s.createItem(sku, 10, {}, 0);
    const fence = await lease(s, sku, 6, 1);
    expect(await s.recordSales(sku, "a", fence, [sale("r1", 2, "ann"), sale("r2", 1, "bob")], 2, 0)).toEqual(["sold", "sold"]);
    const snapshot = await fx.redis.snapshot("before-refund");
    expect(await s.refund(sku, "r1", 3)).toBe("refunded");
    await expectAccount(s, sku, 10, 1, 3);

    await fx.redis.restart(snapshot); // Redis: r1 sold, not refunded, ann bought 2
    await retry(() => s.verify(sku, 4));
    await expectAccount(s, sku, 10, 1, 4);
    expect(await s.hold(sku, { user: "ann", holdId: "h", qty: 2, cap: 2, expiresAtMs: 100, nowMs: 5 })).toEqual({ ok: true });
    expect(await s.refund(sku, "r1", 6)).toBe("already-refunded");
    expect((await s.verify(sku, 7))!.action).toBe("none");
    await expectAccount(s, sku, 10, 1, 7);
    await s.close();
  });
});
