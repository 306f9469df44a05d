/**
 * The lag monitor's own login on one copy: a role that can read replication statistics (pg_monitor) and the
 * heartbeat table, and write that table only on a writer's primary — nothing else (pg_monitor only where the
 * copy's admin may grant it: grantPgMonitor). It replaces the copy's
 * admin login in the monitor (monitor.ts), so a compromised monitor pod can read one table and the
 * statistics views, not the ledger. Created idempotently by `meridian replication credentials` under the
 * admin login (credentials.ts), as the replication roles are; the password is the one the monitor's secret
 * records, set as a SCRAM verifier (scram.ts) so the cleartext never reaches the server.
 *
 * On a writer's primary this step also creates the heartbeat table (heartbeat.ts), so the monitor never
 * needs DDL. On a subscriber the table arrives with the schema the subscription Job copies: creating it
 * here first would make that copy fail ("relation already exists"), so it is granted on if present.
 *
 * Its password is rotated by `meridian replication rotate` (rotateMonitorPassword) with no moment at which the
 * monitor cannot log in. PostgreSQL keeps one password per role, so the secret carries both for a while:
 *   1. record  `next` (a new password) beside the current one: the role still accepts the current one
 *   2. set     ALTER ROLE … PASSWORD next: the role now accepts `next`, which every reader can see
 *   3. publish the top level becomes `next`, and `next` is dropped
 * The monitor re-reads the secret when the database refuses its login and tries each password it offers
 * (secret-store.ts readLogins), within the same probe; sessions already logged in are not affected. Each
 * step is idempotent and a re-run resumes a recorded `next`. The credentials step and the rotation hold one
 * advisory lock on the copy while they read the secret and set the role's password, so neither can set a
 * password the other has already replaced in the secret.
 */
import type pg from "pg";
import { HEARTBEAT_DDL, HEARTBEAT_SCHEMA, HEARTBEAT_TABLE } from "./heartbeat.js";
import { scramVerifier } from "./scram.js";
import { monitorLoginSchema, newPassword, readDocument, type MonitorLogin, type SecretStore } from "./secret-store.js";

/** An arbitrary constant (per database): one writer of the monitor role's password at a time. */
const MONITOR_LOCK_KEY = 7_283_911_005;

/** Run `work` holding the copy's monitor-password lock (waiting for it: the other holder finishes in seconds). */
async function underLock<T>(db: pg.ClientBase, work: () => Promise<T>): Promise<T> {
  await db.query("SELECT pg_advisory_lock($1)", [MONITOR_LOCK_KEY]);
  try {
    return await work();
  } finally {
    await db.query("SELECT pg_advisory_unlock($1)", [MONITOR_LOCK_KEY]).catch(() => undefined);
  }
}

const setPassword = (db: pg.ClientBase, role: string, password: string) => db.query(`ALTER ROLE ${role} PASSWORD ${db.escapeLiteral(scramVerifier(password))}`);

/** The SQL that grants `role` the heartbeat table: SELECT everywhere, INSERT and UPDATE where it stamps. */
function heartbeatGrantSql(role: string, writes: boolean): string {
  return `GRANT USAGE ON SCHEMA ${HEARTBEAT_SCHEMA} TO ${role};
GRANT ${writes ? "SELECT, INSERT, UPDATE" : "SELECT"} ON ${HEARTBEAT_TABLE} TO ${role};
`;
}

/**
 * Make the role `store`'s login names the monitor's least-privilege role on `db` (connected as the copy's
 * admin), with the password the secret records — a rotation's `next` while one is recorded. Idempotent.
 */
export async function ensureMonitorRole(db: pg.ClientBase, store: SecretStore, writes: boolean): Promise<MonitorRole> {
  return underLock(db, async () => {
    const login = await readDocument(store, monitorLoginSchema);
    return ensureRole(db, login.username, login.next ?? login.password, writes);
  });
}

/** What the credentials step made: the role, and whether it holds pg_monitor (grantPgMonitor). */
export interface MonitorRole {
  role: string;
  pgMonitor: boolean;
}

