/**
 * The tests' PostgreSQL databases on the local server (127.0.0.1:5432, trust auth): created when missing. Test files
 * run in parallel and may race to create the same one: 42P04 (duplicate_database) or 23505 (the catalog's unique
 * index, when two CREATEs overlap) means another file made it.
 */
import pg from "pg";

export const PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";

export async function ensureDatabase(name: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    if ((await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [name])).rowCount !== 0) return;
    await c.query(`CREATE DATABASE ${name}`).catch((e: { code?: string }) => {
      if (e.code !== "42P04" && e.code !== "23505") throw e;
    });
  } finally {
    await c.end();
  }
}
