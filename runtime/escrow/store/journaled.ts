/**
 * Redis for the hot path, PostgreSQL as the authority: the global pool, leases, holds and sale fencing
 * live in Redis (Lua, as RedisEscrowStore); every sale is journaled to PostgreSQL (journal-sql.ts)
 * before it is acknowledged, and PostgreSQL refuses a batch that would oversell or that Redis sold at
 * positions it had already sold (a rollback).
 *
 * Redis discontinuities (restarted empty, rolled back, failed over) are detected by `verify` and Redis
 * is repaired from the journal: journal-repair.ts.
 */
import type pg from "pg";
import { RedisEscrowStore, wellFormed } from "./redis.js";
import { journalStatements, pgArrayLiteral } from "./journal-sql.js";
import { JournalRepair, entryOf, type JournalEntry, type JournalItem } from "./journal-repair.js";
import { GroupCommit } from "./group-commit.js";
import { closePool, inTransaction, openPool } from "../../common/pg-tx.js";
import { newGeneration } from "./memory.js";
import { PG_QUERY_TIMEOUT_MS, SYNC_COMMIT } from "./postgres.js";
import { pgReservationSecret } from "./reservation-secret.js";
import type {
  AcquireRequest,
  AcquireResult,
  CreateOutcome,
  EscrowStore,
  Fence,
  HoldRequest,
  HoldResult,
  InventoryAudit,
  RefundOutcome,
  SaleOutcome,
  SaleRecord,
  SaleRequest,
  VerifyReport,
} from "./port.js";

export interface JournaledEscrowStoreOptions {
  redisUrl: string;
  postgresUrl: string;
  prefix?: string;
  /** Schema of the journal tables (created if missing). */
  schema?: string;
  /** Longest wait for one Redis command's reply, ms (default REDIS_COMMAND_TIMEOUT_MS, redis.ts). */
  redisCommandTimeoutMs?: number;
  /** Longest wait for one journal query's answer, ms (default PG_QUERY_TIMEOUT_MS, postgres.ts). */
  queryTimeoutMs?: number;
}

export class JournaledEscrowStore implements EscrowStore {
  readonly kind = "redis+postgres" as const;
  readonly redis: RedisEscrowStore;
  readonly pool: pg.Pool;
  private readonly s: string;
  private readonly queryTimeoutMs: number;
  private ready: Promise<void> | null = null;
  /** Verify and repair of Redis from the journal (journal-repair.ts). */
  private readonly repair: JournalRepair;
  /**
   * Group commit of both halves of a sale (group-commit.ts): the batches of one lease that arrive while
   * its Redis sale script is in flight share the next call; the sales of every lease of a SKU and
   * generation that arrive while journal writes are in flight share the next journal transaction.
   */
  private readonly journalWrites = new GroupCommit<JournalEntry, string>(async (key, entries) => {
    const [sku, generation] = JSON.parse(key) as [string, string];
    const verdict = await this.journal(sku, generation, entries);
    return entries.map(() => verdict);
  }, 2);

