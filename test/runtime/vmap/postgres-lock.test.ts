// The PostgreSQL map store on real PostgreSQL: its own schema, one writer per schema. A second store on the schema is
// refused while the first holds the advisory lock; once the first's lock connection is lost (its session terminated,
// as a PostgreSQL restart or a network cut would) it refuses every write — the second may hold the lock by then — and
// the map service refuses writes before they reach the log, and says so on /readyz.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { ensureDatabase } from "../../pg-database.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../../runtime/common/clock.js";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { localOperatorAuth, startService } from "../../../runtime/kit/index.js";
import { generateKey } from "../../../runtime/prooflog/index.js";
import { startLogServer } from "../../../runtime/prooflog/services.js";
import { VerifiableMap } from "../../../runtime/vmap/index.js";
import { PostgresMapStore, mapService } from "../../../runtime/vmap/services.js";

const DB = "meridian_vmap_lock_test";
const URL = `postgres://postgres@127.0.0.1:5432/${DB}`;
const admin = new pg.Client({ connectionString: "postgres://postgres@127.0.0.1:5432/postgres" });
const schemas: string[] = [];
const fresh = () => {
  const s = `vmap_lock_${process.pid}_${randomBytes(3).toString("hex")}`;
  schemas.push(s);
  return s;
};

beforeAll(async () => {
  await admin.connect();
  await ensureDatabase(DB);
});
afterAll(async () => {
  const c = new pg.Client({ connectionString: URL });
  await c.connect();
  for (const s of schemas) await c.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await c.end();
  await admin.end();
});

/** Terminate the session holding `schema`'s writer lock, as a lost connection would end it. */
async function killLockSession(): Promise<number> {
  const r = await admin.query("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = $1)", [DB]);
  return r.rowCount ?? 0;
}

describe("PostgreSQL map store: own schema, one writer", () => {
  it("keeps its tables in its schema, refuses a second writer, and stops writing once its lock connection is lost", async () => {
    const schema = fresh();
    const map = new VerifiableMap("balances");
    const first = new PostgresMapStore(URL, { schema });
    expect(await first.load("balances")).toBeNull();
    await first.record({ entry: map.apply([["a", Buffer.from("1")]]), logIndex: 0 });
    const c = new pg.Client({ connectionString: URL });
    await c.connect();
    expect((await c.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, [schema])).rows.map((r) => r.table_name)).toEqual(["vmap_heads", "vmap_values"]);
    await c.end();

    const second = new PostgresMapStore(URL, { schema, lockWaitMs: 300 });
    await expect(second.load("balances")).rejects.toThrow(`another map service holds schema ${schema} (PostgreSQL advisory lock); one writer per schema`);
    await second.close();
    // Another schema is another writer's.
    const elsewhere = new PostgresMapStore(URL, { schema: fresh(), lockWaitMs: 300 });
    expect(await elsewhere.load("balances")).toBeNull();
    await elsewhere.close();

    expect(await first.ping()).toBe(true);
    await killLockSession();
    const third = new PostgresMapStore(URL, { schema, lockWaitMs: 10_000 });
    const stored = await third.load("balances");
    expect(stored?.head.revision).toBe(1);
    // The first store's lock is gone (the third holds it now): its next batch is refused, and nothing of it is stored.
    await expect(first.record({ entry: map.apply([["b", Buffer.from("2")]]), logIndex: 1 })).rejects.toThrow(/the writer lock was lost/);
    expect(first.refusal()).toMatch(/the writer lock was lost/);
    expect(await first.ping()).toMatch(/the writer lock was lost/);
    expect((await third.load("balances"))?.head.revision).toBe(1);
    await first.close();
    await third.close();
  });

  it("the map service refuses writes before logging them once its store lost the lock, and /readyz says why", async () => {
    const schema = fresh();
    const operator = await localOperatorAuth(systemClock);
    const keys = generateKey("meridian.test/vmap-lock");
    const log = await startLogServer({ origin: "meridian.test/vmap-lock", signerKey: keys.signerKey, dataDir: mkdtempSync(join(tmpdir(), "vmap-lock-log-")), port: 0, notice: () => undefined });
    const svc = await startService(
      mapService,
      { maps: ["balances"], log: log.url, store: { postgres: URL, schema }, server: { port: 0, auth: operator.auth } },
      { clock: systemClock, processMetrics: false },
    );
    try {
      const write = async (key: string) =>
        fetch(`${svc.url}/v1/maps/balances/writes`, {
          method: "POST",
          headers: { authorization: `Bearer ${await operator.token()}`, "content-type": "application/json" },
          body: JSON.stringify({ writes: [{ key, value: Buffer.from("1").toString("base64") }] }),
        });
      expect((await write("a")).status).toBe(200);
      expect((await fetch(`${svc.url}/readyz`)).status).toBe(200);
      const logged = log.log.size;
      expect(await killLockSession()).toBeGreaterThan(0);
      // The loss is seen on the next readiness probe or write; either way writes stop.
      const readyz = await fetch(`${svc.url}/readyz`);
      expect(readyz.status).toBe(503);
      expect(await readyz.text()).toMatch(/the writer lock was lost/);
      const refused = await write("b");
      expect(refused.status).toBe(503);
      expect(await refused.text()).toMatch(/the writer lock was lost/);
      const root = (await (await fetch(`${svc.url}/v1/maps/balances/root`)).json()) as { revision: number };
      expect(root.revision).toBe(1);
      // Nothing reached the log: the refused batch was never appended.
      expect(log.log.size).toBe(logged);
    } finally {
      await svc.close();
      await log.app.close();
    }
  });
});
