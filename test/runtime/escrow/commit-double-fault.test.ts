// A retried commit after a double fault (#17), on the real Redis + PostgreSQL journal: the journal transaction carrying the
// sale committed but its answer was lost (the connection dropped after COMMIT was sent: 503, the reservation stands), then
// Redis is rebuilt from the journal (a new generation: the region's lease and ledger are void). The sale is recorded, so
// the buyer's retry must answer sold (a duplicate) — not 409 void, nor 410 expired once the reservation's TTL has passed.
// A cancel in between answers 409 already sold, not 204.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { EscrowService } from "../../../runtime/escrow/service.js";
import { JournaledEscrowStore } from "../../../runtime/escrow/store/journaled.js";
import { buildEscrowApp } from "./app.js";
import { as, testConfig } from "./fixture.js";
import { PG_URL, REDIS_URL, deleteRedisPrefix, dropPgSchema, ensurePgDatabase, uniqueName } from "./servers.js";

const prefix = `mes:test:${uniqueName("dblfault")}:`;
const schema = uniqueName("dblfault");
beforeAll(ensurePgDatabase);
afterAll(async () => {
  await deleteRedisPrefix(prefix);
  await dropPgSchema(schema);
});

/** One region's sale on the journaled store; `dropNextJournalAnswer` makes the next journal write commit but answer an error. */
async function setup(sku: string) {
  const clock = new ManualClock(Date.now());
  const store = new JournaledEscrowStore({ redisUrl: REDIS_URL, postgresUrl: PG_URL, prefix, schema });
  const config = await testConfig(["eu"], {
    reservationTtlSeconds: 60,
    leaseTtlSeconds: 600,
    admission: { perUserLimit: 10, userRatePerSecond: 1000, userBurst: 1000, maxConcurrentCheckouts: 100 },
    skus: [{ sku, total: 10, globalReserve: 0, allocation: { eu: 10 }, refill: { batchSize: 5, reorderPoints: { eu: 1 } } }],
  });
  const service = new EscrowService({ config, store, clock, limiter: { check: () => ({ allowed: true, retryAfterMs: 0, remaining: 1 }) } });
  await service.createConfigured();
  const app = buildEscrowApp(service, clock);
  const query = store.pool.query.bind(store.pool) as (...a: unknown[]) => Promise<unknown>;
  let drop = false;
  (store.pool as { query: unknown }).query = async (...a: unknown[]) => {
    const r = await query(...a);
    if (drop && typeof a[0] === "string" && a[0].includes("journal_sale_batch")) {
      drop = false;
      throw new Error("Connection terminated unexpectedly"); // committed; the answer never arrived
    }
    return r;
  };
  const auth = await as("ann", "eu", { nowMs: clock.now() });
  const reserve = async () => {
    const r = await app.inject({ method: "POST", url: `/v1/inventory/${sku}/reservations`, headers: auth, payload: { qty: 2 } });
    expect(r.statusCode).toBe(201);
    return r.json().reservationId as string;
  };
  const commit = (id: string) => app.inject({ method: "POST", url: `/v1/reservations/${id}/commit`, headers: auth });
  /** The commit whose journal write committed but whose answer was lost: 503, the buyer retries. */
  const lostAnswer = async (id: string) => {
    drop = true;
    const r = await commit(id);
    expect(r.statusCode).toBe(503);
    const sale = await store.pool.query(`SELECT qty::int AS qty, user_id FROM ${schema}.journal_sales WHERE sku = $1 AND sale_id = $2`, [sku, id]);
    expect(sale.rows).toEqual([{ qty: 2, user_id: "ann" }]); // recorded
  };
  /** Redis restarts empty; a verify (this process's or another's) rebuilds it from the journal under a new generation. */
  const rebuildRedis = async () => {
    await deleteRedisPrefix(`${prefix}{${sku}}`);
    expect((await store.verify(sku, clock.now()))!.action).toBe("rebuilt");
  };
  const sold = async () => (await store.audit(sku, clock.now()))!.sold;
  return { clock, store, service, app, reserve, commit, lostAnswer, rebuildRedis, sold, close: () => service.close() };
}

describe("a commit whose journal write committed but whose answer was lost (then Redis rebuilt)", () => {
  it("cancelled after the unknown outcome: 409 already sold, not 204 — the commit replays as sold", async () => {
    const t = await setup("dbl-cancel");
    const id = await t.reserve();
    await t.lostAnswer(id);
    const cancel = await t.app.inject({ method: "DELETE", url: `/v1/reservations/${id}`, headers: await as("ann", "eu", { nowMs: t.clock.now() }) });
    expect(cancel.statusCode, cancel.body).toBe(409);
    expect(cancel.json()).toMatchObject({ error: "already sold" });
    const r = await t.commit(id);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ status: "sold", qty: 2, duplicate: true });
    expect(await t.sold()).toBe(2);
    await t.close();
  });

  it("retried before the region has renewed its lease: sold (duplicate), not 409", async () => {
    const t = await setup("dbl-before-tick");
    const id = await t.reserve();
    await t.lostAnswer(id);
    await t.rebuildRedis();
    const r = await t.commit(id);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ status: "sold", qty: 2, duplicate: true });
    expect(await t.sold()).toBe(2);
    await t.close();
  });

  it("retried after the service's tick voided the region's ledger: sold (duplicate), not 409", async () => {
    const t = await setup("dbl-after-tick");
    const id = await t.reserve();
    await t.lostAnswer(id);
    await t.rebuildRedis();
    await t.service.tick();
    const r = await t.commit(id);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ status: "sold", qty: 2, duplicate: true });
    expect(await t.sold()).toBe(2);
    await t.close();
  });

  it("retried after the reservation's TTL: sold (duplicate), not 410", async () => {
    const t = await setup("dbl-expired");
    const id = await t.reserve();
    await t.lostAnswer(id);
    await t.rebuildRedis();
    t.clock.advance(61_000);
    const r = await t.commit(id);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ status: "sold", qty: 2, duplicate: true });
    await t.service.tick(); // the sweep forgets the reservation: the answer stands
    const again = await t.commit(id);
    expect(again.statusCode, again.body).toBe(200);
    expect(await t.sold()).toBe(2);
    await t.close();
  });
});