  constructor(o: JournaledEscrowStoreOptions) {
    const schema = o.schema ?? "meridian_escrow_journal";
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`schema: got "${schema}"; expected a lower-case SQL identifier`);
    this.s = schema;
    this.redis = new RedisEscrowStore({ url: o.redisUrl, prefix: o.prefix, commandTimeoutMs: o.redisCommandTimeoutMs });
    // Journal commits wait for the WAL flush and the synchronous standby whatever the database's default (postgres.ts).
    // A hung journal (a stopped server, a blackhole) fails each query after queryTimeoutMs, not never (postgres.ts), its
    // wait for a connection included (common/pg-tx.ts, openPool).
    this.queryTimeoutMs = o.queryTimeoutMs ?? PG_QUERY_TIMEOUT_MS;
    this.pool = openPool({ connectionString: o.postgresUrl, max: 8, connectionTimeoutMillis: 5_000, query_timeout: this.queryTimeoutMs, options: SYNC_COMMIT });
    this.repair = new JournalRepair({
      redis: this.redis,
      pool: this.pool,
      schema: this.s,
      journalItem: (sku, c, lock) => this.journalItem(sku, c, lock),
      journal: (sku, generation, sales) => this.journal(sku, generation, sales),
      tx: (fn) => this.tx(fn),
    });
  }

  migrate(): Promise<void> {
    this.ready ??= this.tx(async (c) => {
      await c.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`meridian-escrow-${this.s}`]);
      for (const sql of journalStatements(this.s)) await c.query(sql);
    }).catch((err: unknown) => {
      this.ready = null;
      throw err;
    });
    return this.ready;
  }

  private tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, fn);
  }

  private async journalItem(sku: string, c: pg.Pool | pg.PoolClient = this.pool, lock = false): Promise<JournalItem | null> {
    await this.migrate();
    const row = (await c.query(`SELECT total, allocation, gen, redis_run_id, sold, gen_units, gen_max_pos, gen_refunds FROM ${this.s}.journal_items WHERE sku = $1${lock ? " FOR UPDATE" : ""}`, [sku]))
      .rows[0] as (Record<string, string> & { allocation: Record<string, number> }) | undefined;
    if (!row) return null;
    return {
      total: Number(row["total"]),
      allocation: row.allocation,
      gen: row["gen"]!,
      runId: row["redis_run_id"]!,
      sold: Number(row["sold"]),
      genUnits: Number(row["gen_units"]),
      genMaxPos: Number(row["gen_max_pos"]),
      genRefunds: Number(row["gen_refunds"]),
    };
  }

  async createItem(sku: string, total: number, allocation: Record<string, number>, nowMs: number): Promise<CreateOutcome> {
    await this.migrate();
    const gen = newGeneration();
    const ins = await this.pool.query(`INSERT INTO ${this.s}.journal_items (sku, total, allocation, gen) VALUES ($1, $2, $3, $4) ON CONFLICT (sku) DO NOTHING`, [
      sku,
      total,
      JSON.stringify(allocation),
      gen,
    ]);
    if (ins.rowCount === 1) {
      await this.redis.restore(sku, total, 0, gen, allocation, {});
      await this.pool.query(`UPDATE ${this.s}.journal_items SET redis_run_id = $2 WHERE sku = $1`, [sku, await this.redis.runId()]);
      return "created";
    }
    const j = (await this.journalItem(sku))!;
    if (j.total !== total) return "conflict";
    await this.verify(sku, nowMs);
    return "exists";
  }

  /**
   * Compare Redis with the journal and repair it: rebuild on a discontinuity, journal sales Redis made
   * that the journal missed, apply refunds the journal made that Redis missed (journal-repair.ts).
   */
  verify(sku: string, nowMs: number): Promise<VerifyReport | null> {
    return this.repair.verify(sku, nowMs);
  }

  /** Journal sales of one Redis generation in one transaction (journal-sql.ts); `ok`, or why the journal refused them. */
  private async journal(sku: string, generation: string, sales: readonly JournalEntry[]): Promise<string> {
    await this.migrate();
    try {
      // Seven arrays, not one JSON parameter: unpacking JSON costs PostgreSQL more than the client saves encoding them.
      // Sent as their literals (pgArrayLiteral: the text pg would send for the arrays, without its two regex replaces
      // per element — callgrind, durable server: the encoding ~16k -> ~6k instructions a sale); one element of each per sale.
      const col = (k: 0 | 1 | 2 | 3 | 4 | 5 | 6) => pgArrayLiteral(sales.map((e) => e[k]));
      const r = await this.pool.query(`SELECT ${this.s}.journal_sale_batch($1, $2, $3, $4, $5, $6, $7, $8, $9) AS v`, [sku, generation, col(0), col(1), col(2), col(3), col(4), col(5), col(6)]);
      return (r.rows[0] as { v: string }).v;
    } catch (err) {
      if ((err as { code?: string }).code === "ME001") return "over-total";
      throw err;
    }
  }

  /**
   * The Redis sale script, then the journal write: in series, never overlapped for one batch. What the journal records
   * is what Redis decided — each sale's outcome (sold, duplicate, over the buyer's cap, under a lost lease) and its
   * position in the generation, which is how the journal catches a Redis that was rolled back (journal-sql.ts); neither
   * is known before the script answers. Journaled first or alongside, a sale Redis then refused (a fenced lease, the cap,
   * a duplicate id) would stand in the authoritative record, its units counted sold that Redis never moved out of a lease.
   * Batches do overlap: the SKU's next script (holds, other regions' batches) runs while this journal write is out. A region
   * keeps its next batch until this one is answered, though (region-commits.ts): see there why.
   */
  async recordSales(sku: string, region: string, fence: Fence, sales: readonly SaleRequest[], nowMs: number, cap: number): Promise<SaleOutcome[]> {
    if (sales.length === 0) return [];
    // Redis records the batch at this time (the sale's time in both stores).
    const atMs = Math.floor(nowMs);
    const sold = await this.redis.recordSalesAt(sku, region, fence, sales, atMs, cap);
    if (!sold) {
      await this.verify(sku, nowMs); // Redis lost the item: rebuild it; this region's lease is void
      return sales.map(() => "lease-lost");
    }
    const { outcomes, positions } = sold;
    const journal: JournalEntry[] = [];
    for (let i = 0; i < sales.length; i++) {
      if (outcomes[i] !== "sold" && outcomes[i] !== "duplicate") continue;
      const s = sales[i]!;
      journal.push([s.saleId, s.qty, wellFormed(s.user), positions[i]!, region, fence.epoch, atMs]);
    }
    if (journal.length === 0) return outcomes;
    // Durable once this resolves: the journal transaction that carried these sales has committed.
    const [verdict] = await this.journalWrites.submit(JSON.stringify([sku, fence.generation]), journal);
    if (verdict === "ok") return outcomes;
    if (verdict === "unknown-item") throw new Error(`the journal has no item ${sku}`);
    // Redis cannot be trusted: nothing of this batch is acknowledged unless the journal already had it.
    if (verdict === "stale-generation") await this.verify(sku, nowMs);
    else await this.repair.rebuild(sku, `the journal refused a sale batch: ${verdict}`, nowMs, fence.generation);
    return Promise.all(sales.map(async (s) => ((await this.journaledSale(sku, s.saleId)) ? "duplicate" : "lease-lost")));
  }

  private async journaledSale(sku: string, saleId: string): Promise<SaleRecord | null> {
    await this.migrate();
    const row = (await this.pool.query(`SELECT region, user_id, qty, at_ms, refunded_at_ms FROM ${this.s}.journal_sales WHERE sku = $1 AND sale_id = $2`, [sku, saleId])).rows[0] as
      { region: string; user_id: string; qty: string; at_ms: string; refunded_at_ms: string | null } | undefined;
    return row ? { saleId, sku, region: row.region, user: row.user_id, qty: Number(row.qty), atMs: Number(row.at_ms), refunded: row.refunded_at_ms !== null } : null;
  }

  /** Only the journal acknowledges: a sale Redis has but the journal lacks is journaled first. */
  async findSale(sku: string, saleId: string): Promise<SaleRecord | null> {
    const known = await this.journaledSale(sku, saleId);
    if (known) return known;
    const [inRedis, state] = await Promise.all([this.redis.sale(sku, saleId), this.redis.state(sku)]);
    if (!inRedis || !state) return null;
    const verdict = await this.journal(sku, state.generation, [entryOf(inRedis)]);
    return verdict === "ok" ? this.journaledSale(sku, saleId) : null;
  }

  /** Journal every sale Redis holds in this generation that the journal lacks. Returns sales journaled. */
  backfill(sku: string): Promise<number> {
    return this.repair.backfill(sku);
  }

  /** A refund is recorded in the journal first (it is the authority), then applied to Redis. */
  async refund(sku: string, saleId: string, nowMs: number): Promise<RefundOutcome> {
    if (!(await this.findSale(sku, saleId))) return "unknown";
    const out = await this.tx(async (c): Promise<{ outcome: RefundOutcome; qty: number; user: string; gen: string }> => {
      const j = (await this.journalItem(sku, c, true))!;
      const sale = (await c.query(`SELECT qty, user_id, refunded_at_ms FROM ${this.s}.journal_sales WHERE sku = $1 AND sale_id = $2 FOR UPDATE`, [sku, saleId])).rows[0] as {
        qty: string;
        user_id: string;
        refunded_at_ms: string | null;
      };
      if (sale.refunded_at_ms !== null) return { outcome: "already-refunded", qty: 0, user: "", gen: j.gen };
      await c.query(`UPDATE ${this.s}.journal_sales SET refunded_at_ms = $3, refunded_gen = $4 WHERE sku = $1 AND sale_id = $2`, [sku, saleId, Math.floor(nowMs), j.gen]);
      await c.query(`UPDATE ${this.s}.journal_items SET sold = sold - $2, gen_refunds = gen_refunds + 1 WHERE sku = $1`, [sku, Number(sale.qty)]);
      return { outcome: "refunded", qty: Number(sale.qty), user: sale.user_id, gen: j.gen };
    });
    // Only to the generation the refund was journaled under: a Redis rebuilt since counts it already (its sold is the journal's).
    if (out.outcome === "refunded") await this.redis.applyRefund(sku, saleId, out.qty, out.user, out.gen).catch(() => undefined); // verify applies it later
    return out.outcome;
  }

  /** Redis answers null for an item it lost: rebuild it from the journal and try once more. */
  private async withItem<T>(sku: string, nowMs: number, op: () => Promise<T | null>): Promise<T | null> {
    const r = await op();
    if (r !== null) return r;
    return (await this.verify(sku, nowMs)) ? op() : null;
  }

  acquire(req: AcquireRequest): Promise<AcquireResult | null> {
    return this.withItem(req.sku, req.nowMs, () => this.redis.acquire(req));
  }

  audit(sku: string, nowMs: number): Promise<InventoryAudit | null> {
    return this.withItem(sku, nowMs, () => this.redis.audit(sku, nowMs));
  }

  release(sku: string, region: string, fence: Fence, qty: number, _nowMs: number): Promise<number> {
    return this.redis.release(sku, region, fence, qty);
  }

  transfer(sku: string, from: string, fence: Fence, to: string, qty: number, nowMs: number): Promise<number> {
    return this.redis.transfer(sku, from, fence, to, qty, nowMs);
  }

  hold(sku: string, req: HoldRequest): Promise<HoldResult> {
    return this.redis.hold(sku, req);
  }

  releaseHold(sku: string, user: string, holdId: string): Promise<void> {
    return this.redis.releaseHold(sku, user, holdId);
  }

  reclaimExpired(sku: string, nowMs: number): Promise<number> {
    return this.redis.reclaimExpired(sku, nowMs);
  }

  /** Within the command and query timeouts whatever the servers do: connections still open then are destroyed (common/pg-tx.ts). */
  /** Kept in the journal (the durable record), not in Redis: a Redis rebuilt from the journal keeps earlier ids checkable. */
  async reservationSecret(): Promise<Buffer> {
    await this.migrate();
    return pgReservationSecret(this.pool, this.s);
  }

  async close(): Promise<void> {
    await Promise.all([this.redis.close(), closePool(this.pool, this.queryTimeoutMs)]);
  }
}
