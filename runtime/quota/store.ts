/**
 * PostgreSQL state of the quota service: usage rows, overrides and delegations (as JSON documents in id
 * order), in one schema. Every operation commits its changed rows in one transaction before it is
 * acknowledged, so a kill -9 loses nothing acknowledged. One writer per schema: the service holds a
 * session advisory lock for its lifetime (released by PostgreSQL when the process dies), so a second
 * replica cannot interleave stale in-memory decisions with the first one's.
 *
 * Follower reads: every commit also appends the usage it changed to `usage_versions` at the commit's HLC
 * timestamp (AS OF reads) and closes that timestamp (runtime/clock's closed-timestamp row), so a hot
 * standby replaying the WAL knows exactly how fresh its copy is.
 */
import pg from "pg";
import { type Timestamp } from "../clock/index.js";
import { closedTimestampStatements, closeTimestamp, readClosedTimestamp } from "../clock/services.js";
import { inTransaction } from "../common/pg-tx.js";
import type { Delegation } from "./delegation.js";
import type { Override } from "./overrides.js";
import type { QuotaState, StateChanges } from "./state.js";
import type { QuotaStore } from "./store-port.js";
import { endLockSession } from "../common/pg-lock.js";

export interface QuotaStoreOptions {
  url: string;
  /** Schema holding the tables (created if missing). */
  schema?: string;
  /** How long to wait for another writer to let go of the schema (ms). */
  lockWaitMs?: number;
}

const seqOf = (id: string) => Number(id.slice(id.lastIndexOf("-") + 1));

export class PostgresQuotaStore implements QuotaStore {
  readonly pool: pg.Pool;
  readonly s: string;
  readonly description: string;
  private lockHolder: pg.Client | null = null;

