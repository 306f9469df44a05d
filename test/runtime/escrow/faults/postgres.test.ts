/**
 * PostgreSQL failover under a live sale: the primary is killed with SIGKILL mid-sale, its synchronous
 * streaming replica is promoted, and the service's address moves to it (the proxy). First with
 * PostgreSQL as the ledger, then (a replica seeded again from the new primary) with PostgreSQL as the
 * journal behind Redis. Each sale must finish with exact totals: acknowledged units = sold = the
 * inventory, conservation, and every acknowledged commit replaying as a duplicate — across the
 * failover and after the service restarts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { PostgresEscrowStore } from "../../../../runtime/escrow/store/postgres.js";
import { JournaledEscrowStore } from "../../../../runtime/escrow/store/journaled.js";
import type { EscrowStore } from "../../../../runtime/escrow/store/port.js";
import { REDIS_URL, deleteRedisPrefix, uniqueName } from "../servers.js";
import { PrivatePostgres } from "./private-postgres.js";
import { checkExact, faultSaleConfig, openService, replayAll, runSale } from "./sale.js";

const TOTAL = 240;
const prefix = `mes:test:${uniqueName("failover")}:`;
let pgp: PrivatePostgres;

beforeAll(async () => {
  pgp = await PrivatePostgres.start();
  await pgp.createDatabase("escrow");
}, 120_000);
afterAll(async () => {
  await pgp?.stop();
  await deleteRedisPrefix(prefix);
});

async function saleWithFailover(sku: string, open: () => EscrowStore): Promise<void> {
  const config = await faultSaleConfig(sku, TOTAL, { batchSize: 20, reorderPoint: 5, leaseTtlSeconds: 5, reservationTtlSeconds: 60 });
  const { service, app } = openService(config, open());
  await service.createConfigured();
  const run = await runSale(app, sku, { buyers: 16, faultAt: [80], fault: () => pgp.failover() });
  expect(run.statuses[503] ?? 0).toBeGreaterThan(0); // the failover was felt: requests in it failed cleanly
  await checkExact(app, service, sku, TOTAL, run);
  await service.close();
  const again = openService(config, open());
  await replayAll(again.app, run);
  await again.service.close();
}

describe("escrow under a PostgreSQL failover", () => {
  it("PostgreSQL ledger: the primary is killed mid-sale; on the promoted replica the sale finishes exactly", async () => {
    await saleWithFailover("ledger-failover", () => new PostgresEscrowStore({ url: pgp.url("escrow"), schema: "escrow_ledger" }));
  }, 240_000);

  it("Redis + PostgreSQL journal: the journal's primary is killed mid-sale; the sale finishes exactly", async () => {
    await pgp.addReplica();
    await saleWithFailover("journal-failover", () => new JournaledEscrowStore({ redisUrl: REDIS_URL, postgresUrl: pgp.url("escrow"), schema: "escrow_journal", prefix }));
  }, 240_000);

  it("a journaled sale is acknowledged only once its journal transaction is on the synchronous standby", async () => {
    const store = new JournaledEscrowStore({ redisUrl: REDIS_URL, postgresUrl: pgp.url("escrow"), schema: "escrow_flush", prefix });
    await store.createItem("flush", 10, {}, 0);
    const r = (await store.acquire({ sku: "flush", region: "fault-a", want: 5, nowMs: 1, leaseTtlMs: 60_000, fresh: true, reserved: 0, rate: 0, borrow: 0 }))!;
    const admin = new pg.Client({ connectionString: pgp.url("escrow") });
    await admin.connect();
    const standbys = async (names: string) => {
      await admin.query(`ALTER SYSTEM SET synchronous_standby_names = '${names}'`);
      await admin.query("SELECT pg_reload_conf()");
      await new Promise((res) => setTimeout(res, 200));
    };
    try {
      // A synchronous standby that never answers: every commit that must be durable waits for it.
      await standbys("nobody_acks");
      let answer: unknown = null;
      const sold = store.recordSales("flush", "fault-a", { generation: r.generation, epoch: r.lease.epoch }, [{ saleId: "f1", qty: 1, user: "u" }], 2, 0).then((x) => (answer = x));
      await new Promise((res) => setTimeout(res, 1500));
      expect(answer).toBeNull(); // not acknowledged before the WAL carrying it is replicated
      await standbys("");
      expect(await sold).toEqual(["sold"]);
    } finally {
      await standbys("").catch(() => undefined);
      await admin.end();
      await store.close();
    }
  }, 60_000);
});
