/**
 * Verify and repair for JournaledEscrowStore (journaled.ts), kept apart from its hot path: Redis compared
 * with the PostgreSQL journal, and repaired from it.
 *
 * Redis discontinuities — restarted empty, restored from an older RDB snapshot, failed over to a
 * replica that missed writes — are detected by `verify` (run on every service tick, and whenever Redis
 * or the journal refuses an operation): the Redis run id, the item's generation and its sale-position
 * watermark are compared with the journal's. On a discontinuity Redis is rebuilt from the journal
 * under a new generation — sold = the journal's, every unsold unit in the pool, no leases — so every
 * region's lease is lost and its ledger voided on its next renewal. A sale Redis recorded that the
 * journal missed (a crash between the two writes, a PostgreSQL failover) is journaled on the next
 * `verify` (backfill); so is a refund PostgreSQL recorded that Redis missed, and one Redis applied that the
 * journal lost (a failover to an asynchronous replica: Redis applies only refunds the journal committed).
 */
import type pg from "pg";
import { wellFormed, type RedisEscrowStore, type RedisItemState } from "./redis.js";
import { newGeneration } from "./memory.js";
import type { VerifyReport } from "./port.js";

export interface JournalItem {
  total: number;
  allocation: Record<string, number>;
  gen: string;
  runId: string;
  sold: number;
  genUnits: number;
  genMaxPos: number;
  genRefunds: number;
}

/**
 * One sale as the journal records it — sale id, units, buyer, where Redis sold it (its position in the
 * generation), region and lease epoch, time — one element of each of journal_sale_batch's arrays (journal-sql.ts).
 */
export type JournalEntry = [saleId: string, qty: number, user: string, position: number, region: string, epoch: number, atMs: number];
export const entryOf = (s: { saleId: string; qty: number; user: string; position: number; region: string; atMs: number }): JournalEntry => [
  s.saleId,
  s.qty,
  wellFormed(s.user),
  s.position,
  s.region,
  0,
  Math.floor(s.atMs),
];

/** What verify and repair use of the store: its Redis, its journal, and the journal's reads and writes. */
export interface JournalAccess {
  readonly redis: RedisEscrowStore;
  readonly pool: pg.Pool;
  /** Schema of the journal tables. */
  readonly schema: string;
  journalItem(sku: string, c?: pg.Pool | pg.PoolClient, lock?: boolean): Promise<JournalItem | null>;
  /** Journal sales of one Redis generation in one transaction; `ok`, or why the journal refused them. */
  journal(sku: string, generation: string, sales: readonly JournalEntry[]): Promise<string>;
  tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T>;
}

/** Why Redis cannot be trusted for this SKU, or null when it agrees with the journal. */
function discontinuity(j: JournalItem, r: RedisItemState | null, runId: string): string | null {
  if (!r) return "Redis has no record of the item (restarted empty, flushed or failed over)";
  if (r.generation !== j.gen) return `Redis holds generation ${r.generation || "(none)"}, the journal trusts ${j.gen || "(none)"}`;
  if (j.runId !== "" && runId !== j.runId) return `Redis restarted or failed over (run id ${j.runId.slice(0, 8)} → ${runId.slice(0, 8)})`;
  if (r.seq < j.genMaxPos) return `Redis was rolled back: it has issued sale positions up to ${r.seq}, the journal holds sales up to ${j.genMaxPos}`;
  // Every script keeps pool + Σ held + sold = total: an account that does not balance lost a key (an allkeys-* eviction, a DEL).
  if (r.total !== j.total || r.pool + r.held + r.sold !== r.total)
    return `Redis lost part of the item: pool ${r.pool} + held ${r.held} + sold ${r.sold} of total ${r.total} (the journal's ${j.total})`;
  // Fewer sales or refunds than its scripts recorded (an older version's scripts record none: never more than there are).
  if (r.counted && (r.sales < r.counted.sales || r.refunds < r.counted.refunds)) {
    return `Redis lost part of the item: ${r.sales} of ${r.counted.sales} sales, ${r.refunds} of ${r.counted.refunds} refunds recorded`;
  }
  return null;
}

