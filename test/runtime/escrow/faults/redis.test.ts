/**
 * Redis faults under a live sale (Redis + the PostgreSQL journal, through the HTTP API): a private
 * redis-server is killed with SIGKILL mid-sale and restarted empty; and, in a second sale, restarted
 * from an RDB snapshot taken earlier in the sale — Redis rolled back, as a restore or an async-replica
 * failover does. Each time the service must detect the discontinuity by itself, rebuild Redis from the
 * journal, void the stale regional ledgers, and finish the sale with exact totals: acknowledged units =
 * sold = the inventory, sold + reserved + available = inventory, and every acknowledged commit
 * replays as a duplicate — also after the service itself restarts.
 */
import { describe, expect, it } from "vitest";
import pg from "pg";
import { JournaledEscrowStore } from "../../../../runtime/escrow/store/journaled.js";
import { PG_URL } from "../servers.js";
import { privateRedisForFile } from "./private-redis.js";
import { checkExact, faultSaleConfig, openService, replayAll, runSale } from "./sale.js";

const TOTAL = 600;
const fx = privateRedisForFile("faults_redis");
const { schema } = fx;

async function setup(sku: string) {
  const config = await faultSaleConfig(sku, TOTAL, { batchSize: 20, reorderPoint: 5 });
  const open = () => new JournaledEscrowStore({ redisUrl: fx.redis.url, postgresUrl: PG_URL, schema });
  const store = open();
  await store.migrate();
  const { service, app } = openService(config, store);
  await service.createConfigured();
  return { config, open, service, app };
}

async function journalSold(sku: string): Promise<{ sold: number; sales: number; rebuilds: number; reasons: string[] }> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    const sold = Number((await c.query(`SELECT sold FROM ${schema}.journal_items WHERE sku = $1`, [sku])).rows[0]!.sold);
    const sales = Number((await c.query(`SELECT COALESCE(SUM(qty), 0) AS n FROM ${schema}.journal_sales WHERE sku = $1 AND refunded_at_ms IS NULL`, [sku])).rows[0]!.n);
    const reasons = ((await c.query(`SELECT reason FROM ${schema}.journal_rebuilds WHERE sku = $1 ORDER BY id`, [sku])).rows as { reason: string }[]).map((r) => r.reason);
    return { sold, sales, rebuilds: reasons.length, reasons };
  } finally {
    await c.end();
  }
}

describe("escrow under Redis faults (redis + postgres)", () => {
  it("kill -9 mid-sale, restart empty: rebuilt from the journal, the sale finishes exactly", async () => {
    const sku = "empty-restart";
    const { config, open, service, app } = await setup(sku);
    let outage = 0;
    const run = await runSale(app, sku, {
      buyers: 24,
      faultAt: [150],
      fault: async () => {
        await fx.redis.kill9();
        // Keep the store dead until the service has answered 503 for it (buyers meet it meanwhile; on a
        // loaded machine a fixed pause may end before any request notices).
        for (const until = Date.now() + 30_000; outage === 0 && Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
          if ((await app.inject({ method: "GET", url: `/v1/inventory/${sku}`, headers: { "x-region": "fault-a" } })).statusCode === 503) outage++;
        }
        await fx.redis.restart("empty");
      },
    });
    expect(outage, "the service never answered 503 while Redis was dead").toBe(1);
    await checkExact(app, service, sku, TOTAL, run);
    const j = await journalSold(sku);
    expect(j).toMatchObject({ sold: TOTAL, sales: TOTAL });
    expect(j.reasons.some((r) => /no record of the item|restarted or failed over/.test(r))).toBe(true);
    await service.close();
    // A new incarnation of the service (another process, after a restart) still answers every acknowledged commit.
    const again = openService(config, open());
    await replayAll(again.app, run);
    await again.service.close();
  }, 180_000);

  it("restart from an RDB snapshot taken mid-sale (rolled back): detected, rebuilt, never oversold", async () => {
    const sku = "rdb-rollback";
    const { config, open, service, app } = await setup(sku);
    let snapshot = "";
    const run = await runSale(app, sku, {
      buyers: 24,
      faultAt: [100, 300],
      fault: async (i) => {
        if (i === 0) snapshot = await fx.redis.snapshot("mid-sale");
        else await fx.redis.restart(snapshot); // 200 acknowledged units later, Redis comes back as it was
      },
    });
    await checkExact(app, service, sku, TOTAL, run);
    const { sold, sales, rebuilds, reasons } = await journalSold(sku);
    expect({ sold, sales }).toEqual({ sold: TOTAL, sales: TOTAL });
    expect(rebuilds).toBeGreaterThanOrEqual(1);
    // Found out by the restart (run id), the watermark, or the journal refusing positions sold twice.
    expect(reasons.some((r) => /restarted or failed over|rolled back|refused a sale batch/.test(r))).toBe(true);
    await service.close();
    const again = openService(config, open());
    await replayAll(again.app, run);
    await again.service.close();
  }, 180_000);
});
