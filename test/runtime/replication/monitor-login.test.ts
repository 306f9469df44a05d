// The lag monitor's own login (runtime/replication/monitor-login.ts) on a real private PostgreSQL server
// (SCRAM, TLS): `meridian replication credentials` creates it under the admin login, idempotently; the
// monitor stamps and reads the heartbeat with it; and it is refused everything else — the ledger, DDL,
// the heartbeat's deletion, and writes to the heartbeat on a copy that is not a writer's primary.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { parseIntoClientConfig } from "pg-connection-string";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DATABASE_NAME } from "../../../components/replication/copy.js";
import { startService, type RunningService } from "../../../runtime/kit/index.js";
import { openSecretStore } from "../../../runtime/replication/cloud-secrets.js";
import { credentialsConfigSchema, writeCredentials, writeLoginFiles } from "../../../runtime/replication/credentials.js";
import { MONITOR_LOGIN_COMMAND } from "../../../components/replication/logical.js";
import { ReplicationJobs } from "../../components/replication/jobs.js";
import { replicationMonitorService, type CopyLag } from "../../../runtime/replication/index.js";
import { PrivatePg, pgRoot, removeRoot, testCa, type TestCa } from "../../components/replication/private-pg.js";
import { MERIDIAN_BIN, REPO_ROOT } from "../../cli.js";

const SUPERUSER_PASSWORD = "monitor-login-test-superuser-password";
const MONITOR = { username: "meridian_monitor", password: "monitor-login-first-password-0000" };
const COPY_DB = "meridian_copy";
const WRITER = "aws-use1";

let root = "";
let ca: TestCa;
let server: PrivatePg;
let admin = "";
let monitorRef = "";
const running: RunningService[] = [];

const dbUrl = (db: string) => `postgres://127.0.0.1:${server.port}/${db}?sslmode=verify-full&sslrootcert=${encodeURIComponent(ca.bundle)}&uselibpqcompat=true`;
const secret = (name: string, doc: object) => {
  writeFileSync(join(root, name), JSON.stringify(doc));
  return `file://${join(root, name)}`;
};
/** The monitor-login Job's init step for one copy: the monitor's role ensured, its login written to LOGIN_DIR/monitor. */
const ensure = (db: string, writes: boolean) =>
  writeCredentials(credentialsConfigSchema.parse({ logins: [{ secret: monitorRef, dir: join(root, "login", db, "monitor") }], monitor: { url: dbUrl(db), admin, login: monitorRef, writes } }), {
    open: openSecretStore,
  });
/** The monitor-login Job's psql container, as its pod runs it, on `db`. */
const checkJob = (db: string) =>
  new ReplicationJobs(join(root, "jobs"), ca, SUPERUSER_PASSWORD, WRITER, WRITER).run(MONITOR_LOGIN_COMMAND, {
    PGHOST: "127.0.0.1",
    PGPORT: String(server.port),
    PGDATABASE: db,
    PGSSLMODE: "verify-full",
    PGSSLROOTCERT: ca.bundle,
    LOGIN_DIR: join(root, "login", db),
  });
/** A statement run as the monitor's login; resolves to the SQLSTATE it failed with, or "ok". */
async function asMonitor(db: string, sql: string, login = MONITOR): Promise<string> {
  const c = new pg.Client({ ...parseIntoClientConfig(dbUrl(db)), user: login.username, password: login.password });
  try {
    await c.connect();
    await c.query(sql);
    return "ok";
  } catch (e) {
    return String((e as { code?: unknown }).code);
  } finally {
    await c.end().catch(() => undefined);
  }
}
const until = async (what: string, check: () => Promise<boolean>) => {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
};
const status = async (url: string) => (await (await fetch(`${url}/v1/replication`)).json()) as { copies: CopyLag[]; writes: { ok: boolean; error?: string } | null };
const grants = async (db: string) =>
  (await server.sql(db, `SELECT privilege_type FROM information_schema.role_table_grants WHERE grantee = '${MONITOR.username}' ORDER BY 1`)).rows.map((r) => r.privilege_type as string);