  constructor(private readonly o: QuotaStoreOptions) {
    const schema = o.schema ?? "meridian_quota";
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`schema: got "${schema}"; expected a lower-case SQL identifier`);
    this.s = schema;
    this.description = `postgres schema ${schema}`;
    this.pool = new pg.Pool({ connectionString: o.url, max: 4, connectionTimeoutMillis: 5_000 });
    this.pool.on("error", () => undefined);
  }

  /** Take the writer lock, create the tables if missing, and read the state and the last closed timestamp. */
  async open(): Promise<QuotaState & { closed: Timestamp }> {
    const lock = new pg.Client({ connectionString: this.o.url, connectionTimeoutMillis: 5_000 });
    lock.on("error", () => undefined);
    await lock.connect();
    const deadline = Date.now() + (this.o.lockWaitMs ?? 15_000);
    for (;;) {
      const r = await lock.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtext($1)) AS ok", [`meridian-quota-${this.s}`]);
      if (r.rows[0]!.ok) break;
      if (Date.now() > deadline) {
        await lock.end();
        throw new Error(`another quota service holds schema ${this.s} (PostgreSQL advisory lock); one writer per schema`);
      }
      await new Promise((res) => setTimeout(res, 200));
    }
    this.lockHolder = lock;
    const s = this.s;
    await inTransaction(this.pool, async (c) => {
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${s}.usage (node text NOT NULL, dimension text NOT NULL, amount double precision NOT NULL, PRIMARY KEY (node, dimension))`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${s}.overrides (id text PRIMARY KEY, seq bigint NOT NULL, doc jsonb NOT NULL)`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${s}.delegations (id text PRIMARY KEY, seq bigint NOT NULL, doc jsonb NOT NULL)`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${s}.usage_versions (node text NOT NULL, dimension text NOT NULL, wall bigint NOT NULL, logical integer NOT NULL,
        amount double precision NOT NULL, PRIMARY KEY (node, dimension, wall, logical))`);
      for (const sql of closedTimestampStatements(s)) await c.query(sql);
    });
    const usage: QuotaState["usage"] = {};
    for (const r of (await this.pool.query<{ node: string; dimension: string; amount: number }>(`SELECT node, dimension, amount FROM ${s}.usage`)).rows)
      if (r.amount !== 0) (usage[r.node] ??= {})[r.dimension] = r.amount;
    const overrides = (await this.pool.query<{ doc: Override }>(`SELECT doc FROM ${s}.overrides ORDER BY seq`)).rows.map((r) => r.doc);
    const delegations = (await this.pool.query<{ doc: Delegation }>(`SELECT doc FROM ${s}.delegations ORDER BY seq`)).rows.map((r) => r.doc);
    return { usage, overrides, delegations, closed: await readClosedTimestamp(this.pool, s) };
  }

  /**
   * Write the changed rows in one transaction at HLC timestamp `ts` (above every earlier commit's); `beforeCommit`
   * (the audit append) runs inside it, and its failure rolls everything back.
   */
  async commit(changes: StateChanges, ts: Timestamp, beforeCommit?: () => Promise<void>): Promise<void> {
    const s = this.s;
    await inTransaction(this.pool, async (c) => {
      if (changes.usage.length) {
        const cols = [changes.usage.map((u) => u[0]), changes.usage.map((u) => u[1]), changes.usage.map((u) => u[2])];
        await c.query(
          `INSERT INTO ${s}.usage (node, dimension, amount) SELECT * FROM unnest($1::text[], $2::text[], $3::float8[]) ON CONFLICT (node, dimension) DO UPDATE SET amount = EXCLUDED.amount`,
          cols,
        );
        await c.query(`INSERT INTO ${s}.usage_versions (node, dimension, wall, logical, amount) SELECT u.n, u.d, $4, $5, u.a FROM unnest($1::text[], $2::text[], $3::float8[]) AS u(n, d, a)`, [
          ...cols,
          ts.wall,
          ts.logical,
        ]);
      }
      await closeTimestamp(c, s, ts);
      for (const [table, docs] of [
        ["overrides", changes.overrides],
        ["delegations", changes.delegations],
      ] as const)
        for (const d of docs) await c.query(`INSERT INTO ${s}.${table} (id, seq, doc) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc`, [d.id, seqOf(d.id), JSON.stringify(d)]);
      await beforeCommit?.();
    });
  }

  /** Close `ts` with no write: an idle writer keeps the replica's watermark moving. */
  async heartbeat(ts: Timestamp): Promise<void> {
    await closeTimestamp(this.pool, this.s, ts);
  }

  /** One node's usage per dimension: as it is, or AS OF `asOf` (from the version history). */
  async usage(c: pg.ClientBase | pg.Pool, node: string, asOf?: Timestamp): Promise<Record<string, number>> {
    const rows = (
      asOf === undefined
        ? await c.query<{ dimension: string; amount: number }>(`SELECT dimension, amount FROM ${this.s}.usage WHERE node = $1`, [node])
        : await c.query<{ dimension: string; amount: number }>(
            `SELECT DISTINCT ON (dimension) dimension, amount FROM ${this.s}.usage_versions WHERE node = $1 AND (wall, logical) <= ($2, $3)
             ORDER BY dimension, wall DESC, logical DESC`,
            [node, asOf.wall, asOf.logical],
          )
    ).rows;
    return Object.fromEntries(rows.filter((r) => r.amount !== 0).map((r) => [r.dimension, r.amount]));
  }

  async readUsage(node: string, asOf?: Timestamp): Promise<Record<string, number>> {
    return this.usage(this.pool, node, asOf);
  }

  /** For /readyz: the writer lock's connection still answers. */
  async ping(): Promise<true | string> {
    if (!this.lockHolder) return "not open";
    try {
      await this.lockHolder.query("SELECT 1");
      return true;
    } catch (e) {
      return `writer lock connection lost: ${(e as Error).message}`;
    }
  }

  async close(): Promise<void> {
    await endLockSession(this.lockHolder);
    this.lockHolder = null;
    await this.pool.end();
  }
}
