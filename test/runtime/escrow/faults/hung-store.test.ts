/**
 * A hung store under a live sale (#17, "a hung peer"): the private redis-server, then the private PostgreSQL holding
 * the journal, stopped with SIGSTOP mid-sale — connections stay open, nothing is answered — and resumed (SIGCONT) a few
 * seconds later. While it is stopped a buyer's commit must be answered (503: the outcome is unknown, retry), not left
 * waiting; after SIGCONT the sale finishes with exact totals, and a retry of the commit answered 503 tells whether it
 * sold. The stores get short bounded waits here (1 s) so the stop outlasts them; the defaults are in redis.ts and
 * postgres.ts.
 */
import { describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { JournaledEscrowStore } from "../../../../runtime/escrow/store/journaled.js";
import { PostgresEscrowStore } from "../../../../runtime/escrow/store/postgres.js";
import { PG_URL, REDIS_URL } from "../servers.js";
import { as } from "../fixture.js";
import { privateRedisForFile } from "./private-redis.js";
import { privatePostgresForFile } from "./private-postgres.js";
import { REGIONS, checkExact, faultSaleConfig, openService, runSale, settleUnanswered } from "./sale.js";

const TOTAL = 200;
const WAIT_MS = 1_000;
/** Far beyond WAIT_MS (a hang detector, not a latency bound): a commit not answered by then waits for the store to come back. */
const HUNG_MS = 20_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const fx = privateRedisForFile("faults_hung");
const pgFx = privatePostgresForFile("hung");
const { prefix } = pgFx;

async function setup(sku: string, store: JournaledEscrowStore | PostgresEscrowStore) {
  const config = await faultSaleConfig(sku, TOTAL, { batchSize: 10, reorderPoint: 3 });
  await store.migrate();
  const { service, app } = openService(config, store);
  await service.createConfigured();
  return { service, app };
}

/** A reservation made while the store answers, for a commit sent once it is stopped. */
async function reserve(app: FastifyInstance, sku: string): Promise<string> {
  const auth = await as("probe");
  for (;;) {
    const r = await app.inject({ method: "POST", url: `/v1/inventory/${sku}/reservations`, headers: { ...auth, "x-region": REGIONS[0]! }, payload: { qty: 1 } });
    if (r.statusCode === 201) return r.json().reservationId as string;
    await sleep(50);
  }
}

/** The commit's status, or "hung" when no answer comes. */
async function commit(app: FastifyInstance, id: string): Promise<number | "hung"> {
  const done = app.inject({ method: "POST", url: `/v1/reservations/${id}/commit`, headers: { ...(await as("probe")), "x-region": REGIONS[0]! } });
  return Promise.race([done.then((r) => r.statusCode), sleep(HUNG_MS).then(() => "hung" as const)]);
}

async function saleWithHang(sku: string, store: JournaledEscrowStore | PostgresEscrowStore, signal: (sig: "SIGSTOP" | "SIGCONT") => void): Promise<void> {
  const { service, app } = await setup(sku, store);
  let probe = "";
  let answer: number | "hung" | undefined;
  const run = await runSale(app, sku, {
    buyers: 16,
    faultAt: [60],
    deadlineMs: 60_000,
    fault: async () => {
      probe = await reserve(app, sku);
      signal("SIGSTOP");
      try {
        answer = await commit(app, probe);
        await sleep(2_000); // buyers keep meeting the stopped store
      } finally {
        signal("SIGCONT");
      }
    },
  });
  expect(answer, "a commit sent while the store was stopped got no answer").toBe(503);
  expect(run.statuses[503] ?? 0).toBeGreaterThan(0);
  // Commits answered 503 (the probe's, and any a buyer gave up on) sold or not: a retry tells which.
  run.unanswered.set(probe, { user: "probe", qty: 1 });
  await settleUnanswered(app, run);
  await checkExact(app, service, sku, TOTAL, run);
  await service.close();
}

describe("escrow with a hung store (SIGSTOP, then SIGCONT)", () => {
  it("redis-server stopped mid-sale: commits answered 503 meanwhile, then the sale finishes exactly", async () => {
    const store = new JournaledEscrowStore({ redisUrl: fx.redis.url, postgresUrl: PG_URL, schema: fx.schema, redisCommandTimeoutMs: WAIT_MS, queryTimeoutMs: WAIT_MS });
    await saleWithHang("hung-redis", store, (sig) => fx.redis.signal(sig));
  }, 90_000);

  it("the journal's PostgreSQL stopped mid-sale: commits answered 503 meanwhile, then the sale finishes exactly", async () => {
    const store = new JournaledEscrowStore({ redisUrl: REDIS_URL, prefix, postgresUrl: pgFx.pgp.url("escrow"), schema: "escrow_hung", redisCommandTimeoutMs: WAIT_MS, queryTimeoutMs: WAIT_MS });
    await saleWithHang("hung-pg", store, (sig) => pgFx.pgp.primary.signal(sig));
  }, 90_000);

  it("the PostgreSQL-only store's PostgreSQL stopped mid-sale: commits answered 503 meanwhile, then the sale finishes exactly", async () => {
    const store = new PostgresEscrowStore({ url: pgFx.pgp.url("escrow"), schema: "escrow_hung_pg_only", queryTimeoutMs: WAIT_MS });
    await saleWithHang("hung-pg-only", store, (sig) => pgFx.pgp.primary.signal(sig));
  }, 90_000);
});
