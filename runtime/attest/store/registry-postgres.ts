/**
 * The registry in PostgreSQL (the verifier's own database or schema): one table per part, each change one
 * transaction with the same meaning as core/registry.ts's `applyChange` — a revocation removes the AK's
 * enrolments and clock and the node's latest result in the same commit, an enrolment or clock of a revoked AK is
 * not written, and an enrolment of a revoked AK retires the node's earlier one. The registry is held in memory by one verifier: a session advisory lock, taken at `load` on a
 * connection kept for the store's life, refuses a second `attest serve` on the same database (it would not see the
 * first one's revocations); the server drops the lock with the connection when its holder dies (kill -9).
 * With `schema`, the tables live in that schema and the lock is the schema's: the estate deploys one verifier per
 * region against the one ledger database, each with its own registry (model/workloads `attestServiceConfig`).
 */
import pg from "pg";
import { inTransaction } from "../../common/pg-tx.js";
import { emptyRegistry, type RegistryChange, type RegistryState } from "../core/registry.js";
import type { ClockAnchor } from "../core/timestamp.js";
import type { RegistryStore } from "./registry-port.js";
import { endLockSession } from "../../common/pg-lock.js";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS attest_enrolled (node text PRIMARY KEY, ak text NOT NULL, fingerprint text NOT NULL, at bigint NOT NULL);
CREATE TABLE IF NOT EXISTS attest_revoked (fingerprint text PRIMARY KEY, node text NOT NULL, at bigint NOT NULL, by text NOT NULL, reason text NOT NULL);
CREATE TABLE IF NOT EXISTS attest_clocks (fingerprint text PRIMARY KEY, anchor jsonb NOT NULL);
CREATE TABLE IF NOT EXISTS attest_results (node text PRIMARY KEY, note text NOT NULL);
CREATE TABLE IF NOT EXISTS attest_log (id int PRIMARY KEY CHECK (id = 1), size bigint NOT NULL);`;

/** A schema name we may splice into DDL and search_path unquoted. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export class PostgresRegistryStore implements RegistryStore {
  readonly description = "PostgreSQL attestation registry";
  private readonly pool: pg.Pool;
  private ready: Promise<void> | null = null;
  private holder: pg.Client | null = null;
  private locking: Promise<void> | null = null;
  private closing: Promise<void> | null = null;

  private readonly lockKey: string;

  constructor(
    private readonly url: string,
    private readonly schemaName?: string,
  ) {
    if (schemaName !== undefined && !SCHEMA_NAME.test(schemaName)) throw new Error(`store.schema: got ${JSON.stringify(schemaName)}; expected a lower-case SQL identifier`);
    // Every connection (pooled or the lock holder's) resolves the unqualified table names in the schema.
    this.pool = new pg.Pool({ connectionString: url, max: 2, ...this.searchPath() });
    this.pool.on("error", () => undefined); // an idle client's server went away: the next query says so
    this.lockKey = schemaName === undefined ? "meridian.attest.registry" : `meridian.attest.registry:${schemaName}`;
  }

  private searchPath(): { options?: string } {
    return this.schemaName === undefined ? {} : { options: `-c search_path=${this.schemaName}` };
  }

  private schema(): Promise<void> {
    const ddl = this.schemaName === undefined ? SCHEMA : `CREATE SCHEMA IF NOT EXISTS ${this.schemaName};${SCHEMA}`;
    this.ready ??= this.pool.query(ddl).then(
      () => undefined,
      (e: { code?: string }) => {
        this.ready = null;
        if (e.code !== "23505" && e.code !== "42P07") throw e; // concurrent CREATE TABLE IF NOT EXISTS
      },
    );
    return this.ready;
  }

  /** Take the registry's advisory lock for this store's life; throws when another process holds it. */
  private lock(): Promise<void> {
    this.locking ??= this.takeLock().catch((e: unknown) => {
      this.locking = null;
      throw e;
    });
    return this.locking;
  }

  /**
   * The lock session is only the store's once `holder` is set: a session still connecting or asking when the
   * store is closed (or that did not get the lock) is ended here, so no path leaves a session holding the lock.
   */
  private async takeLock(): Promise<void> {
    const c = new pg.Client({ connectionString: this.url, ...this.searchPath() });
    c.on("error", () => undefined); // a lost connection loses the lock; the pool's next write fails and says why
    try {
      if (this.closing) throw new Error(`${this.description}: closed`);
      await c.connect();
      const { rows } = await c.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtext($1)) AS ok", [this.lockKey]);
      if (!rows[0]!.ok) throw new Error(`${this.description}: another attest serve holds this database's registry (PostgreSQL advisory lock); one verifier per registry`);
      if (this.closing) throw new Error(`${this.description}: closed while taking its lock`);
      this.holder = c;
    } catch (e) {
      await endLockSession(c);
      throw e;
    }
  }

  /** Let the lock go with its session (a load that failed after taking it must not keep it). */
  private async unlock(): Promise<void> {
    const holder = this.holder;
    this.holder = null;
    this.locking = null;
    await endLockSession(holder);
  }

  async load(): Promise<RegistryState> {
    await this.lock();
    try {
      return await this.read();
    } catch (e) {
      await this.unlock();
      throw e;
    }
  }

  private async read(): Promise<RegistryState> {
    await this.schema();
    const s = emptyRegistry();
    const q = <R extends pg.QueryResultRow>(sql: string) => this.pool.query<R>(sql).then((r) => r.rows);
    for (const r of await q<{ node: string; ak: string; fingerprint: string; at: string }>("SELECT node, ak, fingerprint, at FROM attest_enrolled"))
      s.enrolled.set(r.node, { ak: r.ak, fingerprint: r.fingerprint, at: Number(r.at) });
    for (const r of await q<{ fingerprint: string; node: string; at: string; by: string; reason: string }>("SELECT fingerprint, node, at, by, reason FROM attest_revoked"))
      s.revoked.set(r.fingerprint, { node: r.node, at: Number(r.at), by: r.by, reason: r.reason });
    for (const r of await q<{ fingerprint: string; anchor: ClockAnchor }>("SELECT fingerprint, anchor FROM attest_clocks")) s.clocks.set(r.fingerprint, r.anchor);
    for (const r of await q<{ node: string; note: string }>("SELECT node, note FROM attest_results")) s.results.set(r.node, r.note);
    s.logSize = Number((await q<{ size: string }>("SELECT size FROM attest_log WHERE id = 1"))[0]?.size ?? 0);
    return s;
  }

  async write(c: RegistryChange): Promise<void> {
    await this.schema();
    switch (c.kind) {
      case "enrol":
        // As applyChange: an enrolment of a revoked AK (replayed from the log) still retires the node's earlier
        // AK. One statement, so the revocation check and both branches see one snapshot.
        await this.pool.query(
          `WITH r AS (SELECT EXISTS (SELECT 1 FROM attest_revoked WHERE fingerprint = $3) AS revoked),
                retired AS (DELETE FROM attest_enrolled WHERE node = $1 AND (SELECT revoked FROM r))
           INSERT INTO attest_enrolled (node, ak, fingerprint, at) SELECT $1, $2, $3, $4 WHERE NOT (SELECT revoked FROM r)
           ON CONFLICT (node) DO UPDATE SET ak = EXCLUDED.ak, fingerprint = EXCLUDED.fingerprint, at = EXCLUDED.at`,
          [c.node, c.ak, c.fingerprint, c.at],
        );
        return;
      case "revoke":
        await inTransaction(this.pool, async (t) => {
          await t.query("INSERT INTO attest_revoked (fingerprint, node, at, by, reason) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (fingerprint) DO UPDATE SET node = $2, at = $3, by = $4, reason = $5", [
            c.fingerprint,
            c.node,
            c.at,
            c.by,
            c.reason,
          ]);
          await t.query("DELETE FROM attest_enrolled WHERE fingerprint = $1", [c.fingerprint]);
          await t.query("DELETE FROM attest_clocks WHERE fingerprint = $1", [c.fingerprint]);
          await t.query("DELETE FROM attest_results WHERE node = $1", [c.node]);
        });
        return;
      case "clock":
        await this.pool.query(
          `INSERT INTO attest_clocks (fingerprint, anchor) SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM attest_revoked WHERE fingerprint = $1)
           ON CONFLICT (fingerprint) DO UPDATE SET anchor = EXCLUDED.anchor`,
          [c.fingerprint, JSON.stringify(c.anchor)],
        );
        return;
      case "result":
        await this.pool.query("INSERT INTO attest_results (node, note) VALUES ($1, $2) ON CONFLICT (node) DO UPDATE SET note = EXCLUDED.note", [c.node, c.note]);
        return;
      case "caught-up":
        await this.pool.query("INSERT INTO attest_log (id, size) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET size = GREATEST(attest_log.size, EXCLUDED.size)", [c.logSize]);
        return;
    }
  }

  /** Idempotent. Waits for a lock acquire in flight (which then ends its own session), ends the pool, then the lock session. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.locking?.catch(() => undefined);
      try {
        await this.pool.end();
      } finally {
        await this.unlock();
      }
    })();
    return this.closing;
  }
}