beforeAll(async () => {
  root = pgRoot();
  mkdirSync(join(root, "ca"));
  ca = testCa(join(root, "ca"));
  server = await PrivatePg.start(root, "copy", ca, SUPERUSER_PASSWORD);
  for (const db of [DATABASE_NAME, COPY_DB]) {
    await server.sql("postgres", `CREATE DATABASE ${db}`);
    await server.sql(db, "CREATE TABLE ledger (id int PRIMARY KEY, note text NOT NULL); INSERT INTO ledger VALUES (1, 'secret')");
  }
  // A subscriber's heartbeat table arrives with the copied schema, made by its admin (the subscription Job).
  await server.sql(COPY_DB, "CREATE SCHEMA meridian_replication; CREATE TABLE meridian_replication.heartbeat (writer text PRIMARY KEY, wall_ms bigint NOT NULL)");
  admin = secret("admin.json", { username: "postgres", password: SUPERUSER_PASSWORD });
  monitorRef = secret("monitor.json", MONITOR);
}, 180_000);

afterAll(async () => {
  for (const s of running.reverse()) await s.close();
  server?.stop();
  if (root) removeRoot(root);
});

describe("the lag monitor's least-privilege login", () => {
  it("is created by the credentials step, and the monitor stamps and reads the heartbeat with it", async () => {
    await ensure(DATABASE_NAME, true);
    await ensure(COPY_DB, false);
    for (const db of [DATABASE_NAME, COPY_DB]) {
      const r = checkJob(db);
      expect(r.status, r.stderr).toBe(0);
    }
    const svc = await startService(
      replicationMonitorService,
      {
        server: { port: 0 },
        intervalMs: 200,
        maxLagSeconds: 5,
        region: WRITER,
        writes: { writer: WRITER, url: dbUrl(DATABASE_NAME), login: monitorRef },
        copies: [{ writer: WRITER, url: dbUrl(DATABASE_NAME), login: monitorRef }],
      },
      { processMetrics: false },
    );
    running.push(svc);
    await until("a stamp read back", async () => (await status(svc.url)).copies[0]?.lagMs != null);
    expect((await status(svc.url)).writes).toEqual({ writer: WRITER, ok: true });
    expect((await fetch(`${svc.url}/readyz`)).status).toBe(200);
    // pg_monitor: the statistics views' other sessions are visible to it.
    expect(await asMonitor(DATABASE_NAME, "SELECT 1 FROM pg_stat_replication")).toBe("ok");
    expect((await server.sql(DATABASE_NAME, `SELECT pg_has_role('${MONITOR.username}', 'pg_monitor', 'MEMBER') AS m`)).rows[0].m).toBe(true);
  }, 120_000);

  it("is refused the ledger, DDL and any other write (permission denied)", async () => {
    for (const sql of [
      "SELECT * FROM ledger",
      "INSERT INTO ledger VALUES (2, 'forged')",
      "UPDATE ledger SET note = 'forged'",
      "CREATE TABLE public.mine (x int)",
      "CREATE TABLE meridian_replication.mine (x int)",
      "CREATE SCHEMA mine",
      "DELETE FROM meridian_replication.heartbeat",
      "TRUNCATE meridian_replication.heartbeat",
      "DROP TABLE meridian_replication.heartbeat",
    ]) {
      expect([sql, await asMonitor(DATABASE_NAME, sql)]).toEqual([sql, expect.stringMatching(/^42501$/)]);
    }
    // On a copy that is not a writer's primary it reads the heartbeat and writes nothing.
    expect(await asMonitor(COPY_DB, "SELECT wall_ms FROM meridian_replication.heartbeat")).toBe("ok");
    for (const sql of ["INSERT INTO meridian_replication.heartbeat VALUES ('forged', 1)", "UPDATE meridian_replication.heartbeat SET wall_ms = 0", "SELECT * FROM ledger"]) {
      expect([sql, await asMonitor(COPY_DB, sql)]).toEqual([sql, "42501"]);
    }
    const rows = await server.sql(DATABASE_NAME, "SELECT note FROM ledger ORDER BY id");
    expect(rows.rows).toEqual([{ note: "secret" }]);
  });

  it("re-running the step is idempotent, takes back stray grants and follows the secret's password", async () => {
    const before = { primary: await grants(DATABASE_NAME), copy: await grants(COPY_DB) };
    expect(before).toEqual({ primary: ["INSERT", "SELECT", "UPDATE"], copy: ["SELECT"] });
    await ensure(DATABASE_NAME, true);
    await ensure(COPY_DB, false);
    expect({ primary: await grants(DATABASE_NAME), copy: await grants(COPY_DB) }).toEqual(before);

    // A copy that used to be a writer's primary loses the write grants on the next run.
    await server.sql(COPY_DB, `GRANT INSERT, UPDATE, DELETE ON meridian_replication.heartbeat TO ${MONITOR.username}`);
    await ensure(COPY_DB, false);
    expect(await grants(COPY_DB)).toEqual(["SELECT"]);

    // A new password in the secret (a rotation) is what the role accepts after the next run.
    const next = { ...MONITOR, password: "monitor-login-second-password-000" };
    writeFileSync(monitorRef.slice("file://".length), JSON.stringify(next));
    await ensure(DATABASE_NAME, true);
    expect(await asMonitor(DATABASE_NAME, "SELECT 1", next)).toBe("ok");
    expect(await asMonitor(DATABASE_NAME, "SELECT 1", MONITOR)).toBe("28P01");
    const role = (await server.sql("postgres", `SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls FROM pg_roles WHERE rolname = '${MONITOR.username}'`)).rows;
    expect(role).toEqual([{ rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolreplication: false, rolbypassrls: false }]);
    // A role of that name made by hand with more power is refused, not trusted.
    await server.sql("postgres", `ALTER ROLE ${MONITOR.username} CREATEDB`);
    await expect(ensure(DATABASE_NAME, true)).rejects.toThrow(/role meridian_monitor exists with SUPERUSER, CREATEDB/);
    await server.sql("postgres", `ALTER ROLE ${MONITOR.username} NOCREATEDB`);
    // The Job's check fails loudly on a login the database refuses.
    writeLoginFiles(join(root, "login", DATABASE_NAME, "monitor"), MONITOR);
    const refused = checkJob(DATABASE_NAME);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/password authentication failed for user "meridian_monitor"/);
  });

  it("a primary that publishes nowhere rotates its monitor login by `meridian replication rotate` with a monitors-only config", async () => {
    const before = JSON.parse(readFileSync(monitorRef.slice("file://".length), "utf8")) as typeof MONITOR;
    const config = join(root, "rotate-monitor-only.json");
    writeFileSync(config, JSON.stringify({ monitors: [{ url: dbUrl(DATABASE_NAME), admin, login: monitorRef }] }));
    const r = spawnSync(process.execPath, [MERIDIAN_BIN, "replication", "rotate", "--config", config], { cwd: REPO_ROOT, encoding: "utf8", timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("monitor-publish: ");
    expect(r.stdout).toContain("rotated: 1 monitor login(s)");
    const after = JSON.parse(readFileSync(monitorRef.slice("file://".length), "utf8")) as typeof MONITOR & { next?: string };
    expect(after.username).toBe(before.username);
    expect(after.next).toBeUndefined();
    expect(after.password).not.toBe(before.password);
    expect(await asMonitor(DATABASE_NAME, "SELECT wall_ms FROM meridian_replication.heartbeat", after)).toBe("ok");
    expect(await asMonitor(DATABASE_NAME, "SELECT 1", before)).toBe("28P01");
  });
  // Under the clouds' non-superuser CREATEROLE admins, on real PostgreSQL 15 and 16: cloud-admins.test.ts.
});