export class JournalRepair {
  private readonly redis: RedisEscrowStore;
  private readonly pool: pg.Pool;
  private readonly s: string;
  /** Redis's position watermark at the previous verify, per SKU and generation (backfill trigger). */
  private readonly lastSeq = new Map<string, number>();

  constructor(private readonly store: JournalAccess) {
    this.redis = store.redis;
    this.pool = store.pool;
    this.s = store.schema;
  }

  /**
   * Compare Redis with the journal and repair it: rebuild on a discontinuity, journal sales Redis made
   * that the journal missed, apply refunds the journal made that Redis missed.
   */
  async verify(sku: string, nowMs: number): Promise<VerifyReport | null> {
    const j = await this.store.journalItem(sku);
    if (!j) return null;
    // Journal first, then Redis: in a healthy system Redis only runs ahead of what was journaled.
    const [runId, r] = await Promise.all([this.redis.runId(), this.redis.state(sku)]);
    const why = discontinuity(j, r, runId);
    if (why) return this.rebuild(sku, why, nowMs, j.gen);
    if (j.runId === "") await this.pool.query(`UPDATE ${this.s}.journal_items SET redis_run_id = $2 WHERE sku = $1 AND redis_run_id = ''`, [sku, runId]);
    const key = `${sku}\u0000${j.gen}`;
    const previous = this.lastSeq.get(key) ?? 0;
    this.lastSeq.set(key, r!.seq);
    const notes: string[] = [];
    if (j.genRefunds > r!.refunds) notes.push(`${await this.backfillRefunds(sku, j.gen)} refunds applied to Redis`);
    // Refunds Redis applied that the journal lacks: Redis applies only what the journal committed, so the journal lost
    // them (a failover to a replica that missed its last transactions). Journal them again.
    if (r!.refunds > j.genRefunds) notes.push(`${await this.journalRefunds(sku, j.gen, nowMs)} refunds journaled from Redis`);
    // Sales Redis had sold by the previous verify that are still not journaled: the write that should
    // have journaled them failed (a crash, a PostgreSQL failover). Journal them now.
    if (j.genUnits < previous) notes.push(`${await this.backfill(sku)} sales journaled from Redis`);
    if (notes.length) return { sku, generation: j.gen, action: "backfilled", reason: notes.join("; ") };
    // At rest both must agree on units sold; if they do not, Redis cannot be trusted.
    const again = await this.store.journalItem(sku);
    if (again && again.sold === j.sold && r!.seq === j.genUnits && r!.refunds === j.genRefunds && r!.sold !== j.sold) {
      return this.rebuild(sku, `Redis counts ${r!.sold} sold, the journal ${j.sold}`, nowMs, j.gen);
    }
    return { sku, generation: j.gen, action: "none", reason: "Redis agrees with the journal" };
  }