async function ensureRole(db: pg.ClientBase, role: string, password: string, writes: boolean): Promise<MonitorRole> {
  // role: loginSchema's lower-case identifier, which needs no quoting
  const verifier = db.escapeLiteral(scramVerifier(password));
  const exists = (await db.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role])).rowCount! > 0;
  // A plain login role. The managed clouds' admins are not superusers, and PostgreSQL lets only a superuser
  // name the SUPERUSER, REPLICATION or BYPASSRLS attributes in ALTER ROLE (even to clear them): so they are
  // set at creation only, and an existing role holding any such power is refused rather than trusted.
  if (!exists) await db.query(`CREATE ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD ${verifier}`);
  else {
    await db.query(`ALTER ROLE ${role} LOGIN PASSWORD ${verifier}`);
    const a = (await db.query(`SELECT rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls AS powerful FROM pg_roles WHERE rolname = $1`, [role])).rows[0] as {
      powerful: boolean;
    };
    if (a.powerful)
      throw new Error(
        `role ${role} exists with SUPERUSER, CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS: the lag monitor's login must be a plain role (drop it, or ALTER ROLE ${role} with NO… as a superuser)`,
      );
  }
  const pgMonitor = await grantPgMonitor(db, role);
  if (writes) await db.query(HEARTBEAT_DDL);
  const table = (await db.query("SELECT to_regclass($1) IS NOT NULL AS present", [HEARTBEAT_TABLE])).rows[0] as { present: boolean };
  if (table.present) await db.query(heartbeatGrantSql(role, writes));
  // A subscriber was a writer's primary once (or the role was made by hand): take back any write grant.
  if (table.present && !writes) await db.query(`REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ${HEARTBEAT_TABLE} FROM ${role}`);
  return { role, pgMonitor };
}

/**
 * pg_monitor for the role (the statistics views, for whoever debugs the copy with this login), unless it holds
 * it already. The clouds' admins are CREATEROLE non-superusers, and PostgreSQL 16 lets such a role grant only
 * the roles it holds WITH ADMIN OPTION (15 let it grant any non-superuser role); no cloud documents that for
 * pg_monitor, and a real PostgreSQL 16 refuses it (test/runtime/replication/cloud-admins.test.ts). The lag
 * itself is read from the heartbeat table (heartbeat.ts), which needs only the table grants, so a refusal
 * leaves the role without pg_monitor rather than failing the Job. Returns whether the role holds it.
 */
async function grantPgMonitor(db: pg.ClientBase, role: string): Promise<boolean> {
  const held = (await db.query("SELECT pg_has_role($1, 'pg_monitor', 'MEMBER') AS held", [role])).rows[0] as { held: boolean };
  if (held.held) return true;
  try {
    await db.query(`GRANT pg_monitor TO ${role}`);
    return true;
  } catch (e) {
    if ((e as { code?: unknown }).code !== "42501") throw e;
    return false;
  }
}

export type MonitorRotateStep = "record" | "set" | "publish";

/** Rotate the monitor role's password on `db` (connected as the copy's admin): steps 1-3 above. Returns the new login. */
export async function rotateMonitorPassword(db: pg.ClientBase, store: SecretStore, progress: (step: MonitorRotateStep) => void | Promise<void>): Promise<MonitorLogin> {
  return underLock(db, async () => {
    let doc = await readDocument(store, monitorLoginSchema);
    const role = doc.username;
    if ((await db.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role])).rowCount === 0) {
      throw new Error(`${store.ref}: no role ${role} on the copy yet (its monitor-login Job creates it); its password was not rotated`);
    }
    if (doc.next === undefined) {
      doc = { ...doc, next: newPassword() };
      await store.write(JSON.stringify(doc));
    }
    const next = doc.next!;
    await progress("record");
    await setPassword(db, role, next);
    await progress("set");
    const settled = { username: role, password: next };
    await store.write(JSON.stringify(settled));
    await progress("publish");
    return settled;
  });
}
