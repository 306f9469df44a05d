/**
 * The HTLC ledger's durability on a PostgreSQL that streams to ASYNCHRONOUS standbys only (#17). With Redis + the
 * journal the escrow's sales have Redis's copy, but a swap's locks, claims and refunds live in PostgreSQL only: a
 * failover to the standby loses those it had not received (a claim whose preimage was already revealed, undone, lets
 * the owner refund what the other leg paid for). So the service checks it as the PostgreSQL-only store checks its sales
 * (store/postgres.ts `asyncStandbys`, faults/async-standby.test.ts): refused at start naming synchronous_standby_names
 * and what the ledger loses, unless acceptAsyncStandbys; watched by the gauge meridian_escrow_async_standbys_only once
 * running. The store alone (openEscrowStore) still starts: its sales are safe.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { openEscrowStore, startEscrowServer } from "../../../../runtime/escrow/index.js";
import { testConfig } from "../fixture.js";
import { REDIS_URL, ensurePgDatabase } from "../servers.js";
import { privatePostgresForFile, standbyState } from "../faults/private-postgres.js";

beforeAll(ensurePgDatabase);
const pgFx = privatePostgresForFile("htlcsb");
const { prefix } = pgFx;

const journaled = () => ({ port: 0, postgresUrl: pgFx.pgp.url("escrow"), redisUrl: REDIS_URL, redisPrefix: prefix, schema: "htlc_async" });

describe("the HTLC ledger behind Redis + the journal, on a PostgreSQL with an asynchronous standby", () => {
  it("refuses to start naming synchronous_standby_names and the swaps at risk, unless acceptAsyncStandbys; the store alone starts", async () => {
    const config = await testConfig(["eu"]);
    const refused = startEscrowServer({ config, ...journaled() });
    await expect(refused).rejects.toThrow(
      /^PostgreSQL streams to 1 asynchronous standby .*synchronous_standby_names = ''.*HTLC ledger's acknowledged locks, claims and refunds.*acceptAsyncStandbys: true/,
    );
    // Its remedy is not the sales' one: Redis is already in front.
    await expect(refused).rejects.not.toThrow(/put Redis in front/);

    const store = await openEscrowStore({ postgresUrl: pgFx.pgp.url("escrow"), redisUrl: REDIS_URL, redisPrefix: prefix, schema: "htlc_async" });
    expect(store.kind).toBe("redis+postgres");
    await store.close();

    const server = await startEscrowServer({ config, ...journaled(), acceptAsyncStandbys: true });
    try {
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      // Accepted: not watched either.
      expect(await (await fetch(`${server.url}/metrics`)).text()).not.toContain("meridian_escrow_async_standbys_only");
    } finally {
      await server.close();
    }
  }, 30_000);

  it("starts with a synchronous standby; once it is asynchronous the gauge says so and the region stays ready", async () => {
    await pgFx.pgp.standbyNames("*");
    const server = await startEscrowServer({ config: await testConfig(["eu"]), ...journaled() });
    const state = () => standbyState(server.url);
    try {
      expect(await state()).toEqual({ ready: 200, gauge: "0" });
      await pgFx.pgp.standbyNames("");
      expect(await state()).toEqual({ ready: 200, gauge: "1" });
    } finally {
      await server.close();
      await pgFx.pgp.standbyNames("");
    }
  }, 30_000);
});
