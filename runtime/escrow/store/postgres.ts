/**
 * PostgreSQL escrow store: the durable, authoritative ledger. Items, leases, sales, buyers and holds
 * are rows; every operation is one transaction. Pool movements (grant, return, reclaim, transfer,
 * refund) lock the item row and are serialised per SKU; a sale batch locks only its region's lease
 * row (postgres-sql.ts), so regions sell in parallel. A sale is acknowledged only after its
 * transaction commits, so kill -9 loses no acknowledged sale, and with synchronous replication neither
 * does a failover to the standby. Lease maintenance has its own small pool so renewals never queue
 * behind sales; buyer holds commit without waiting for the WAL flush (a lost hold only loosens a cap
 * for a reservation that was never sold).
 */
import type pg from "pg";
import { schemaStatements } from "./postgres-sql.js";
import { asyncOnlyStandbys, asyncStandbysRisk } from "./standbys.js";
import { closePool, inTransaction, openPool } from "../../common/pg-tx.js";
import { pgReservationSecret } from "./reservation-secret.js";
import {
  EMPTY_LEASE,
  type AcquireRequest,
  type AcquireResult,
  type CreateOutcome,
  type EscrowStore,
  type Fence,
  type HoldRequest,
  type HoldResult,
  type InventoryAudit,
  type PeerLease,
  type RefundOutcome,
  type SaleOutcome,
  type SaleRecord,
  type SaleRequest,
  type VerifyReport,
} from "./port.js";

/**
 * A transaction whose client vanished without closing its connection (a network blackhole, or the client's query timed
 * out and it dropped the connection) ends after this long idle, ms, releasing the item's row lock; left to TCP
 * keepalive it would hold the lock for hours, and every journal write of the SKU would time out behind it. Far above
 * the gap between two statements of a live transaction (a round trip).
 */
const IDLE_IN_TRANSACTION_MS = 30_000;
const IDLE = `-c idle_in_transaction_session_timeout=${IDLE_IN_TRANSACTION_MS}`;

/** Sessions that sell: commits wait for the local WAL flush and the synchronous standby (`synchronous_commit = on`). */
export const SYNC_COMMIT = `-c synchronous_commit=on ${IDLE}`;
/** Sessions of buyer holds: a lost hold only loosens a cap for a while (the module comment), not worth a flush each. */
const ASYNC_COMMIT = `-c synchronous_commit=off ${IDLE}`;

/**
 * Longest wait for one query's answer, ms (node-postgres `query_timeout`). A PostgreSQL that stops answering without
 * closing the connection (SIGSTOP, a network blackhole) would leave the query, the commit waiting on it and the
 * region's serial tick waiting for ever; the query fails after this long instead, an unknown outcome (a COMMIT may yet
 * apply: the region holds the commit in doubt and re-sends it, region-commits.ts), answered 503 to the buyer. The
 * connection is not reused: pg leaves the timed-out query in flight on it, a pooled query releases it with the error
 * (the pool destroys it) and a transaction (common/pg-tx.ts) destroys it without a ROLLBACK that would queue behind it.
 * The wait for a connection counts against it too (common/pg-tx.ts, openPool): the next call connects anew, and a
 * stopped server's kernel accepts the connection but never answers its startup, so that wait (connectionTimeoutMillis,
 * 5 s) came on top of the query's own. A slow-but-alive journal transaction — waiting for the WAL flush and the synchronous standby, and queued on the
 * item's row lock behind the other group commits of the SKU (two per lease in flight) — takes milliseconds to a few
 * hundred under load; 10 s is far beyond that, and the default lease TTL (10 s), past which the lease is lost anyway.
 * `statement_timeout` is not used: a stopped server never runs its timer.
 */
export const PG_QUERY_TIMEOUT_MS = 10_000;

export interface PostgresEscrowStoreOptions {
  url: string;
  /** Schema holding the tables (created if missing). */
  schema?: string;
  max?: number;
  /** Longest wait for one query's answer, ms (default PG_QUERY_TIMEOUT_MS). */
  queryTimeoutMs?: number;
}

type Tx = pg.PoolClient;
type LeaseRow = { region: string; epoch: string; held: string; expires_at_ms: string; reserved: string; rate: number; want: string; received: string };

const leaseOf = (r: LeaseRow, nowMs: number): PeerLease => ({
  epoch: Number(r.epoch),
  held: Number(r.held),
  expiresAtMs: Number(r.expires_at_ms),
  reserved: Number(r.reserved),
  rate: Number(r.rate),
  want: Number(r.want),
  received: Number(r.received),
  live: Number(r.expires_at_ms) >= nowMs,
});

