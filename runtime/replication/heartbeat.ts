/**
 * Replication lag by heartbeat (pt-heartbeat's method): the writer's monitor stamps its wall clock into a
 * one-row-per-writer table every interval; the row replicates like any other (logical or physical), and a
 * region's monitor reads its own copy: lag = now − the stamp it sees. It measures what a reader of that
 * copy sees — a stalled subscription, a paused replay and a writer that stopped beating all read as lag —
 * and its error is the two clocks' offset, which the time fabric bounds far below any lag worth alerting on.
 *
 * The table is created by the publication Job before `CREATE PUBLICATION … FOR ALL TABLES`, so every
 * subscriber copies it with the schema: a table created after a subscription exists would stop that
 * subscription ("logical replication target relation does not exist"). On a primary that publishes nothing
 * the monitor-login Job's admin step creates it (monitor-login.ts); the monitor itself never runs DDL.
 */
import type pg from "pg";

export const HEARTBEAT_SCHEMA = "meridian_replication";
export const HEARTBEAT_TABLE = `${HEARTBEAT_SCHEMA}.heartbeat`;

export const HEARTBEAT_DDL = `CREATE SCHEMA IF NOT EXISTS ${HEARTBEAT_SCHEMA};
CREATE TABLE IF NOT EXISTS ${HEARTBEAT_TABLE} (writer text PRIMARY KEY, wall_ms bigint NOT NULL);
`;

/** What the monitor queries through (a pg.Pool, or its LoginPool). */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

/** Stamp `wallMs` for `writer`; the stamp never goes back (a restarted writer with a slow clock cannot hide lag). */
export async function beat(db: Queryable, writer: string, wallMs: number): Promise<void> {
  await db.query(`INSERT INTO ${HEARTBEAT_TABLE} (writer, wall_ms) VALUES ($1, $2) ON CONFLICT (writer) DO UPDATE SET wall_ms = GREATEST(${HEARTBEAT_TABLE}.wall_ms, EXCLUDED.wall_ms)`, [
    writer,
    Math.round(wallMs),
  ]);
}

/** The writer's last stamp in this copy, or null when none has arrived yet. */
export async function lastBeat(db: Queryable, writer: string): Promise<number | null> {
  const row = (await db.query<{ wall_ms: string }>(`SELECT wall_ms FROM ${HEARTBEAT_TABLE} WHERE writer = $1`, [writer])).rows[0];
  return row === undefined ? null : Number(row.wall_ms);
}
