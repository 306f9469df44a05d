/**
 * The lag monitor's own login on one copy: a role that can read replication statistics (pg_monitor) and the
 * heartbeat table, and write that table only on a writer's primary — nothing else. It replaces the copy's
 * admin login in the monitor (monitor.ts), so a compromised monitor pod can read one table and the
 * statistics views, not the ledger. Created idempotently by `meridian replication credentials` under the
 * admin login (credentials.ts), as the replication roles are; the password is the one the monitor's secret
 * records, set as a SCRAM verifier (scram.ts) so the cleartext never reaches the server.
 *
 * On a writer's primary this step also creates the heartbeat table (heartbeat.ts), so the monitor never
 * needs DDL. On a subscriber the table arrives with the schema the subscription Job copies: creating it
 * here first would make that copy fail ("relation already exists"), so it is granted on if present.
 */
import type pg from "pg";
import { HEARTBEAT_DDL, HEARTBEAT_SCHEMA, HEARTBEAT_TABLE } from "./heartbeat.js";
import { scramVerifier } from "./scram.js";
import type { Login } from "./secret-store.js";

/** The SQL that grants `role` the heartbeat table: SELECT everywhere, INSERT and UPDATE where it stamps. */
function heartbeatGrantSql(role: string, writes: boolean): string {
  return `GRANT USAGE ON SCHEMA ${HEARTBEAT_SCHEMA} TO ${role};
GRANT ${writes ? "SELECT, INSERT, UPDATE" : "SELECT"} ON ${HEARTBEAT_TABLE} TO ${role};
`;
}

/** Make `login`'s role the monitor's least-privilege role on `db` (connected as the copy's admin). Idempotent. */
export async function ensureMonitorRole(db: pg.ClientBase, login: Login, writes: boolean): Promise<void> {
  const role = login.username; // loginSchema: a lower-case identifier that needs no quoting
  const verifier = db.escapeLiteral(scramVerifier(login.password));
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
  await db.query(`GRANT pg_monitor TO ${role}`);
  if (writes) await db.query(HEARTBEAT_DDL);
  const table = (await db.query("SELECT to_regclass($1) IS NOT NULL AS present", [HEARTBEAT_TABLE])).rows[0] as { present: boolean };
  if (table.present) await db.query(heartbeatGrantSql(role, writes));
  // A subscriber was a writer's primary once (or the role was made by hand): take back any write grant.
  if (table.present && !writes) await db.query(`REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ${HEARTBEAT_TABLE} FROM ${role}`);
}