export class PostgresEscrowStore implements EscrowStore {
  readonly kind = "postgres" as const;
  readonly pool: pg.Pool;
  private readonly maintenance: pg.Pool;
  /** Buyer holds commit without waiting for the WAL flush (see the module comment). */
  private readonly holds: pg.Pool;
  private readonly s: string;
  private readonly queryTimeoutMs: number;
  private ready: Promise<void> | null = null;

  constructor(o: PostgresEscrowStoreOptions) {
    const schema = o.schema ?? "meridian_escrow";
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`schema: got "${schema}"; expected a lower-case SQL identifier`);
    this.s = schema;
    // At most 15 connections per region process: sales are group-committed (two batches in flight per
    // region), so more buy nothing, and a server's max_connections (100 by default) is shared by every
    // region process — at 27 each, two three-region sales on one server ran it out ("too many clients"),
    // and a region whose renewals cannot connect loses its lease and voids every open checkout.
    // Sales, refunds and pool movements are acknowledged once their commit returns: it must wait for the WAL flush and
    // the synchronous standby whatever the database's or role's default (`synchronous_commit = off` there is a common
    // tuning, and with it an acknowledged sale was lost to a kill -9 and failover right after the ack).
    // Each call is answered within query_timeout, its wait for a connection included (common/pg-tx.ts, openPool): against
    // a stopped server a new connection waits connectionTimeoutMillis for the startup answer, and every call after a
    // timed-out one connects anew. An idle client's broken connection (a failover) does not crash the process.
    const query_timeout = (this.queryTimeoutMs = o.queryTimeoutMs ?? PG_QUERY_TIMEOUT_MS);
    this.pool = openPool({ connectionString: o.url, max: o.max ?? 8, connectionTimeoutMillis: 5_000, query_timeout, options: SYNC_COMMIT });
    this.maintenance = openPool({ connectionString: o.url, max: 3, connectionTimeoutMillis: 5_000, query_timeout, options: SYNC_COMMIT });
    this.holds = openPool({ connectionString: o.url, max: 4, connectionTimeoutMillis: 5_000, query_timeout, options: ASYNC_COMMIT });
  }

  /** Create the schema, tables and functions if missing (idempotent; serialised by an advisory lock). */
  migrate(): Promise<void> {
    this.ready ??= this.tx(async (c) => {
      await c.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`meridian-escrow-${this.s}`]);
      for (const sql of schemaStatements(this.s)) await c.query(sql);
    }).catch((err: unknown) => {
      this.ready = null; // a failed migration (store down) is retried by the next call
      throw err;
    });
    return this.ready;
  }

  private tx<T>(fn: (c: Tx) => Promise<T>, pool = this.maintenance, begin = "BEGIN"): Promise<T> {
    return inTransaction(pool, fn, begin);
  }

  private async locked<T>(sku: string, fn: (c: Tx, item: { total: number; pool: number; generation: string }) => Promise<T>): Promise<T | null> {
    await this.migrate();
    return this.tx(async (c) => {
      const r = await c.query(`SELECT total, pool, generation FROM ${this.s}.escrow_items WHERE sku = $1 FOR UPDATE`, [sku]);
      const row = r.rows[0] as { total: string; pool: string; generation: string } | undefined;
      if (!row) return null;
      return fn(c, { total: Number(row.total), pool: Number(row.pool), generation: row.generation });
    });
  }

  private async ledger(c: Tx, sku: string, region: string, kind: string, qty: number, epoch: number, atMs: number): Promise<void> {
    await c.query(`INSERT INTO ${this.s}.escrow_ledger (sku, region, kind, qty, epoch, at_ms) VALUES ($1, $2, $3, $4, $5, $6)`, [sku, region, kind, qty, epoch, Math.floor(atMs)]);
  }

  private async reclaim(c: Tx, sku: string, nowMs: number): Promise<number> {
    const r = await c.query(
      `WITH gone AS (SELECT region, held, epoch FROM ${this.s}.escrow_leases WHERE sku = $1 AND expires_at_ms < $2 AND held > 0 FOR UPDATE),
         upd AS (UPDATE ${this.s}.escrow_leases l SET held = 0, reserved = 0 FROM gone WHERE l.sku = $1 AND l.region = gone.region),
         led AS (INSERT INTO ${this.s}.escrow_ledger (sku, region, kind, qty, epoch, at_ms) SELECT $1, region, 'reclaim', held, epoch, $2 FROM gone)
       SELECT COALESCE(SUM(held), 0)::bigint AS n FROM gone`,
      [sku, nowMs],
    );
    const n = Number((r.rows[0] as { n: string }).n);
    if (n > 0) await c.query(`UPDATE ${this.s}.escrow_items SET pool = pool + $2 WHERE sku = $1`, [sku, n]);
    return n;
  }

  async createItem(sku: string, total: number, allocation: Record<string, number>): Promise<CreateOutcome> {
    await this.migrate();
    const r = await this.pool.query(`INSERT INTO ${this.s}.escrow_items (sku, total, pool, allocation) VALUES ($1, $2, $2, $3) ON CONFLICT (sku) DO NOTHING RETURNING sku`, [
      sku,
      total,
      JSON.stringify(allocation),
    ]);
    if (r.rowCount === 1) return "created";
    const existing = await this.pool.query(`SELECT total FROM ${this.s}.escrow_items WHERE sku = $1`, [sku]);
    return Number((existing.rows[0] as { total: string }).total) === total ? "exists" : "conflict";
  }

  async acquire(q: AcquireRequest): Promise<AcquireResult | null> {
    const now = Math.floor(q.nowMs);
    return this.locked(q.sku, async (c, item) => {
      await this.reclaim(c, q.sku, now);
      const pool = Number(((await c.query(`SELECT pool FROM ${this.s}.escrow_items WHERE sku = $1`, [q.sku])).rows[0] as { pool: string }).pool);
      // Our own row is locked (a sale batch updates it concurrently); the peers' are a snapshot.
      const cur = (
        await c.query(`SELECT region, epoch, held, expires_at_ms, reserved, rate, want, received, sold FROM ${this.s}.escrow_leases WHERE sku = $1 AND region = $2 FOR UPDATE`, [q.sku, q.region])
      ).rows[0] as LeaseRow | undefined;
      const rows = (await c.query(`SELECT region, epoch, held, expires_at_ms, reserved, rate, want, received, sold FROM ${this.s}.escrow_leases WHERE sku = $1 AND region <> $2`, [q.sku, q.region]))
        .rows as (LeaseRow & { sold: string })[];
      const peers: Record<string, PeerLease> = {};
      for (const r of rows) peers[r.region] = leaseOf(r, now);
      // Units sold: every lease's, ours included (sold only moves held → sold inside a lease row).
      const sold = rows.reduce((t, r) => t + Number(r.sold), 0) + Number((cur as (LeaseRow & { sold?: string }) | undefined)?.sold ?? 0);
      const lease = cur ? leaseOf(cur, now) : { ...EMPTY_LEASE, live: false };
      const mine = q.fence !== undefined && q.fence.epoch === lease.epoch && q.fence.generation === item.generation;
      let lost = false;
      if (q.fresh) lease.epoch += 1;
      else if (!mine) {
        lost = true;
        if (lease.expiresAtMs >= now && lease.epoch !== 0) {
          const { live: _live, ...view } = lease;
          return { generation: item.generation, total: item.total, sold, lease: view, granted: 0, pool, lost, fenced: true, peers };
        }
        lease.epoch += 1;
      } else if (lease.expiresAtMs < now) {
        lost = true;
        lease.epoch += 1;
      }
      const granted = Math.max(0, Math.min(q.want, pool));
      const next = { epoch: lease.epoch, held: lease.held + granted, expiresAtMs: now + Math.ceil(q.leaseTtlMs), reserved: q.reserved, rate: q.rate, want: q.borrow, received: lease.received };
      await c.query(
        `INSERT INTO ${this.s}.escrow_leases (sku, region, epoch, held, expires_at_ms, reserved, rate, want) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (sku, region) DO UPDATE SET epoch = $3, held = $4, expires_at_ms = $5, reserved = $6, rate = $7, want = $8`,
        [q.sku, q.region, next.epoch, next.held, next.expiresAtMs, next.reserved, next.rate, next.want],
      );
      if (granted > 0) {
        await c.query(`UPDATE ${this.s}.escrow_items SET pool = pool - $2 WHERE sku = $1`, [q.sku, granted]);
        await this.ledger(c, q.sku, q.region, "grant", granted, next.epoch, now);
      }
      return { generation: item.generation, total: item.total, sold, lease: next, granted, pool: pool - granted, lost, fenced: false, peers };
    });
  }

  /** The lease row of the fence's owner, locked, or undefined on a stale fence. */
  private async ownedLease(c: Tx, sku: string, region: string, fence: Fence, generation: string): Promise<{ held: number } | undefined> {
    if (generation !== fence.generation) return undefined;
    const row = (await c.query(`SELECT held FROM ${this.s}.escrow_leases WHERE sku = $1 AND region = $2 AND epoch = $3 FOR UPDATE`, [sku, region, fence.epoch])).rows[0] as
      { held: string } | undefined;
    return row ? { held: Number(row.held) } : undefined;
  }

  async release(sku: string, region: string, fence: Fence, qty: number, nowMs: number): Promise<number> {
    const n = await this.locked(sku, async (c, item) => {
      const lease = await this.ownedLease(c, sku, region, fence, item.generation);
      const moved = lease ? Math.max(0, Math.min(qty, lease.held)) : 0;
      if (moved > 0) {
        await c.query(`UPDATE ${this.s}.escrow_leases SET held = held - $3 WHERE sku = $1 AND region = $2`, [sku, region, moved]);
        await c.query(`UPDATE ${this.s}.escrow_items SET pool = pool + $2 WHERE sku = $1`, [sku, moved]);
        await this.ledger(c, sku, region, "return", moved, fence.epoch, nowMs);
      }
      return moved;
    });
    return n ?? 0;
  }

  async transfer(sku: string, from: string, fence: Fence, to: string, qty: number, nowMs: number): Promise<number> {
    if (from === to) return 0;
    const n = await this.locked(sku, async (c, item) => {
      const src = await this.ownedLease(c, sku, from, fence, item.generation);
      const dst = (await c.query(`SELECT epoch FROM ${this.s}.escrow_leases WHERE sku = $1 AND region = $2 AND expires_at_ms >= $3 FOR UPDATE`, [sku, to, Math.floor(nowMs)])).rows[0] as
        { epoch: string } | undefined;
      const moved = src && dst ? Math.max(0, Math.min(qty, src.held)) : 0;
      if (moved > 0) {
        await c.query(`UPDATE ${this.s}.escrow_leases SET held = held - $3 WHERE sku = $1 AND region = $2`, [sku, from, moved]);
        await c.query(`UPDATE ${this.s}.escrow_leases SET held = held + $3, received = received + $3 WHERE sku = $1 AND region = $2`, [sku, to, moved]);
        await this.ledger(c, sku, from, "transfer-out", moved, fence.epoch, nowMs);
        await this.ledger(c, sku, to, "transfer-in", moved, Number(dst!.epoch), nowMs);
      }
      return moved;
    });
    return n ?? 0;
  }

  async recordSales(sku: string, region: string, fence: Fence, sales: readonly SaleRequest[], nowMs: number, cap: number): Promise<SaleOutcome[]> {
    if (sales.length === 0) return [];
    await this.migrate();
    const r = await this.pool.query(`SELECT ${this.s}.escrow_record_sales($1, $2, $3, $4, $5, $6, $7, $8, $9) AS out`, [
      sku,
      region,
      fence.generation,
      fence.epoch,
      Math.floor(nowMs),
      cap,
      sales.map((s) => s.saleId),
      sales.map((s) => s.qty),
      sales.map((s) => s.user),
    ]);
    return (r.rows[0] as { out: SaleOutcome[] }).out;
  }

  async findSale(sku: string, saleId: string): Promise<SaleRecord | null> {
    await this.migrate();
    const r = await this.pool.query(`SELECT region, user_id, qty, at_ms, refunded_at_ms FROM ${this.s}.escrow_sales WHERE sku = $1 AND sale_id = $2`, [sku, saleId]);
    const row = r.rows[0] as { region: string; user_id: string; qty: string; at_ms: string; refunded_at_ms: string | null } | undefined;
    return row ? { saleId, sku, region: row.region, user: row.user_id, qty: Number(row.qty), atMs: Number(row.at_ms), refunded: row.refunded_at_ms !== null } : null;
  }

  async refund(sku: string, saleId: string, nowMs: number): Promise<RefundOutcome> {
    const out = await this.locked(sku, async (c): Promise<RefundOutcome> => {
      const sale = (await c.query(`SELECT region, epoch, user_id, qty, refunded_at_ms FROM ${this.s}.escrow_sales WHERE sku = $1 AND sale_id = $2 FOR UPDATE`, [sku, saleId])).rows[0] as
        { region: string; epoch: string; user_id: string; qty: string; refunded_at_ms: string | null } | undefined;
      if (!sale) return "unknown";
      if (sale.refunded_at_ms !== null) return "already-refunded";
      const qty = Number(sale.qty);
      await c.query(`UPDATE ${this.s}.escrow_sales SET refunded_at_ms = $3 WHERE sku = $1 AND sale_id = $2`, [sku, saleId, Math.floor(nowMs)]);
      await c.query(`UPDATE ${this.s}.escrow_leases SET sold = sold - $3 WHERE sku = $1 AND region = $2`, [sku, sale.region, qty]);
      await c.query(`UPDATE ${this.s}.escrow_items SET pool = pool + $2 WHERE sku = $1`, [sku, qty]);
      await c.query(`UPDATE ${this.s}.escrow_buyers SET bought = GREATEST(bought - $3, 0) WHERE sku = $1 AND user_id = $2`, [sku, sale.user_id, qty]);
      await this.ledger(c, sku, sale.region, "refund", qty, Number(sale.epoch), nowMs);
      return "refunded";
    });
    return out ?? "unknown";
  }

  async hold(sku: string, h: HoldRequest): Promise<HoldResult> {
    await this.migrate();
    const r = await this.holds.query(`SELECT ${this.s}.escrow_hold($1, $2, $3, $4, $5, $6, $7) AS v`, [sku, h.user, h.holdId, h.qty, h.cap, Math.floor(h.expiresAtMs), Math.floor(h.nowMs)]);
    const [ok, held, bought] = (r.rows[0] as { v: string[] }).v.map(Number) as [number, number, number];
    return ok === 1 ? { ok: true } : { ok: false, held, bought };
  }

  async releaseHold(sku: string, user: string, holdId: string): Promise<void> {
    await this.migrate();
    await this.holds.query(`DELETE FROM ${this.s}.escrow_holds WHERE sku = $1 AND hold_id = $2 AND user_id = $3`, [sku, holdId, user]);
  }

  async reclaimExpired(sku: string, nowMs: number): Promise<number> {
    return (await this.locked(sku, (c) => this.reclaim(c, sku, Math.floor(nowMs)))) ?? 0;
  }

  async verify(sku: string): Promise<VerifyReport | null> {
    await this.migrate();
    const row = (await this.pool.query(`SELECT generation FROM ${this.s}.escrow_items WHERE sku = $1`, [sku])).rows[0] as { generation: string } | undefined;
    return row ? { sku, generation: row.generation, action: "none", reason: "PostgreSQL is the durable record" } : null;
  }

  async audit(sku: string, nowMs: number): Promise<InventoryAudit | null> {
    await this.migrate();
    // One REPEATABLE READ snapshot so the pool, leases and sold figures agree with each other.
    return this.tx(
      async (c) => {
        const item = (await c.query(`SELECT total, pool, allocation, generation FROM ${this.s}.escrow_items WHERE sku = $1`, [sku])).rows[0] as
          { total: string; pool: string; allocation: Record<string, number>; generation: string } | undefined;
        if (!item) return null;
        const rows = (await c.query(`SELECT region, epoch, held, sold, expires_at_ms, reserved, rate, want, received FROM ${this.s}.escrow_leases WHERE sku = $1`, [sku])).rows as (LeaseRow & {
          sold: string;
        })[];
        const out: InventoryAudit = { sku, generation: item.generation, total: Number(item.total), pool: Number(item.pool), sold: 0, leases: {}, allocation: item.allocation };
        for (const r of rows) {
          out.sold += Number(r.sold);
          out.leases[r.region] = leaseOf(r, nowMs);
        }
        return out;
      },
      this.pool,
      "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    );
  }

  /** Why a failover of this server could lose acknowledged sales, or null (store/standbys.ts): this store is their only record. */
  async asyncStandbys(): Promise<string | null> {
    const found = await asyncOnlyStandbys(this.maintenance);
    return found && asyncStandbysRisk(found, "sales");
  }

  /** Within the query timeout whatever the server does: connections still open then are destroyed (common/pg-tx.ts). */
  async reservationSecret(): Promise<Buffer> {
    await this.migrate();
    return pgReservationSecret(this.maintenance, this.s);
  }

  async close(): Promise<void> {
    await Promise.all([this.pool, this.maintenance, this.holds].map((p) => closePool(p, this.queryTimeoutMs)));
  }
}
