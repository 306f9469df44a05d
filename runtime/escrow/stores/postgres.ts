/**
 * PostgreSQL escrow store: the durable ledger. Items, leases and sales are rows; every operation is
 * one transaction. Pool movements (grant, return, reclaim) lock the item row (`SELECT … FOR UPDATE`)
 * and are serialised per SKU; a sale locks only its region's lease row (held −= q, sold += q), so
 * regions sell in parallel, and a reclaim racing a sale waits on that row lock. Each transaction keeps
 * pool + Σ held + Σ sold = total. `escrow_ledger` appends one row per movement (grant, return, reclaim,
 * sale); a sale is acknowledged only after its transaction commits, so kill -9 loses no acknowledged
 * sale. Lease maintenance has its own small connection pool so renewals never queue behind sales.
 */
import pg from "pg";
import type { AcquireRequest, AcquireResult, CreateOutcome, EscrowStore, InventoryAudit, SaleOutcome, SaleRecord, SaleRequest } from "../store.js";

export interface PostgresEscrowStoreOptions {
  url: string;
  /** Schema holding the tables (created if missing). */
  schema?: string;
  max?: number;
}

type Tx = pg.PoolClient;

export class PostgresEscrowStore implements EscrowStore {
  readonly kind = "postgres" as const;
  readonly pool: pg.Pool;
  private readonly maintenance: pg.Pool;
  private readonly s: string;
  private ready: Promise<void> | null = null;

