/**
 * Refunds (compensation) during a live sale under Redis faults (#17), through the HTTP API on a private redis-server
 * and the PostgreSQL journal: acknowledged sales are refunded mid-sale, Redis is killed and restarted empty, and later
 * restarted from an RDB snapshot taken BEFORE a batch of refunds; then more refunds. Refunded units must go back on sale and sell again,
 * no refund may be lost or applied twice: at the end units sold = the inventory = acknowledged units − refunded units,
 * the store's account balances, every acknowledged commit replays, and every refund is already done.
 */
import { describe, expect, it } from "vitest";
import pg from "pg";
import { JournaledEscrowStore } from "../../../../runtime/escrow/store/journaled.js";
import { conservationDrift } from "../../../../runtime/escrow/store/port.js";
import { PG_URL } from "../servers.js";
import { privateRedisForFile } from "./private-redis.js";
import { REGIONS, faultSaleConfig, openService, replayAll, runSale } from "./sale.js";

const TOTAL = 300;
const fx = privateRedisForFile("faults_refunds");
const { schema } = fx;

describe("refunds under Redis faults (redis + postgres)", () => {
  it("refunds mid-sale, Redis restarted empty, then rolled back to before later refunds: refunded units resell once, totals exact", async () => {
    const sku = "refund-faults";
    const config = await faultSaleConfig(sku, TOTAL, { batchSize: 10, reorderPoint: 3 });
    const store = new JournaledEscrowStore({ redisUrl: fx.redis.url, postgresUrl: PG_URL, schema });
    await store.migrate();
    const { service, app } = openService(config, store);
    await service.createConfigured();
    const refunded = new Map<string, number>();
    const refundSome = async (acked: ReadonlyMap<string, { user: string; qty: number }>, n: number) => {
      let done = 0;
      for (const [id, a] of acked) {
        if (done >= n) break;
        if (refunded.has(id)) continue;
        const out = await service.refund(sku, id);
        expect(out, id).toBe("refunded");
        refunded.set(id, a.qty);
        done++;
      }
    };
    let snapshot = "";
    const run = await runSale(app, sku, {
      buyers: 16,
      deadlineMs: 40_000,
      faultAt: [60, 100, 160, 200, 240],
      fault: async (i, acked) => {
        if (i === 0) {
          await refundSome(acked, 8);
          await fx.redis.kill9();
          await new Promise((r) => setTimeout(r, 300));
          await fx.redis.restart("empty");
        } else if (i === 1) snapshot = await fx.redis.snapshot("before-refunds");
        else if (i === 2) await refundSome(acked, 8);
        else if (i === 3)
          await fx.redis.restart(snapshot); // the refunds at 160 are not in it
        else await refundSome(acked, 8); // no rebuild after these: Redis itself puts them back on sale
      },
    });
    await service.tick();
    const ackedUnits = [...run.acked.values()].reduce((s, a) => s + a.qty, 0);
    const refundedUnits = [...refunded.values()].reduce((s, q) => s + q, 0);
    const view = (await app.inject({ method: "GET", url: `/v1/inventory/${sku}`, headers: { "x-region": REGIONS[0]! } })).json() as { sold: number; reserved: number; available: number };
    expect({ sold: view.sold, reserved: view.reserved, available: view.available }).toEqual({ sold: TOTAL, reserved: 0, available: 0 });
    expect(ackedUnits - refundedUnits).toBe(TOTAL);
    const audit = (await store.audit(sku, Date.now()))!;
    expect(conservationDrift(audit)).toBe(0);
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    const j = (await c.query(`SELECT sold FROM ${schema}.journal_items WHERE sku = $1`, [sku])).rows[0] as { sold: string };
    const r = (await c.query(`SELECT COUNT(*)::int AS n FROM ${schema}.journal_sales WHERE sku = $1 AND refunded_at_ms IS NOT NULL`, [sku])).rows[0] as { n: number };
    await c.end();
    expect({ sold: Number(j.sold), refunds: r.n }).toEqual({ sold: TOTAL, refunds: refunded.size });
    for (const id of refunded.keys()) expect(await service.refund(sku, id)).toBe("already-refunded");
    await replayAll(app, run);
    await service.close();
  }, 120_000);
});
