/**
 * PostgreSQL alone on a server that streams to an ASYNCHRONOUS standby (#17): a failover to it loses the acknowledged
 * sales it had not received, and with no Redis in front nothing holds another copy. That is a checked precondition, not a
 * silent risk: the PostgreSQL-only store refuses to start naming `synchronous_standby_names` unless the operator accepted
 * it (`acceptAsyncStandbys`), and /readyz fails while it holds. A synchronous standby, no standby at all, or Redis in
 * front (the journal recovers lost sales from it: async-failover.test.ts) start as before.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { openEscrowStore, startEscrowServer } from "../../../../runtime/escrow/index.js";
import { testConfig } from "../fixture.js";
import { PG_URL, REDIS_URL, deleteRedisPrefix, dropPgSchema, ensurePgDatabase, uniqueName } from "../servers.js";
import { PrivatePostgres } from "./private-postgres.js";

const prefix = `mes:test:${uniqueName("asyncsb")}:`;
const sharedSchema = uniqueName("asyncsb");
let pgp: PrivatePostgres;

beforeAll(async () => {
  await ensurePgDatabase();
  pgp = await PrivatePostgres.start({ synchronous: false });
  await pgp.createDatabase("escrow");
}, 120_000);
afterAll(async () => {
  await pgp?.stop();
  await deleteRedisPrefix(prefix);
  await dropPgSchema(sharedSchema);
});

/** Make the standby synchronous ('*') or asynchronous (''), and wait until the primary reports it so. */
async function standbyNames(names: string): Promise<void> {
  const c = new pg.Client({ connectionString: pgp.url() });
  await c.connect();
  try {
    await c.query(`ALTER SYSTEM SET synchronous_standby_names = '${names}'`);
    await c.query("SELECT pg_reload_conf()");
    const want = names === "" ? "async" : "sync";
    for (let i = 0; i < 200; i++) {
      if ((await c.query("SELECT sync_state FROM pg_stat_replication")).rows.some((r: { sync_state: string }) => r.sync_state === want)) return;
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error(`the standby never became ${want}`);
  } finally {
    await c.end();
  }
}

describe("PostgreSQL alone with an asynchronous streaming standby", () => {
  it("refuses to start naming synchronous_standby_names, unless acceptAsyncStandbys", async () => {
    const url = pgp.url("escrow");
    await expect(openEscrowStore({ postgresUrl: url, schema: "escrow_async" })).rejects.toThrow(/asynchronous standby .*synchronous_standby_names = ''.*acceptAsyncStandbys/);
    const config = await testConfig(["eu"]);
    await expect(startEscrowServer({ config, port: 0, postgresUrl: url, schema: "escrow_async" })).rejects.toThrow(/synchronous_standby_names/);

    const accepted = await openEscrowStore({ postgresUrl: url, schema: "escrow_async", acceptAsyncStandbys: true });
    expect(accepted.kind).toBe("postgres");
    await accepted.close();
    const server = await startEscrowServer({ config, port: 0, postgresUrl: url, schema: "escrow_async", acceptAsyncStandbys: true });
    try {
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(((await ready.json()) as { checks: Record<string, string> }).checks["replication"]).toBeUndefined(); // accepted: not checked
    } finally {
      await server.close();
    }
  }, 20_000);

  it("with Redis in front (the journal), starts: Redis holds the copy a failover's losses are recovered from", async () => {
    const store = await openEscrowStore({ postgresUrl: pgp.url("escrow"), redisUrl: REDIS_URL, redisPrefix: prefix, schema: "escrow_async_journal" });
    expect(store.kind).toBe("redis+postgres");
    await store.close();
  }, 20_000);

  it("starts with a synchronous standby; /readyz fails while the standby is asynchronous and recovers when it is synchronous again", async () => {
    await standbyNames("*");
    const server = await startEscrowServer({ config: await testConfig(["eu"]), port: 0, postgresUrl: pgp.url("escrow"), schema: "escrow_async" });
    const readyz = async () => {
      const r = await fetch(`${server.url}/readyz`);
      return { status: r.status, replication: ((await r.json()) as { checks: Record<string, string> }).checks["replication"] };
    };
    try {
      expect(await readyz()).toEqual({ status: 200, replication: "ok" });
      await standbyNames("");
      const down = await readyz();
      expect(down.status).toBe(503);
      expect(down.replication).toMatch(/sync_state = 'async'.*synchronous_standby_names = ''/);
      await standbyNames("*");
      expect(await readyz()).toEqual({ status: 200, replication: "ok" });
    } finally {
      await server.close();
      await standbyNames("");
    }
  }, 20_000);

  it("a primary with no standby at all (no failover target) starts", async () => {
    const store = await openEscrowStore({ postgresUrl: PG_URL, schema: sharedSchema });
    expect(store.kind).toBe("postgres");
    await store.close();
  }, 20_000);
});