  constructor(o: PostgresEscrowStoreOptions) {
    const schema = o.schema ?? "meridian_escrow";
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`schema: got "${schema}"; expected a lower-case SQL identifier`);
    this.s = schema;
    this.pool = new pg.Pool({ connectionString: o.url, max: o.max ?? 16 });
    this.maintenance = new pg.Pool({ connectionString: o.url, max: 3 });
    // An idle client's broken connection must not crash the process.
    this.pool.on("error", () => undefined);
    this.maintenance.on("error", () => undefined);
  }

  /** Create the schema and tables if missing (idempotent; serialised by an advisory lock). */
  migrate(): Promise<void> {
    this.ready ??= this.tx(async (c) => {
      await c.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`meridian-escrow-${this.s}`]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${this.s}`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${this.s}.escrow_items (sku text PRIMARY KEY, total bigint NOT NULL CHECK (total >= 0),
        pool bigint NOT NULL CHECK (pool >= 0), allocation jsonb NOT NULL)`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${this.s}.escrow_leases (sku text NOT NULL REFERENCES ${this.s}.escrow_items(sku), region text NOT NULL,
        epoch bigint NOT NULL, held bigint NOT NULL CHECK (held >= 0), sold bigint NOT NULL DEFAULT 0 CHECK (sold >= 0),
        expires_at_ms bigint NOT NULL, reserved bigint NOT NULL, PRIMARY KEY (sku, region))`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${this.s}.escrow_sales (sku text NOT NULL, sale_id text NOT NULL, region text NOT NULL,
        epoch bigint NOT NULL, qty bigint NOT NULL CHECK (qty > 0), at_ms bigint NOT NULL, PRIMARY KEY (sku, sale_id))`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${this.s}.escrow_ledger (id bigserial PRIMARY KEY, sku text NOT NULL, region text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('grant','return','reclaim','sale')), qty bigint NOT NULL, epoch bigint NOT NULL, at_ms bigint NOT NULL)`);
    });
    return this.ready;
  }

  private async tx<T>(fn: (c: Tx) => Promise<T>, pool = this.maintenance): Promise<T> {
    const c = await pool.connect();
    try {
      await c.query("BEGIN");
      const out = await fn(c);
      await c.query("COMMIT");
      return out;
    } catch (err) {
      await c.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  private async locked<T>(sku: string, fn: (c: Tx, item: { total: number; pool: number }) => Promise<T>): Promise<T | null> {
    await this.migrate();
    return this.tx(async (c) => {
      const r = await c.query(`SELECT total, pool FROM ${this.s}.escrow_items WHERE sku = $1 FOR UPDATE`, [sku]);
      const row = r.rows[0] as { total: string; pool: string } | undefined;
      if (!row) return null;
      return fn(c, { total: Number(row.total), pool: Number(row.pool) });
    });
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
    const r = await this.pool.query(
      `INSERT INTO ${this.s}.escrow_items (sku, total, pool, allocation) VALUES ($1, $2, $2, $3) ON CONFLICT (sku) DO NOTHING RETURNING sku`,
      [sku, total, JSON.stringify(allocation)],
    );
    if (r.rowCount === 1) return "created";
    const existing = await this.pool.query(`SELECT total FROM ${this.s}.escrow_items WHERE sku = $1`, [sku]);
    return Number((existing.rows[0] as { total: string }).total) === total ? "exists" : "conflict";
  }

  async acquire(q: AcquireRequest): Promise<AcquireResult | null> {
    const now = Math.floor(q.nowMs);
    return this.locked(q.sku, async (c) => {
      await this.reclaim(c, q.sku, now);
      const pool = Number(((await c.query(`SELECT pool FROM ${this.s}.escrow_items WHERE sku = $1`, [q.sku])).rows[0] as { pool: string }).pool);
      const cur = (await c.query(`SELECT epoch, held, expires_at_ms FROM ${this.s}.escrow_leases WHERE sku = $1 AND region = $2 FOR UPDATE`, [q.sku, q.region])).rows[0] as
        | { epoch: string; held: string; expires_at_ms: string }
        | undefined;
      let epoch = cur ? Number(cur.epoch) : 0;
      const held = cur ? Number(cur.held) : 0;
      const expires = cur ? Number(cur.expires_at_ms) : 0;
      let lost = false;
      if (q.fresh || expires < now || epoch !== q.epoch) {
        lost = !q.fresh && epoch !== 0;
        epoch += 1;
      }
      const granted = Math.max(0, Math.min(q.want, pool));
      const lease = { epoch, held: held + granted, expiresAtMs: now + Math.ceil(q.leaseTtlMs), reserved: q.reserved };
      await c.query(
        `INSERT INTO ${this.s}.escrow_leases (sku, region, epoch, held, expires_at_ms, reserved) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (sku, region) DO UPDATE SET epoch = $3, held = $4, expires_at_ms = $5, reserved = $6`,
        [q.sku, q.region, lease.epoch, lease.held, lease.expiresAtMs, lease.reserved],
      );
      if (granted > 0) {
        await c.query(`UPDATE ${this.s}.escrow_items SET pool = pool - $2 WHERE sku = $1`, [q.sku, granted]);
        await this.ledger(c, q.sku, q.region, "grant", granted, epoch, now);
      }
      const elsewhere = await c.query(
        `SELECT COALESCE(SUM(held), 0)::bigint AS n, COALESCE(SUM(GREATEST(held - reserved, 0)), 0)::bigint AS f
         FROM ${this.s}.escrow_leases WHERE sku = $1 AND region <> $2 AND expires_at_ms >= $3`,
        [q.sku, q.region, now],
      );
      const e = elsewhere.rows[0] as { n: string; f: string };
      return { lease, granted, pool: pool - granted, heldElsewhere: Number(e.n), freeElsewhere: Number(e.f), lost };
    });
  }

  private async ledger(c: Tx, sku: string, region: string, kind: string, qty: number, epoch: number, atMs: number): Promise<void> {
    await c.query(`INSERT INTO ${this.s}.escrow_ledger (sku, region, kind, qty, epoch, at_ms) VALUES ($1, $2, $3, $4, $5, $6)`, [sku, region, kind, qty, epoch, atMs]);
  }

  async release(sku: string, region: string, epoch: number, qty: number, nowMs: number): Promise<number> {
    const n = await this.locked(sku, async (c) => {
      const cur = await c.query(`SELECT held FROM ${this.s}.escrow_leases WHERE sku = $1 AND region = $2 AND epoch = $3 FOR UPDATE`, [sku, region, epoch]);
      const row = cur.rows[0] as { held: string } | undefined;
      if (!row) return 0;
      const moved = Math.max(0, Math.min(qty, Number(row.held)));
      await c.query(`UPDATE ${this.s}.escrow_leases SET held = held - $3 WHERE sku = $1 AND region = $2`, [sku, region, moved]);
      if (moved > 0) {
        await c.query(`UPDATE ${this.s}.escrow_items SET pool = pool + $2 WHERE sku = $1`, [sku, moved]);
        await this.ledger(c, sku, region, "return", moved, epoch, Math.floor(nowMs));
      }
      return moved;
    });
    return n ?? 0;
  }

  async recordSales(sku: string, region: string, epoch: number, sales: readonly SaleRequest[], nowMs: number): Promise<SaleOutcome[]> {
    if (sales.length === 0) return [];
    await this.migrate();
    const now = Math.floor(nowMs);
    return this.tx(async (c) => {
      // Lock the lease row first; every sale of the batch is then checked against the locked value.
      const lease = (await c.query(`SELECT epoch, held FROM ${this.s}.escrow_leases WHERE sku = $1 AND region = $2 FOR UPDATE`, [sku, region])).rows[0] as
        | { epoch: string; held: string }
        | undefined;
      let held = lease && Number(lease.epoch) === epoch ? Number(lease.held) : -1;
      const out: SaleOutcome[] = [];
      let sold = 0;
      for (const sale of sales) {
        const ins = held < sale.qty ? null : await c.query(
          `INSERT INTO ${this.s}.escrow_sales (sku, sale_id, region, epoch, qty, at_ms) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sku, sale_id) DO NOTHING`,
          [sku, sale.saleId, region, epoch, sale.qty, now],
        );
        if (ins?.rowCount === 1) {
          held -= sale.qty;
          sold += sale.qty;
          out.push("sold");
        } else {
          const dup = await c.query(`SELECT 1 FROM ${this.s}.escrow_sales WHERE sku = $1 AND sale_id = $2`, [sku, sale.saleId]);
          out.push(dup.rowCount ? "duplicate" : "lease-lost");
        }
      }
      if (sold > 0) {
        await c.query(`UPDATE ${this.s}.escrow_leases SET held = held - $3, sold = sold + $3 WHERE sku = $1 AND region = $2`, [sku, region, sold]);
        await this.ledger(c, sku, region, "sale", sold, epoch, now);
      }
      return out;
    }, this.pool);
  }

  async findSale(sku: string, saleId: string): Promise<SaleRecord | null> {
    await this.migrate();
    const r = await this.pool.query(`SELECT region, qty, at_ms FROM ${this.s}.escrow_sales WHERE sku = $1 AND sale_id = $2`, [sku, saleId]);
    const row = r.rows[0] as { region: string; qty: string; at_ms: string } | undefined;
    return row ? { saleId, sku, region: row.region, qty: Number(row.qty), atMs: Number(row.at_ms) } : null;
  }

  async reclaimExpired(sku: string, nowMs: number): Promise<number> {
    return (await this.locked(sku, (c) => this.reclaim(c, sku, Math.floor(nowMs)))) ?? 0;
  }

  async audit(sku: string, nowMs: number): Promise<InventoryAudit | null> {
    await this.migrate();
    // One REPEATABLE READ snapshot so the pool, leases and sold figures agree with each other.
    const c = await this.pool.connect();
    try {
      await c.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      const item = (await c.query(`SELECT total, pool, allocation FROM ${this.s}.escrow_items WHERE sku = $1`, [sku])).rows[0] as
        | { total: string; pool: string; allocation: Record<string, number> }
        | undefined;
      const leases = (await c.query(`SELECT region, epoch, held, sold, expires_at_ms, reserved FROM ${this.s}.escrow_leases WHERE sku = $1`, [sku])).rows as {
        region: string; epoch: string; held: string; sold: string; expires_at_ms: string; reserved: string;
      }[];
      await c.query("COMMIT");
      if (!item) return null;
      const sold = leases.reduce((t, l) => t + Number(l.sold), 0);
      const out: InventoryAudit = { sku, total: Number(item.total), pool: Number(item.pool), sold, leases: {}, allocation: item.allocation };
      for (const l of leases) {
        const expiresAtMs = Number(l.expires_at_ms);
        out.leases[l.region] = { epoch: Number(l.epoch), held: Number(l.held), expiresAtMs, reserved: Number(l.reserved), live: expiresAtMs >= nowMs };
      }
      return out;
    } catch (err) {
      await c.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.pool.end(), this.maintenance.end()]);
  }
}