  /**
   * Rebuild Redis from the journal under a new generation, holding the journal's item lock (journal
   * writes wait). `distrusted` is the generation found wanting: if the journal already trusts another,
   * a concurrent process rebuilt it first and there is nothing to do.
   */
  async rebuild(sku: string, reason: string, nowMs: number, distrusted: string): Promise<VerifyReport> {
    return this.store.tx(async (c) => {
      const j = (await this.store.journalItem(sku, c, true))!;
      if (j.gen !== distrusted) return { sku, generation: j.gen, action: "none" as const, reason: "already rebuilt by another process" };
      const runId = await this.redis.runId();
      const rows = (await c.query(`SELECT user_id, SUM(qty)::bigint AS n FROM ${this.s}.journal_sales WHERE sku = $1 AND refunded_at_ms IS NULL GROUP BY user_id`, [sku])).rows as {
        user_id: string;
        n: string;
      }[];
      const bought = Object.fromEntries(rows.map((x) => [x.user_id, Number(x.n)]));
      const sold = rows.reduce((t, x) => t + Number(x.n), 0);
      if (sold !== j.sold) throw new Error(`journal of ${sku} is inconsistent: sales add up to ${sold}, the item says ${j.sold}`);
      const gen = newGeneration();
      await this.redis.restore(sku, j.total, sold, gen, j.allocation, bought);
      await c.query(`UPDATE ${this.s}.journal_items SET gen = $2, redis_run_id = $3, gen_units = 0, gen_max_pos = 0, gen_refunds = 0 WHERE sku = $1`, [sku, gen, runId]);
      await c.query(`INSERT INTO ${this.s}.journal_rebuilds (sku, at_ms, old_gen, new_gen, sold, reason) VALUES ($1, $2, $3, $4, $5, $6)`, [sku, Math.floor(nowMs), j.gen, gen, sold, reason]);
      return { sku, generation: gen, action: "rebuilt" as const, reason };
    });
  }

  /** Journal every sale Redis holds in this generation that the journal lacks. Returns sales journaled. */
  async backfill(sku: string): Promise<number> {
    const state = await this.redis.state(sku);
    if (!state) return 0;
    const inRedis = await this.redis.sales(sku);
    if (inRedis.length === 0) return 0;
    const known = new Set(
      ((await this.pool.query(`SELECT sale_id FROM ${this.s}.journal_sales WHERE sku = $1 AND sale_id = ANY($2::text[])`, [sku, inRedis.map((s) => s.saleId)])).rows as { sale_id: string }[]).map(
        (x) => x.sale_id,
      ),
    );
    let n = 0;
    for (const s of inRedis.filter((x) => !known.has(x.saleId)).sort((a, b) => a.position - b.position)) {
      if ((await this.store.journal(sku, state.generation, [entryOf(s)])) === "ok") n++;
    }
    return n;
  }

  private async backfillRefunds(sku: string, gen: string): Promise<number> {
    const rows = (await this.pool.query(`SELECT sale_id, qty, user_id FROM ${this.s}.journal_sales WHERE sku = $1 AND refunded_gen = $2`, [sku, gen])).rows as {
      sale_id: string;
      qty: string;
      user_id: string;
    }[];
    const applied = await this.redis.refundedIds(sku);
    let n = 0;
    for (const x of rows) if (!applied.has(x.sale_id) && (await this.redis.applyRefund(sku, x.sale_id, Number(x.qty), x.user_id, gen)) === "refunded") n++;
    return n;
  }

  /** Journal the refunds Redis applied in this generation that the journal does not have (see verify). Returns refunds journaled. */
  private async journalRefunds(sku: string, gen: string, nowMs: number): Promise<number> {
    const ids = [...(await this.redis.refundedIds(sku))];
    if (ids.length === 0) return 0;
    return this.store.tx(async (c) => {
      const j = (await this.store.journalItem(sku, c, true))!;
      if (j.gen !== gen) return 0; // rebuilt meanwhile: the new generation's Redis has the journal's account
      const rows = (
        await c.query(`UPDATE ${this.s}.journal_sales SET refunded_at_ms = $3, refunded_gen = $4 WHERE sku = $1 AND sale_id = ANY($2::text[]) AND refunded_at_ms IS NULL RETURNING qty`, [
          sku,
          ids,
          Math.floor(nowMs),
          gen,
        ])
      ).rows as { qty: string }[];
      if (rows.length === 0) return 0;
      const units = rows.reduce((t, x) => t + Number(x.qty), 0);
      await c.query(`UPDATE ${this.s}.journal_items SET sold = sold - $2, gen_refunds = gen_refunds + $3 WHERE sku = $1`, [sku, units, rows.length]);
      return rows.length;
    });
  }
}
