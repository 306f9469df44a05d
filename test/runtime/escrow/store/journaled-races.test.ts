// Races between the journaled store's repairs and its other writes (#17), on the shared Redis and PostgreSQL:
// each interleaving is forced at the seam where it can happen, then Redis must agree with the journal exactly.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JournaledEscrowStore } from "../../../../runtime/escrow/store/journaled.js";
import type { Fence } from "../../../../runtime/escrow/store/port.js";
import { PG_URL, REDIS_URL, deleteRedisPrefix, dropPgSchema, ensurePgDatabase, uniqueName } from "../servers.js";

const prefix = `mes:test:${uniqueName("jraces")}:`;
const schema = uniqueName("jraces");
beforeAll(ensurePgDatabase);
afterAll(async () => {
  await deleteRedisPrefix(prefix);
  await dropPgSchema(schema);
});

const open = () => new JournaledEscrowStore({ redisUrl: REDIS_URL, postgresUrl: PG_URL, prefix, schema });
const fenceOf = (r: { generation: string; lease: { epoch: number } }): Fence => ({ generation: r.generation, epoch: r.lease.epoch });

async function journalSold(s: JournaledEscrowStore, sku: string): Promise<number> {
  return Number((await s.pool.query(`SELECT sold FROM ${schema}.journal_items WHERE sku = $1`, [sku])).rows[0].sold);
}

describe("journaled store races", () => {
  it("a refund racing a rebuild: the rebuild already put the units back, so Redis does not get them twice", async () => {
    const s = open();
    const rebuilder = open(); // another process's tick
    await s.createItem("refund-rebuild", 10, {}, 0);
    const lease = (await s.acquire({ sku: "refund-rebuild", region: "a", want: 6, nowMs: 1, leaseTtlMs: 60_000, fresh: true, reserved: 0, rate: 0, borrow: 0 }))!;
    expect(await s.recordSales("refund-rebuild", "a", fenceOf(lease), [{ saleId: "r1", qty: 2, user: "ann" }], 2, 0)).toEqual(["sold"]);
    // The refund's journal transaction commits; before it reaches Redis, Redis restarts empty and another
    // process's verify rebuilds it from the journal — which already counts the refund.
    const apply = s.redis.applyRefund.bind(s.redis);
    s.redis.applyRefund = async (...args) => {
      await deleteRedisPrefix(`${prefix}{refund-rebuild}`);
      expect((await rebuilder.verify("refund-rebuild", 3))!.action).toBe("rebuilt");
      return apply(...args);
    };
    expect(await s.refund("refund-rebuild", "r1", 3)).toBe("refunded");
    s.redis.applyRefund = apply;
    expect(await journalSold(s, "refund-rebuild")).toBe(0);
    // Redis holds exactly the journal's account: nothing sold, all ten units in the pool (not 12, sold −2).
    expect(await s.audit("refund-rebuild", 4)).toMatchObject({ total: 10, sold: 0, pool: 10, leases: {} });
    expect((await s.verify("refund-rebuild", 5))!.action).toBe("none");
    expect(await s.audit("refund-rebuild", 6)).toMatchObject({ sold: 0, pool: 10 });
    // The buyer's units bought went back once: a cap of 3 takes 3 more.
    expect(await s.hold("refund-rebuild", { user: "ann", holdId: "h", qty: 3, cap: 3, expiresAtMs: 100, nowMs: 6 })).toEqual({ ok: true });
    await Promise.all([s.close(), rebuilder.close()]);
  });

  it("the process dies between a group commit's Redis script and its journal transaction; a new process journals the sale and both stores agree", async () => {
    const dead = open();
    await dead.createItem("mid-commit", 10, {}, 0);
    const lease = (await dead.acquire({ sku: "mid-commit", region: "a", want: 6, nowMs: 1, leaseTtlMs: 60_000, fresh: true, reserved: 0, rate: 0, borrow: 0 }))!;
    expect(await dead.recordSales("mid-commit", "a", fenceOf(lease), [{ saleId: "k1", qty: 1, user: "ann" }], 2, 0)).toEqual(["sold"]);
    // The next group commit: Redis's half ran, then kill -9 (the journal transaction never started; nothing acknowledged).
    await dead.redis.recordSalesAt("mid-commit", "a", fenceOf(lease), [{ saleId: "k2", qty: 2, user: "bob" }], 3, 0);
    await dead.close();

    const next = open(); // the restarted process: no memory of Redis's earlier watermark
    for (let t = 4; t < 7; t++) await next.verify("mid-commit", t);
    expect(await journalSold(next, "mid-commit")).toBe(3);
    expect(await next.audit("mid-commit", 7)).toMatchObject({ total: 10, sold: 3 });
    // The buyer retrying the unacknowledged commit gets it once, as a duplicate of the sale journaled.
    expect(await next.recordSales("mid-commit", "a", fenceOf(lease), [{ saleId: "k2", qty: 2, user: "bob" }], 8, 0)).toEqual(["duplicate"]);
    expect(await journalSold(next, "mid-commit")).toBe(3);
    expect((await next.verify("mid-commit", 9))!.action).toBe("none");
    await next.close();
  });
});
