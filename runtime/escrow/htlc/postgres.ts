/**
 * The HTLC ledger in PostgreSQL, next to the escrow store's tables (same schema): balances, supply and
 * locks are rows, and each operation is one transaction (runtime/common/pg-tx.ts) that locks the HTLC
 * (an advisory lock on its id, so two racing locks of a new id serialise) and the balance row it
 * moves, applies the core's decision and commits. A lock, claim or refund is acknowledged only after
 * its commit, so a ledger killed between lock and claim finds the lock as it was when it restarts.
 * Every query is bounded as the escrow store's are (store/postgres.ts, `queryTimeoutMs`, the same default): a
 * PostgreSQL that stops answering without closing the connection (SIGSTOP, a network blackhole) fails the call after it
 * with an error naming the wait, which the routes answer 503 (transport/htlc.ts), instead of holding it for ever. The
 * outcome of a timed-out lock, claim or refund is unknown (its COMMIT may yet apply); each is idempotent, so the caller
 * retries it and learns which.
 */
import type pg from "pg";
import { closePool, inTransaction, openPool, pgTimeout } from "../../common/pg-tx.js";
import { PG_QUERY_TIMEOUT_MS } from "../store/postgres.js";
import {
  beneficiary,
  checkMintQty,
  checkSupply,
  decideClaim,
  decideLock,
  decideRefund,
  identifyLock,
  type AssetTotals,
  type ClaimRefusal,
  type Decision,
  type Htlc,
  type LockRefusal,
  type LockRequest,
  type RefundRefusal,
} from "./core.js";
import { outcomeOf, type HtlcLedger, type Outcome } from "./store.js";

type Tx = pg.PoolClient;
interface Row {
  id: string;
  asset: string;
  owner: string;
  recipient: string;
  qty: string;
  hashlock: string;
  timelock_ms: string;
  status: Htlc["status"];
  preimage: string | null;
  locked_at_ms: string;
  settled_at_ms: string | null;
}

const htlcOf = (r: Row): Htlc => ({
  id: r.id,
  asset: r.asset,
  owner: r.owner,
  recipient: r.recipient,
  qty: Number(r.qty),
  hashlock: r.hashlock,
  timelockMs: Number(r.timelock_ms),
  status: r.status,
  preimage: r.preimage,
  lockedAtMs: Number(r.locked_at_ms),
  settledAtMs: r.settled_at_ms === null ? null : Number(r.settled_at_ms),
});

export interface PostgresHtlcLedgerOptions {
  url: string;
  /** Schema holding the tables (created if missing); the escrow store's by default. */
  schema?: string;
  /** Longest wait for one query's answer, ms (default PG_QUERY_TIMEOUT_MS, store/postgres.ts). */
  queryTimeoutMs?: number;
}

export class PostgresHtlcLedger implements HtlcLedger {
  private readonly pool: pg.Pool;
  private readonly s: string;
  private readonly queryTimeoutMs: number;
  private ready: Promise<void> | null = null;

