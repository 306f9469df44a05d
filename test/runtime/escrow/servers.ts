/** The real servers the escrow tests use: Redis DB 3 under `mes:`, and the `meridian_escrow_test` database. */
import pg from "pg";
import { ensureDatabase } from "../../pg-database.js";
import { Redis } from "ioredis";
import { randomBytes } from "node:crypto";

export const REDIS_URL = "redis://127.0.0.1:6379/3";
export const PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";
export const PG_URL = "postgres://postgres@127.0.0.1:5432/meridian_escrow_test";

export function uniqueName(stem: string): string {
  return `${stem}_${process.pid}_${randomBytes(3).toString("hex")}`;
}

export const ensurePgDatabase = (): Promise<void> => ensureDatabase("meridian_escrow_test");

export async function dropPgSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await c.end();
}

export async function deleteRedisPrefix(prefix: string): Promise<void> {
  const r = new Redis(REDIS_URL);
  let cursor = "0";
  do {
    const [next, keys] = await r.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
    cursor = next;
    if (keys.length) await r.del(...keys);
  } while (cursor !== "0");
  await r.quit();
}
