/**
 * PostgreSQL alone on a server that streams to an ASYNCHRONOUS standby (#17): a failover to it loses the acknowledged
 * sales it had not received, and with no Redis in front nothing holds another copy. That is a checked precondition, not a
 * silent risk: the PostgreSQL-only store refuses to start naming `synchronous_standby_names` unless the operator accepted
 * it (`acceptAsyncStandbys`); one that turns asynchronous later is the gauge meridian_escrow_async_standbys_only. A synchronous standby, no standby at all, or Redis in
 * front (the journal recovers lost sales from it: async-failover.test.ts) start as before.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openEscrowStore, startEscrowServer } from "../../../../runtime/escrow/index.js";
import { testConfig } from "../fixture.js";
import { PG_URL, REDIS_URL, dropPgSchema, ensurePgDatabase, uniqueName } from "../servers.js";
import { privatePostgresForFile, standbyState } from "./private-postgres.js";

const sharedSchema = uniqueName("asyncsb");
beforeAll(ensurePgDatabase);
afterAll(() => dropPgSchema(sharedSchema));
const pgFx = privatePostgresForFile("asyncsb");
const { prefix } = pgFx;

describe("PostgreSQL alone with an asynchronous streaming standby", () => {
  it("refuses to start naming synchronous_standby_names, unless acceptAsyncStandbys", async () => {
    const url = pgFx.pgp.url("escrow");
    await expect(openEscrowStore({ postgresUrl: url, schema: "escrow_async" })).rejects.toThrow(/asynchronous standby .*synchronous_standby_names = ''.*acceptAsyncStandbys/);
    const config = await testConfig(["eu"]);
    await expect(startEscrowServer({ config, port: 0, postgresUrl: url, schema: "escrow_async" })).rejects.toThrow(/synchronous_standby_names/);

    const accepted = await openEscrowStore({ postgresUrl: url, schema: "escrow_async", acceptAsyncStandbys: true });
    expect(accepted.kind).toBe("postgres");
    await accepted.close();
    const server = await startEscrowServer({ config, port: 0, postgresUrl: url, schema: "escrow_async", acceptAsyncStandbys: true });
    try {
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      // Accepted: not watched either (its alert would page for a risk the operator took on purpose).
      expect(await (await fetch(`${server.url}/metrics`)).text()).not.toContain("meridian_escrow_async_standbys_only");
    } finally {
      await server.close();
    }
  }, 20_000);

  it("with Redis in front (the journal), starts: Redis holds the copy a failover's losses are recovered from", async () => {
    const store = await openEscrowStore({ postgresUrl: pgFx.pgp.url("escrow"), redisUrl: REDIS_URL, redisPrefix: prefix, schema: "escrow_async_journal" });
    expect(store.kind).toBe("redis+postgres");
    await store.close();
  }, 20_000);

  it("starts with a synchronous standby; once it is asynchronous the gauge says so and the region stays ready", async () => {
    await pgFx.pgp.standbyNames("*");
    const server = await startEscrowServer({ config: await testConfig(["eu"]), port: 0, postgresUrl: pgFx.pgp.url("escrow"), schema: "escrow_async" });
    const state = () => standbyState(server.url);
    try {
      expect(await state()).toEqual({ ready: 200, gauge: "0" });
      await pgFx.pgp.standbyNames("");
      // Every region's readiness failing at once would stop the sale for a risk only a failover realises: an alert's job.
      expect(await state()).toEqual({ ready: 200, gauge: "1" });
      await pgFx.pgp.standbyNames("*");
      expect(await state()).toEqual({ ready: 200, gauge: "0" });
    } finally {
      await server.close();
      await pgFx.pgp.standbyNames("");
    }
  }, 20_000);

  it("a primary with no standby at all (no failover target) starts", async () => {
    const store = await openEscrowStore({ postgresUrl: PG_URL, schema: sharedSchema });
    expect(store.kind).toBe("postgres");
    await store.close();
  }, 20_000);
});
