/**
 * Follower reads over a PostgreSQL streaming replica (a hot standby, `pg_basebackup -R`), routed by
 * `routeRead` (follower-route.ts).
 *
 * The closed timestamp is a one-row table the single writer updates, with its HLC timestamp, in the same
 * transaction as every write — and on its own when idle, so the watermark keeps up with time. WAL replay
 * applies it atomically with the writes it covers: in a standby's REPEATABLE READ snapshot the row *is*
 * the snapshot's timestamp (every write at or below it is there, later ones are not). Replay paused or
 * lagging, the row stops advancing and reads needing fresher data go to the primary. The watermark is
 * read in the same snapshot the query then runs in, so the decision holds for the answer given.
 *
 * A replica that is down, refuses or errors is a fallback to the primary, never an error to the client.
 */
import pg from "pg";
import type { Clock } from "../../common/clock.js";
import { inTransaction } from "../../common/pg-tx.js";
import { format, type Timestamp } from "../timestamp.js";
import { routeRead, type FollowerReadRequest } from "./follower-route.js";

export function closedTimestampStatements(schema: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${schema}.closed_timestamp (one boolean PRIMARY KEY DEFAULT true CHECK (one), wall bigint NOT NULL, logical integer NOT NULL)`,
    `INSERT INTO ${schema}.closed_timestamp (wall, logical) VALUES (0, 0) ON CONFLICT DO NOTHING`,
  ];
}

/** Close `ts` inside the writer's transaction; the watermark never goes back. */
export async function closeTimestamp(c: pg.ClientBase | pg.Pool, schema: string, ts: Timestamp): Promise<void> {
  await c.query(`UPDATE ${schema}.closed_timestamp SET wall = $1, logical = $2 WHERE (wall, logical) < ($1, $2)`, [ts.wall, ts.logical]);
}

export async function readClosedTimestamp(c: pg.ClientBase | pg.Pool, schema: string): Promise<Timestamp> {
  const row = (await c.query<{ wall: string; logical: number }>(`SELECT wall, logical FROM ${schema}.closed_timestamp`)).rows[0];
  if (row === undefined) throw new Error(`${schema}.closed_timestamp has no row: the writer has not opened this schema`);
  return { wall: Number(row.wall), logical: row.logical };
}

export interface FollowerRead<T> {
  value: T;
  servedBy: "primary" | "replica";
  /** The replica's watermark when it was consulted. */
  watermark?: string;
  stalenessMs?: number;
  /** Why the replica did not serve. */
  fallback?: string;
}

export interface PostgresFollowerReadsOptions {
  primary: pg.Pool;
  /** The hot standby; absent: every read goes to the primary. */
  replicaUrl?: string;
  schema: string;
  /** The local clock staleness is measured against. */
  clock: Clock;
  /** How long the replica may take to connect or answer before the read goes to the primary (ms). */
  replicaTimeoutMs?: number;
  /**
   * Runs an AS OF read on the primary: the writer must first make sure no write at or below `asOf` can
   * still commit (forward its HLC past it, wait for writes in flight). Default: run it directly.
   */
  primaryAsOf?: <T>(asOf: Timestamp, read: () => Promise<T>) => Promise<T>;
}

class ReplicaDeclined {
  constructor(readonly reason: string) {}
}

export class PostgresFollowerReads {
  private readonly replica: pg.Pool | null;

  constructor(private readonly o: PostgresFollowerReadsOptions) {
    const ms = o.replicaTimeoutMs ?? 1000;
    this.replica = o.replicaUrl === undefined ? null : new pg.Pool({ connectionString: o.replicaUrl, max: 4, connectionTimeoutMillis: ms, query_timeout: ms });
    this.replica?.on("error", () => undefined);
  }

  /** Run `query` where `req` allows: on the replica in the snapshot whose watermark was checked, else on the primary. */
  async read<T>(req: FollowerReadRequest, query: (c: pg.ClientBase, asOf: Timestamp | undefined) => Promise<T>): Promise<FollowerRead<T>> {
    let fallback = "no replica configured";
    let watermark: Timestamp | undefined;
    if (this.replica === null || req.consistency.consistency === "strong") {
      if (req.consistency.consistency === "strong") fallback = "strong reads are served by the primary";
    } else {
      try {
        const served = await inTransaction(
          this.replica,
          async (c) => {
            watermark = await readClosedTimestamp(c, this.o.schema);
            const route = routeRead(req, watermark, this.o.clock.now());
            if (route.target === "primary") throw new ReplicaDeclined(route.reason);
            return { value: await query(c, route.asOf), stalenessMs: route.stalenessMs };
          },
          "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        );
        return { value: served.value, servedBy: "replica", watermark: format(watermark!), stalenessMs: Math.round(served.stalenessMs) };
      } catch (e) {
        if (e instanceof RangeError) throw e;
        fallback = e instanceof ReplicaDeclined ? e.reason : `replica unavailable: ${(e as Error).message}`;
      }
    }
    const asOf = req.consistency.consistency === "exact" ? req.asOf : undefined;
    if (req.consistency.consistency === "exact" && asOf === undefined) throw new RangeError("an exact (AS OF) read needs the timestamp to read at");
    const run = () => inTransaction(this.o.primary, (c) => query(c, asOf), "BEGIN READ ONLY");
    const value = asOf === undefined ? await run() : await (this.o.primaryAsOf ?? ((_, r) => r()))(asOf, run);
    return { value, servedBy: "primary", ...(watermark ? { watermark: format(watermark) } : {}), fallback };
  }

  async close(): Promise<void> {
    await this.replica?.end().catch(() => undefined);
  }
}