  constructor(o: PostgresHtlcLedgerOptions) {
    const schema = o.schema ?? "meridian_escrow";
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`schema: got "${schema}"; expected a lower-case SQL identifier`);
    this.s = schema;
    this.queryTimeoutMs = o.queryTimeoutMs ?? PG_QUERY_TIMEOUT_MS;
    // Every call answered within the query timeout, the wait for a connection included; a timed-out query's connection is
    // not reused (common/pg-tx.ts openPool).
    this.pool = openPool({ connectionString: o.url, max: 4, connectionTimeoutMillis: 5_000, query_timeout: this.queryTimeoutMs });
  }

  /** A call's timeout as an error naming the wait (common/pg-tx.ts pgTimeout). */
  private bounded<T>(call: Promise<T>): Promise<T> {
    return call.catch((err: unknown) => {
      const m = (err as Error).message;
      const wait = pgTimeout(err);
      if (!wait) throw err;
      const what = `did not ${wait === "answer" ? "answer" : "accept a connection"} within ${this.queryTimeoutMs} ms`;
      throw new Error(`PostgreSQL ${what} (${m}): the outcome is unknown; a lock, claim or refund is idempotent, retry it`, { cause: err });
    });
  }

  /** Create the tables if missing (idempotent; serialised by an advisory lock). */
  migrate(): Promise<void> {
    this.ready ??= inTransaction(this.pool, async (c) => {
      await c.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`meridian-htlc-${this.s}`]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${this.s}`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${this.s}.htlc_balances (asset text NOT NULL, owner text NOT NULL, available bigint NOT NULL CHECK (available >= 0), PRIMARY KEY (asset, owner))`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${this.s}.htlc_supply (asset text PRIMARY KEY, total bigint NOT NULL)`);
      await c.query(
        `CREATE TABLE IF NOT EXISTS ${this.s}.htlc_locks (id text PRIMARY KEY, asset text NOT NULL, owner text NOT NULL, recipient text NOT NULL,
           qty bigint NOT NULL CHECK (qty > 0), hashlock text NOT NULL, timelock_ms bigint NOT NULL,
           status text NOT NULL CHECK (status IN ('locked', 'claimed', 'refunded')), preimage text, locked_at_ms bigint NOT NULL, settled_at_ms bigint)`,
      );
    }).catch((err: unknown) => {
      this.ready = null;
      throw err;
    });
    return this.ready;
  }

  private tx<T>(fn: (c: Tx) => Promise<T>): Promise<T> {
    return this.bounded(this.migrate().then(() => inTransaction(this.pool, fn)));
  }

  private async add(c: Tx, asset: string, owner: string, qty: number): Promise<void> {
    await c.query(
      `INSERT INTO ${this.s}.htlc_balances (asset, owner, available) VALUES ($1, $2, $3) ON CONFLICT (asset, owner) DO UPDATE SET available = ${this.s}.htlc_balances.available + EXCLUDED.available`,
      [asset, owner, qty],
    );
  }

  private async row(c: Tx, id: string): Promise<Htlc | undefined> {
    await c.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`meridian-htlc-lock-${this.s}-${id}`]);
    const r = await c.query(`SELECT * FROM ${this.s}.htlc_locks WHERE id = $1 FOR UPDATE`, [id]);
    const row = r.rows[0] as Row | undefined;
    return row && htlcOf(row);
  }

  async mint(asset: string, owner: string, qty: number): Promise<void> {
    checkMintQty(qty);
    await this.tx(async (c) => {
      await this.add(c, asset, owner, qty);
      const r = await c.query(
        `INSERT INTO ${this.s}.htlc_supply (asset, total) VALUES ($1, $2) ON CONFLICT (asset) DO UPDATE SET total = ${this.s}.htlc_supply.total + EXCLUDED.total RETURNING total`,
        [asset, qty],
      );
      // Thrown inside the transaction: the mint rolls back whole.
      checkSupply(asset, BigInt((r.rows[0] as { total: string }).total));
    });
  }

  /** Under htlcId(terms) (core.ts); rows stored under ids clients chose before ids were derived keep them. */
  lock(input: LockRequest, nowMs: number): Promise<Outcome<LockRefusal>> {
    const p = identifyLock(input);
    if (p.kind === "refuse") return Promise.resolve(outcomeOf(p));
    const req = p.req;
    return this.tx(async (c) => {
      const existing = await this.row(c, req.id);
      const b = await c.query(`SELECT available FROM ${this.s}.htlc_balances WHERE asset = $1 AND owner = $2 FOR UPDATE`, [req.asset, req.owner]);
      const available = Number((b.rows[0] as { available: string } | undefined)?.available ?? 0);
      const d = decideLock(existing, req, available, nowMs);
      if (d.kind === "apply") {
        const h = d.htlc;
        // The row exists (the balance covered qty): an UPDATE, since an INSERT's negative row would fail its CHECK first.
        await c.query(`UPDATE ${this.s}.htlc_balances SET available = available - $3 WHERE asset = $1 AND owner = $2`, [h.asset, h.owner, h.qty]);
        await c.query(
          `INSERT INTO ${this.s}.htlc_locks (id, asset, owner, recipient, qty, hashlock, timelock_ms, status, preimage, locked_at_ms, settled_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, 'locked', NULL, $8, NULL)`,
          [h.id, h.asset, h.owner, h.recipient, h.qty, h.hashlock, Math.floor(h.timelockMs), Math.floor(h.lockedAtMs)],
        );
      }
      return outcomeOf(d);
    });
  }

  private settle<R extends string>(id: string, decide: (h: Htlc | undefined) => Decision<R>): Promise<Outcome<R>> {
    return this.tx(async (c) => {
      const d = decide(await this.row(c, id));
      if (d.kind === "apply") {
        const h = d.htlc;
        // Only a row still 'locked' moves: the status check in SQL as well as in the core.
        const u = await c.query(`UPDATE ${this.s}.htlc_locks SET status = $2, preimage = $3, settled_at_ms = $4 WHERE id = $1 AND status = 'locked'`, [
          id,
          h.status,
          h.preimage,
          Math.floor(h.settledAtMs!),
        ]);
        if (u.rowCount !== 1) throw new Error(`htlc ${id}: settled concurrently`);
        await this.add(c, h.asset, beneficiary(h)!, h.qty);
      }
      return outcomeOf(d);
    });
  }

  claim(id: string, preimageHex: string, caller: string, nowMs: number): Promise<Outcome<ClaimRefusal>> {
    return this.settle(id, (h) => decideClaim(h, preimageHex, caller, nowMs));
  }

  refund(id: string, caller: string, nowMs: number): Promise<Outcome<RefundRefusal>> {
    return this.settle(id, (h) => decideRefund(h, caller, nowMs));
  }

  get(id: string): Promise<Htlc | null> {
    return this.bounded(
      (async () => {
        await this.migrate();
        const r = await this.pool.query(`SELECT * FROM ${this.s}.htlc_locks WHERE id = $1`, [id]);
        const row = r.rows[0] as Row | undefined;
        return row ? htlcOf(row) : null;
      })(),
    );
  }

  balance(asset: string, owner: string): Promise<number> {
    return this.bounded(
      (async () => {
        await this.migrate();
        const r = await this.pool.query(`SELECT available FROM ${this.s}.htlc_balances WHERE asset = $1 AND owner = $2`, [asset, owner]);
        return Number((r.rows[0] as { available: string } | undefined)?.available ?? 0);
      })(),
    );
  }

  /** One statement, so one snapshot of the three tables: a concurrent move is counted exactly once. */
  totals(asset: string): Promise<AssetTotals> {
    return this.tx(async (c) => {
      const r = await c.query(
        `SELECT (SELECT COALESCE(SUM(total), 0) FROM ${this.s}.htlc_supply WHERE asset = $1) AS supply,
                (SELECT COALESCE(SUM(available), 0) FROM ${this.s}.htlc_balances WHERE asset = $1) AS available,
                (SELECT COALESCE(SUM(qty), 0) FROM ${this.s}.htlc_locks WHERE asset = $1 AND status = 'locked') AS locked`,
        [asset],
      );
      const row = r.rows[0] as { supply: string; available: string; locked: string };
      return { asset, supply: Number(row.supply), available: Number(row.available), locked: Number(row.locked) };
    });
  }

  /** Within the query timeout whatever the server does (closePool destroys the connections still open then). */
  close(): Promise<void> {
    return closePool(this.pool, this.queryTimeoutMs);
  }
}
