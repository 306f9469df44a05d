/**
 * The store's reservation secret: 32 random bytes drawn once, by the first process to ask, and kept with the store (a
 * PostgreSQL row in the store's or journal's schema; a Redis key), so that every later process on the same store reads
 * the same one. Reservation ids' owner tags are keyed by it per ledger (core/ids.ts `ownerTagKey`), which lets a restarted
 * process tell an earlier run's reservation's owner (410 Gone) from everyone else (404) with no per-reservation state. A
 * store that loses it (emptied, or a Redis-only store restarted empty) draws a new one: earlier ids then answer 404 to all.
 */
import { randomBytes } from "node:crypto";
import type pg from "pg";
import type { Redis } from "ioredis";

const NAME = "reservation-ids";

/** The table, created with the store's (or journal's) other tables. */
export function secretTableSql(s: string): string {
  return `CREATE TABLE IF NOT EXISTS ${s}.escrow_secrets (name text PRIMARY KEY, secret bytea NOT NULL CHECK (octet_length(secret) = 32))`;
}

/** The secret kept in PostgreSQL (the table must exist: the store's migration creates it); the first writer's wins. */
export async function pgReservationSecret(pool: pg.Pool, s: string): Promise<Buffer> {
  await pool.query(`INSERT INTO ${s}.escrow_secrets (name, secret) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, [NAME, randomBytes(32)]);
  const row = (await pool.query(`SELECT secret FROM ${s}.escrow_secrets WHERE name = $1`, [NAME])).rows[0] as { secret: Buffer } | undefined;
  if (!row) throw new Error(`${s}.escrow_secrets has no ${NAME} row after inserting it`);
  return row.secret;
}

/** The secret kept in Redis under `<prefix>reservation-secret` (SET NX: the first writer's wins). */
export async function redisReservationSecret(redis: Redis, prefix: string): Promise<Buffer> {
  const key = `${prefix}reservation-secret`;
  await redis.set(key, randomBytes(32), "NX");
  const secret = await redis.getBuffer(key);
  if (!secret || secret.length !== 32) throw new Error(`${key}: expected 32 bytes, found ${secret?.length ?? "none"}`);
  return secret;
}
