/**
 * The PostgreSQL escrow store's schema and its batch-sale function. A sale batch is one function call
 * (one round trip, one transaction, one WAL flush): it locks the region's lease row, then each buyer's
 * row in user order (so two regions' batches never deadlock), and moves held → sold for every sale the
 * lease covers and the buyer's cap allows. Pool movements lock the item row.
 */
import { secretTableSql } from "./reservation-secret.js";

export function schemaStatements(s: string): string[] {
  return [
    `CREATE SCHEMA IF NOT EXISTS ${s}`,
    secretTableSql(s),
    `CREATE TABLE IF NOT EXISTS ${s}.escrow_items (sku text PRIMARY KEY, total bigint NOT NULL CHECK (total >= 0),
      pool bigint NOT NULL CHECK (pool >= 0), allocation jsonb NOT NULL, generation text NOT NULL DEFAULT md5(random()::text))`,
    `CREATE TABLE IF NOT EXISTS ${s}.escrow_leases (sku text NOT NULL REFERENCES ${s}.escrow_items(sku), region text NOT NULL,
      epoch bigint NOT NULL, held bigint NOT NULL CHECK (held >= 0), sold bigint NOT NULL DEFAULT 0 CHECK (sold >= 0),
      expires_at_ms bigint NOT NULL, reserved bigint NOT NULL, rate double precision NOT NULL DEFAULT 0, want bigint NOT NULL DEFAULT 0,
      received bigint NOT NULL DEFAULT 0, PRIMARY KEY (sku, region))`,
    `CREATE TABLE IF NOT EXISTS ${s}.escrow_sales (sku text NOT NULL, sale_id text NOT NULL, region text NOT NULL, epoch bigint NOT NULL,
      user_id text NOT NULL, qty bigint NOT NULL CHECK (qty > 0), at_ms bigint NOT NULL, refunded_at_ms bigint, PRIMARY KEY (sku, sale_id))`,
    `CREATE TABLE IF NOT EXISTS ${s}.escrow_buyers (sku text NOT NULL, user_id text NOT NULL, bought bigint NOT NULL CHECK (bought >= 0),
      PRIMARY KEY (sku, user_id))`,
    `CREATE TABLE IF NOT EXISTS ${s}.escrow_holds (sku text NOT NULL, hold_id text NOT NULL, user_id text NOT NULL, qty bigint NOT NULL,
      expires_at_ms bigint NOT NULL, PRIMARY KEY (sku, hold_id))`,
    `CREATE INDEX IF NOT EXISTS escrow_holds_user ON ${s}.escrow_holds (sku, user_id)`,
    `CREATE TABLE IF NOT EXISTS ${s}.escrow_ledger (id bigserial PRIMARY KEY, sku text NOT NULL, region text NOT NULL,
      kind text NOT NULL CHECK (kind IN ('grant','return','reclaim','sale','transfer-out','transfer-in','refund')),
      qty bigint NOT NULL, epoch bigint NOT NULL, at_ms bigint NOT NULL)`,
    // Tables created by an earlier version gain the columns this one needs.
    `ALTER TABLE ${s}.escrow_items ADD COLUMN IF NOT EXISTS generation text NOT NULL DEFAULT md5(random()::text)`,
    `ALTER TABLE ${s}.escrow_leases ADD COLUMN IF NOT EXISTS rate double precision NOT NULL DEFAULT 0, ADD COLUMN IF NOT EXISTS want bigint NOT NULL DEFAULT 0,
      ADD COLUMN IF NOT EXISTS received bigint NOT NULL DEFAULT 0`,
    `ALTER TABLE ${s}.escrow_sales ADD COLUMN IF NOT EXISTS user_id text NOT NULL DEFAULT '', ADD COLUMN IF NOT EXISTS refunded_at_ms bigint`,
    `ALTER TABLE ${s}.escrow_ledger DROP CONSTRAINT IF EXISTS escrow_ledger_kind_check`,
    `ALTER TABLE ${s}.escrow_ledger ADD CONSTRAINT escrow_ledger_kind_check CHECK (kind IN ('grant','return','reclaim','sale','transfer-out','transfer-in','refund'))`,
    recordSalesFunction(s),
    holdFunction(s),
  ];
}

