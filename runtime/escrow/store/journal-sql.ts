/**
 * The PostgreSQL journal behind Redis (journaled.ts): the authoritative record of units sold.
 *
 *   journal_items  per SKU: total, the Redis generation it trusts, the Redis run id it last saw, units
 *                  sold (CHECK sold ≤ total: PostgreSQL itself refuses to record an oversell), and this
 *                  generation's watermark — units journaled, highest position, refunds.
 *   journal_sales  every acknowledged sale with the Redis generation and position (p − q, p] it was sold at.
 *
 * `journal_sale_batch` journals one group commit under the item row lock. It refuses the batch — and the
 * caller rebuilds Redis — when Redis's generation is not the trusted one, when a position Redis
 * assigned is already journaled for another sale (Redis was rolled back and is selling again positions
 * it had sold: its counters went back), or when the batch would take sold past the total.
 */
import { secretTableSql } from "./reservation-secret.js";

export function journalStatements(s: string): string[] {
  return [
    `CREATE SCHEMA IF NOT EXISTS ${s}`,
    secretTableSql(s),
    `CREATE TABLE IF NOT EXISTS ${s}.journal_items (sku text PRIMARY KEY, total bigint NOT NULL CHECK (total >= 0), allocation jsonb NOT NULL)`,
    `ALTER TABLE ${s}.journal_items ADD COLUMN IF NOT EXISTS gen text NOT NULL DEFAULT '',
      ADD COLUMN IF NOT EXISTS redis_run_id text NOT NULL DEFAULT '', ADD COLUMN IF NOT EXISTS sold bigint NOT NULL DEFAULT 0,
      ADD COLUMN IF NOT EXISTS gen_units bigint NOT NULL DEFAULT 0, ADD COLUMN IF NOT EXISTS gen_max_pos bigint NOT NULL DEFAULT 0,
      ADD COLUMN IF NOT EXISTS gen_refunds bigint NOT NULL DEFAULT 0`,
    `DO $$ BEGIN
       ALTER TABLE ${s}.journal_items ADD CONSTRAINT journal_items_sold_within_total CHECK (sold >= 0 AND sold <= total);
     EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
    `CREATE TABLE IF NOT EXISTS ${s}.journal_sales (sku text NOT NULL REFERENCES ${s}.journal_items(sku), sale_id text NOT NULL,
      region text NOT NULL, epoch bigint NOT NULL, qty bigint NOT NULL CHECK (qty > 0), at_ms bigint NOT NULL, PRIMARY KEY (sku, sale_id))`,
    `ALTER TABLE ${s}.journal_sales ADD COLUMN IF NOT EXISTS user_id text NOT NULL DEFAULT '', ADD COLUMN IF NOT EXISTS gen text NOT NULL DEFAULT '',
      ADD COLUMN IF NOT EXISTS pos bigint NOT NULL DEFAULT 0, ADD COLUMN IF NOT EXISTS refunded_at_ms bigint, ADD COLUMN IF NOT EXISTS refunded_gen text`,
    `CREATE INDEX IF NOT EXISTS journal_sales_position ON ${s}.journal_sales (sku, gen, pos)`,
    `CREATE TABLE IF NOT EXISTS ${s}.journal_rebuilds (id bigserial PRIMARY KEY, sku text NOT NULL, at_ms bigint NOT NULL,
      old_gen text NOT NULL, new_gen text NOT NULL, sold bigint NOT NULL, reason text NOT NULL)`,
    // Items journaled by an earlier version (no watermark yet): their sold count from their sales.
    `UPDATE ${s}.journal_items i SET sold = t.n FROM (SELECT sku, SUM(qty) AS n FROM ${s}.journal_sales WHERE refunded_at_ms IS NULL GROUP BY sku) t
      WHERE i.sku = t.sku AND i.gen = '' AND i.sold = 0`,
    journalBatchFunction(s),
    journalBatchWrapper(s),
  ];
}

function journalBatchFunction(s: string): string {
  // Each sale carries its own region, epoch and time: one call journals the sales of every region's
  // group commits that queued behind the previous call (journal-queue.ts).
  return `CREATE OR REPLACE FUNCTION ${s}.journal_sale_batch(p_sku text, p_gen text, p_ids text[], p_qtys bigint[], p_users text[],
      p_pos bigint[], p_regions text[], p_epochs bigint[], p_ats bigint[]) RETURNS text LANGUAGE plpgsql AS $fn$
DECLARE
  v_gen text; v_new bigint; v_hi bigint;
BEGIN
  SELECT gen INTO v_gen FROM ${s}.journal_items WHERE sku = p_sku FOR UPDATE;
  IF NOT FOUND THEN RETURN 'unknown-item'; END IF;
  IF v_gen <> p_gen THEN RETURN 'stale-generation'; END IF;
  -- An id already journaled must be this very sale: same generation, same position. (One key lookup per
  -- sale: as a plain join the planner, misled by stale statistics mid-sale, scanned every sale of the SKU.)
  IF EXISTS (SELECT 1 FROM unnest(p_ids, p_pos) AS t(id, pos)
             CROSS JOIN LATERAL (SELECT j.gen, j.pos FROM ${s}.journal_sales j WHERE j.sku = p_sku AND j.sale_id = t.id LIMIT 1) j
             WHERE j.gen <> p_gen OR j.pos <> t.pos) THEN
    RETURN 'rolled-back';
  END IF;
  -- A position already journaled for another sale: Redis issued it twice, so its counters went back.
  IF EXISTS (SELECT 1 FROM unnest(p_ids, p_qtys, p_pos) AS t(id, qty, pos)
             CROSS JOIN LATERAL (SELECT j.sale_id, j.pos, j.qty FROM ${s}.journal_sales j
                                 WHERE j.sku = p_sku AND j.gen = p_gen AND j.pos > t.pos - t.qty ORDER BY j.pos LIMIT 2) n
             WHERE n.sale_id <> t.id AND n.pos - n.qty < t.pos) THEN
    RETURN 'rolled-back';
  END IF;
  WITH ins AS (
    INSERT INTO ${s}.journal_sales (sku, sale_id, region, epoch, user_id, qty, at_ms, gen, pos)
    SELECT p_sku, t.id, t.region, t.epoch, t.usr, t.qty, t.at, p_gen, t.pos
      FROM unnest(p_ids, p_qtys, p_users, p_pos, p_regions, p_epochs, p_ats) AS t(id, qty, usr, pos, region, epoch, at)
    ON CONFLICT (sku, sale_id) DO NOTHING RETURNING qty, pos)
  SELECT COALESCE(SUM(qty), 0), COALESCE(MAX(pos), 0) INTO v_new, v_hi FROM ins;
  UPDATE ${s}.journal_items SET sold = sold + v_new, gen_units = gen_units + v_new, gen_max_pos = GREATEST(gen_max_pos, v_hi)
    WHERE sku = p_sku AND sold + v_new <= total;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'journal_sale_batch: % units would take % past its total', v_new, p_sku USING ERRCODE = 'ME001';
  END IF;
  RETURN 'ok';
END $fn$`;
}

/** The earlier one-region form (processes of the previous version call it during a rolling upgrade). */
function journalBatchWrapper(s: string): string {
  return `CREATE OR REPLACE FUNCTION ${s}.journal_batch(p_sku text, p_gen text, p_region text, p_epoch bigint, p_at bigint,
      p_ids text[], p_qtys bigint[], p_users text[], p_pos bigint[]) RETURNS text LANGUAGE sql AS $fn$
  SELECT ${s}.journal_sale_batch(p_sku, p_gen, p_ids, p_qtys, p_users, p_pos, array_fill(p_region, ARRAY[cardinality(p_ids)]),
    array_fill(p_epoch, ARRAY[cardinality(p_ids)]), array_fill(p_at, ARRAY[cardinality(p_ids)]))
$fn$`;
}

/**
 * A one-dimensional PostgreSQL array literal of strings or numbers, the very text node-postgres sends for such an
 * array parameter (its `prepareValue`: every element double-quoted, a backslash or a double quote in it escaped with a
 * backslash). pg runs two regular-expression replaces on every element and concatenates them one by one; here only a
 * string holding one of those two characters is escaped, and the elements are joined at once.
 */
export function pgArrayLiteral(values: readonly (string | number)[]): string {
  if (values.length === 0) return "{}";
  let plain = true;
  for (let i = 0; i < values.length && plain; i++) {
    const v = values[i];
    plain = typeof v !== "string" || (!v.includes("\\") && !v.includes('"'));
  }
  const items = plain ? values : values.map((v) => String(v).replace(/\\/g, "\\\\").replace(/"/g, '\\"'));
  return `{"${items.join('","')}"}`;
}
