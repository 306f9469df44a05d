/**
 * Redis for the hot path, PostgreSQL for durability: the global pool, leases and sale fencing live in
 * Redis (Lua, as RedisEscrowStore), and every sale is journaled to PostgreSQL before it is
 * acknowledged. Redis decides (atomically, fenced by the lease epoch); PostgreSQL remembers.
 *
 * - A sale batch: Redis moves held → sold first, then the sold (and duplicate) sale ids are inserted
 *   into the journal (idempotent) in one transaction; only then are they acknowledged. A crash between
 *   the two leaves a sale in Redis that nobody was told about; `backfill` copies it to the journal.
 * - Redis losing its data (a restart without persistence) loses no acknowledged sale: `createItem`
 *   rebuilds a missing Redis item from the journal with pool = total − journaled sales, so units
 *   already sold can never be sold again.
 */
import pg from "pg";
import { RedisEscrowStore } from "./redis.js";
import type { AcquireRequest, AcquireResult, CreateOutcome, EscrowStore, InventoryAudit, SaleOutcome, SaleRecord, SaleRequest } from "../store.js";

export interface JournaledEscrowStoreOptions {
  redisUrl: string;
  postgresUrl: string;
  prefix?: string;
  /** Schema of the journal tables (created if missing). */
  schema?: string;
}

export class JournaledEscrowStore implements EscrowStore {
  readonly kind = "redis+postgres" as const;
  readonly redis: RedisEscrowStore;
  readonly pool: pg.Pool;
  private readonly s: string;
  private ready: Promise<void> | null = null;