/** A hold on a buyer's cap in one call: the buyer row is the lock; expired holds drop out first. Returns {ok, held, bought}. */
function holdFunction(s: string): string {
  return `CREATE OR REPLACE FUNCTION ${s}.escrow_hold(p_sku text, p_user text, p_hold text, p_qty bigint, p_cap bigint, p_exp bigint, p_now bigint)
      RETURNS bigint[] LANGUAGE plpgsql AS $fn$
DECLARE
  v_bought bigint; v_held bigint;
BEGIN
  INSERT INTO ${s}.escrow_buyers (sku, user_id, bought) VALUES (p_sku, p_user, 0) ON CONFLICT DO NOTHING;
  SELECT bought INTO v_bought FROM ${s}.escrow_buyers WHERE sku = p_sku AND user_id = p_user FOR UPDATE;
  DELETE FROM ${s}.escrow_holds WHERE sku = p_sku AND user_id = p_user AND expires_at_ms <= p_now;
  SELECT COALESCE(SUM(qty), 0) INTO v_held FROM ${s}.escrow_holds WHERE sku = p_sku AND user_id = p_user;
  IF p_cap > 0 AND v_held + v_bought + p_qty > p_cap THEN RETURN ARRAY[0, v_held, v_bought]; END IF;
  INSERT INTO ${s}.escrow_holds (sku, hold_id, user_id, qty, expires_at_ms) VALUES (p_sku, p_hold, p_user, p_qty, p_exp) ON CONFLICT DO NOTHING;
  RETURN ARRAY[1, v_held, v_bought];
END $fn$`;
}

function recordSalesFunction(s: string): string {
  return `CREATE OR REPLACE FUNCTION ${s}.escrow_record_sales(p_sku text, p_region text, p_gen text, p_epoch bigint, p_now bigint,
      p_cap bigint, p_ids text[], p_qtys bigint[], p_users text[]) RETURNS text[] LANGUAGE plpgsql AS $fn$
DECLARE
  v_gen text; v_epoch bigint; v_held bigint := -1; v_sold bigint := 0; v_out text[]; v_row record; v_bought bigint;
BEGIN
  v_out := array_fill('lease-lost'::text, ARRAY[coalesce(array_length(p_ids, 1), 0)]);
  SELECT generation INTO v_gen FROM ${s}.escrow_items WHERE sku = p_sku;
  SELECT epoch, held INTO v_epoch, v_held FROM ${s}.escrow_leases WHERE sku = p_sku AND region = p_region FOR UPDATE;
  IF NOT FOUND OR v_epoch <> p_epoch OR v_gen IS DISTINCT FROM p_gen THEN v_held := -1; END IF;
  FOR v_row IN SELECT t.id, t.qty, t.usr, t.ord FROM unnest(p_ids, p_qtys, p_users) WITH ORDINALITY AS t(id, qty, usr, ord) ORDER BY t.usr, t.ord LOOP
    IF EXISTS (SELECT 1 FROM ${s}.escrow_sales WHERE sku = p_sku AND sale_id = v_row.id) THEN
      v_out[v_row.ord] := 'duplicate';
    ELSIF v_held < v_row.qty THEN
      v_out[v_row.ord] := 'lease-lost';
    ELSIF p_cap > 0 AND v_row.qty > p_cap THEN
      v_out[v_row.ord] := 'over-cap';
    ELSE
      v_bought := NULL;
      INSERT INTO ${s}.escrow_buyers AS b (sku, user_id, bought) VALUES (p_sku, v_row.usr, v_row.qty)
        ON CONFLICT (sku, user_id) DO UPDATE SET bought = b.bought + EXCLUDED.bought
        WHERE p_cap <= 0 OR b.bought + EXCLUDED.bought <= p_cap
        RETURNING bought INTO v_bought;
      IF v_bought IS NULL THEN
        v_out[v_row.ord] := 'over-cap';
      ELSE
        INSERT INTO ${s}.escrow_sales (sku, sale_id, region, epoch, user_id, qty, at_ms) VALUES (p_sku, v_row.id, p_region, p_epoch, v_row.usr, v_row.qty, p_now);
        DELETE FROM ${s}.escrow_holds WHERE sku = p_sku AND hold_id = v_row.id;
        v_held := v_held - v_row.qty;
        v_sold := v_sold + v_row.qty;
        v_out[v_row.ord] := 'sold';
      END IF;
    END IF;
  END LOOP;
  IF v_sold > 0 THEN
    UPDATE ${s}.escrow_leases SET held = held - v_sold, sold = sold + v_sold WHERE sku = p_sku AND region = p_region;
    INSERT INTO ${s}.escrow_ledger (sku, region, kind, qty, epoch, at_ms) VALUES (p_sku, p_region, 'sale', v_sold, p_epoch, p_now);
  END IF;
  RETURN v_out;
END $fn$`;
}
