/**
 * Where the escrow's state-transition log is kept when the escrow has PostgreSQL (transitions-durable.ts): two tables
 * of this module's own in the store's schema (it shares the server and the schema, not the store's tables).
 *
 *   escrow_transition_logs    base (meridian-escrow/<regions>) → the log's origin, verifier key, its writer's epoch,
 *                             size and root
 *   escrow_transition_entries (origin, index) → the entry's bytes (what the log's leaf hashes)
 *
 * One process writes a log at a time: `claim` takes it (epoch + 1, under the row's lock) and every `append` is
 * checked against the epoch it was claimed with, so a process whose log another took over appends nothing more (it
 * is told, and seals its log: transitions-durable.ts). An append writes its entries and the new size and root in one
 * transaction, so the store holds a prefix of the log, never a gap.
 */
import type pg from "pg";
import { closePool, inTransaction, openPool } from "../../common/pg-tx.js";
import { PG_QUERY_TIMEOUT_MS } from "../store/postgres.js";
import type { ClaimedLog, TransitionLogStore } from "./transitions-durable.js";

/** Another process claimed the log after this one (a newer epoch), or the store holds another log under the base. */
class LogTakenOver extends Error {}

export class PostgresTransitionLogStore implements TransitionLogStore {
  private readonly pool: pg.Pool;
  private readonly s: string;
  private readonly ms: number;

  constructor(o: { url: string; schema: string; queryTimeoutMs?: number }) {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(o.schema)) throw new Error(`schema: got "${o.schema}"; expected a lower-case SQL identifier`);
    this.s = o.schema;
    this.ms = o.queryTimeoutMs ?? PG_QUERY_TIMEOUT_MS;
    this.pool = openPool({ connectionString: o.url, max: 2, connectionTimeoutMillis: 5_000, query_timeout: this.ms });
  }

  async migrate(): Promise<void> {
    await inTransaction(this.pool, async (c) => {
      // Two processes starting at once must not race on CREATE … IF NOT EXISTS (a unique violation in the catalog).
      await c.query("SELECT pg_advisory_xact_lock(hashtext('meridian_escrow_transition_log'))");
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${this.s}`);
      await c.query(
        `CREATE TABLE IF NOT EXISTS ${this.s}.escrow_transition_logs (base text PRIMARY KEY, origin text NOT NULL, vkey text NOT NULL, epoch bigint NOT NULL, size bigint NOT NULL, root text NOT NULL)`,
      );
      await c.query(`CREATE TABLE IF NOT EXISTS ${this.s}.escrow_transition_entries (origin text NOT NULL, idx bigint NOT NULL, entry bytea NOT NULL, PRIMARY KEY (origin, idx))`);
    });
  }

  async claim(base: string, fresh: { origin: string; vkey: string }): Promise<ClaimedLog> {
    const row = await inTransaction(this.pool, async (c) => {
      // Created if absent; a process creating it at the same moment makes this one wait, then find its row.
      const made = await c.query(`INSERT INTO ${this.s}.escrow_transition_logs (base, origin, vkey, epoch, size, root) VALUES ($1, $2, $3, 1, 0, '') ON CONFLICT (base) DO NOTHING`, [
        base,
        fresh.origin,
        fresh.vkey,
      ]);
      if (made.rowCount === 1) return { ...fresh, epoch: 1, size: 0, root: "" };
      const r = await c.query<{ origin: string; vkey: string; epoch: string; size: string; root: string }>(
        `UPDATE ${this.s}.escrow_transition_logs SET epoch = epoch + 1 WHERE base = $1 RETURNING origin, vkey, epoch, size, root`,
        [base],
      );
      const x = r.rows[0]!;
      return { origin: x.origin, vkey: x.vkey, epoch: Number(x.epoch), size: Number(x.size), root: x.root };
    });
    const entries: Buffer[] = [];
    while (entries.length < row.size) {
      const page = await this.pool.query<{ idx: string; entry: Buffer }>(
        `SELECT idx, entry FROM ${this.s}.escrow_transition_entries WHERE origin = $1 AND idx >= $2 AND idx < $3 ORDER BY idx LIMIT 10000`,
        [row.origin, entries.length, row.size],
      );
      if (page.rows.length === 0 || Number(page.rows[0]!.idx) !== entries.length) break; // a gap: the caller sees fewer entries than the size
      for (const e of page.rows) {
        if (Number(e.idx) !== entries.length) break;
        entries.push(e.entry);
      }
    }
    return { ...row, entries };
  }

  async append(base: string, claimed: { origin: string; epoch: number }, from: number, entries: readonly Uint8Array[], root: string): Promise<void> {
    await inTransaction(this.pool, async (c) => {
      const r = await c.query<{ origin: string; epoch: string; size: string }>(`SELECT origin, epoch, size FROM ${this.s}.escrow_transition_logs WHERE base = $1 FOR UPDATE`, [base]);
      const x = r.rows[0];
      if (!x || x.origin !== claimed.origin || Number(x.epoch) !== claimed.epoch)
        throw new LogTakenOver(
          x
            ? `another process took over the log (${x.origin}, writer epoch ${x.epoch}; this process wrote epoch ${claimed.epoch})`
            : `the log store no longer holds ${base} (this process wrote ${claimed.origin}, epoch ${claimed.epoch})`,
        );
      if (Number(x.size) !== from) throw new LogTakenOver(`the log store holds ${x.size} entries of ${claimed.origin}, this process ${from}`);
      // Rows past the size are no part of the log (a store restored from another point): overwritten.
      await c.query(
        `INSERT INTO ${this.s}.escrow_transition_entries (origin, idx, entry) SELECT $1, i, e FROM unnest($2::bigint[], $3::bytea[]) AS t(i, e)
         ON CONFLICT (origin, idx) DO UPDATE SET entry = EXCLUDED.entry`,
        [claimed.origin, entries.map((_, i) => from + i), entries.map((e) => Buffer.from(e))],
      );
      await c.query(`UPDATE ${this.s}.escrow_transition_logs SET size = $2, root = $3 WHERE base = $1`, [base, from + entries.length, root]);
    });
  }

  async replace(base: string, claimed: { origin: string; epoch: number }, next: { origin: string; vkey: string }): Promise<void> {
    const r = await this.pool.query(`UPDATE ${this.s}.escrow_transition_logs SET origin = $3, vkey = $4, size = 0, root = '' WHERE base = $1 AND origin = $2 AND epoch = $5`, [
      base,
      claimed.origin,
      next.origin,
      next.vkey,
      claimed.epoch,
    ]);
    if (r.rowCount !== 1) throw new LogTakenOver(`another process took over the log ${claimed.origin} while this one started`);
  }

  isTakeover(err: unknown): boolean {
    return err instanceof LogTakenOver;
  }

  close(): Promise<void> {
    return closePool(this.pool, this.ms);
  }
}