  constructor(o: JournaledEscrowStoreOptions) {
    const schema = o.schema ?? "meridian_escrow_journal";
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`schema: got "${schema}"; expected a lower-case SQL identifier`);
    this.s = schema;
    this.redis = new RedisEscrowStore({ url: o.redisUrl, prefix: o.prefix });
    this.pool = new pg.Pool({ connectionString: o.postgresUrl, max: 8 });
    this.pool.on("error", () => undefined);
  }

  migrate(): Promise<void> {
    this.ready ??= (async () => {
      const c = await this.pool.connect();
      try {
        await c.query("BEGIN");
        await c.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`meridian-escrow-${this.s}`]);
        await c.query(`CREATE SCHEMA IF NOT EXISTS ${this.s}`);
        await c.query(`CREATE TABLE IF NOT EXISTS ${this.s}.journal_items (sku text PRIMARY KEY, total bigint NOT NULL CHECK (total >= 0), allocation jsonb NOT NULL)`);
        await c.query(`CREATE TABLE IF NOT EXISTS ${this.s}.journal_sales (sku text NOT NULL REFERENCES ${this.s}.journal_items(sku), sale_id text NOT NULL,
          region text NOT NULL, epoch bigint NOT NULL, qty bigint NOT NULL CHECK (qty > 0), at_ms bigint NOT NULL, PRIMARY KEY (sku, sale_id))`);
        await c.query("COMMIT");
      } catch (err) {
        await c.query("ROLLBACK").catch(() => undefined);
        throw err;
      } finally {
        c.release();
      }
    })();
    return this.ready;
  }

  async createItem(sku: string, total: number, allocation: Record<string, number>, nowMs: number): Promise<CreateOutcome> {
    await this.migrate();
    const ins = await this.pool.query(`INSERT INTO ${this.s}.journal_items (sku, total, allocation) VALUES ($1, $2, $3) ON CONFLICT (sku) DO NOTHING`, [sku, total, JSON.stringify(allocation)]);
    if (ins.rowCount === 0) {
      const row = (await this.pool.query(`SELECT total, allocation FROM ${this.s}.journal_items WHERE sku = $1`, [sku])).rows[0] as { total: string; allocation: Record<string, number> };
      if (Number(row.total) !== total) return "conflict";
      await this.rebuild(sku, Number(row.total), row.allocation, nowMs);
      return "exists";
    }
    const r = await this.redis.createItem(sku, total, allocation);
    return r === "conflict" ? "conflict" : "created";
  }

  /** Recreate an item Redis lost, with everything the journal says is sold taken out of the pool. */
  private async rebuild(sku: string, total: number, allocation: Record<string, number>, nowMs: number): Promise<void> {
    if (await this.redis.audit(sku, nowMs)) return;
    const sold = Number(((await this.pool.query(`SELECT COALESCE(SUM(qty), 0)::bigint AS q FROM ${this.s}.journal_sales WHERE sku = $1`, [sku])).rows[0] as { q: string }).q);
    await this.redis.restore(sku, total, total - sold, sold, allocation);
  }

  acquire(req: AcquireRequest): Promise<AcquireResult | null> {
    return this.redis.acquire(req);
  }

  release(sku: string, region: string, epoch: number, qty: number): Promise<number> {
    return this.redis.release(sku, region, epoch, qty);
  }

  async recordSales(sku: string, region: string, epoch: number, sales: readonly SaleRequest[], nowMs: number): Promise<SaleOutcome[]> {
    const outcomes = await this.redis.recordSales(sku, region, epoch, sales, nowMs);
    const journal = sales.filter((_, i) => outcomes[i] !== "lease-lost");
    if (journal.length > 0) await this.journal(sku, region, epoch, journal, Math.floor(nowMs));
    return outcomes;
  }

  private async journal(sku: string, region: string, epoch: number, sales: readonly SaleRequest[], atMs: number): Promise<void> {
    await this.migrate();
    const ids = sales.map((s) => s.saleId);
    const qtys = sales.map((s) => s.qty);
    await this.pool.query(
      `INSERT INTO ${this.s}.journal_sales (sku, sale_id, region, epoch, qty, at_ms)
       SELECT $1, id, $3, $4, qty, $5 FROM unnest($2::text[], $6::bigint[]) AS t(id, qty) ON CONFLICT (sku, sale_id) DO NOTHING`,
      [sku, ids, region, epoch, atMs, qtys],
    );
  }

  async findSale(sku: string, saleId: string): Promise<SaleRecord | null> {
    await this.migrate();
    const row = (await this.pool.query(`SELECT region, qty, at_ms FROM ${this.s}.journal_sales WHERE sku = $1 AND sale_id = $2`, [sku, saleId])).rows[0] as
      | { region: string; qty: string; at_ms: string }
      | undefined;
    if (row) return { saleId, sku, region: row.region, qty: Number(row.qty), atMs: Number(row.at_ms) };
    return this.redis.findSale(sku, saleId);
  }

  /** Reclaim expired leases, and journal any sale Redis has that the journal missed (a crash mid-commit). */
  async reclaimExpired(sku: string, nowMs: number): Promise<number> {
    await this.backfill(sku);
    return this.redis.reclaimExpired(sku, nowMs);
  }

  async backfill(sku: string): Promise<number> {
    await this.migrate();
    // Cheap check first: the two sides usually agree, and then there is nothing to copy.
    const count = Number(((await this.pool.query(`SELECT COUNT(*)::bigint AS n FROM ${this.s}.journal_sales WHERE sku = $1`, [sku])).rows[0] as { n: string }).n);
    if ((await this.redis.saleCount(sku)) === count) return 0;
    const inRedis = await this.redis.sales(sku);
    if (inRedis.length === 0) return 0;
    const known = new Set(
      ((await this.pool.query(`SELECT sale_id FROM ${this.s}.journal_sales WHERE sku = $1 AND sale_id = ANY($2::text[])`, [sku, inRedis.map((s) => s.saleId)])).rows as { sale_id: string }[]).map((r) => r.sale_id),
    );
    const missing = inRedis.filter((s) => !known.has(s.saleId));
    for (const s of missing) await this.journal(sku, s.region, 0, [s], s.atMs);
    return missing.length;
  }

  audit(sku: string, nowMs: number): Promise<InventoryAudit | null> {
    return this.redis.audit(sku, nowMs);
  }

  async close(): Promise<void> {
    await Promise.all([this.redis.close(), this.pool.end()]);
  }
}
