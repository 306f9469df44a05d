/**
 * A scratch PostgreSQL database of the replication tests' own (created on first use), and psql against it. The name
 * carries the process id: the server is the machine's, and another run of the same test (a second checkout, a CI run)
 * must not drop the database under this one.
 */
import { spawnSync } from "node:child_process";
import pg from "pg";

export const ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";

export async function scratchDatabase(base: string): Promise<string> {
  const name = `${base}_${process.pid}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return `postgres://postgres@127.0.0.1:5432/${name}`;
}

export function psql(url: string, input: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync("psql", ["-v", "ON_ERROR_STOP=1", "-X", "-q", url], { input, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
