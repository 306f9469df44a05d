/**
 * The escrow store port: the global pool, per-region leases, the sales ledger and per-buyer holdings of
 * each SKU. Every operation is one atomic step (a JS call, a Redis Lua script, a PostgreSQL
 * transaction), so the conservation law holds in the store at every instant, whatever crashes between
 * steps:
 *
 *   pool + Σ_regions lease.held + sold = total        and        sold ≤ total.
 *
 * Units move only pool → held (grant), held → pool (return, reclaim of an expired lease), held → held
 * (a directed transfer from a cold region to a hot one), held → sold (a recorded sale) and sold → pool
 * (a refund). Every move out of a lease is fenced by the lease's `Fence`: the item's generation (which
 * changes when the deciding store is rebuilt from the durable journal) and the lease epoch (which
 * changes when a region restarts or its lease lapses). A region's reservations live in its own process
 * (the fast path); they are drawn from `held`, so a region that dies loses only soft holds, never a
 * sale, and its unsold units return to the pool once its lease expires.
 */

/** What a lease's owner must present to move units out of it. */
export interface Fence {
  generation: string;
  epoch: number;
}

export interface LeaseView {
  epoch: number;
  held: number;
  expiresAtMs: number;
  /** Units the region last reported as reserved (a hint; the region's process is the truth). */
  reserved: number;
  /** The region's published reservation rate, units/s (EWMA), for rebalancing. */
  rate: number;
  /**
   * The region's borrow request, 0 if none: the smallest of the requests its buyers were refused for lack of units, as
   * many as the units free anywhere cover (core/borrow.ts: the most buyers served), standing until a tick with no refused
   * buyer. Not units asked of
   * peers: the plan asks them for at least a batch beyond the region's free units (core/rebalance.ts `asked`).
   */
  want: number;
  /** Units transferred into this lease by other regions, ever (the owner credits the increase). */
  received: number;
}

export interface PeerLease extends LeaseView {
  live: boolean;
}

export interface AcquireRequest {
  sku: string;
  region: string;
  /** Units wanted from the pool (0 renews only). */
  want: number;
  nowMs: number;
  leaseTtlMs: number;
  /** Start a new incarnation: bump the epoch so a previous process of this region is fenced off. */
  fresh: boolean;
  /** Published with the renewal: reserved units, reservation rate, and the borrow request (LeaseView.want). */
  reserved: number;
  rate: number;
  borrow: number;
  /** The fence the caller believes it holds (ignored when fresh). A mismatch means the lease was lost. */
  fence?: Fence;
}

export interface AcquireResult {
  generation: string;
  /** The item's total and units sold (refunds subtracted): a sale can never exceed total − sold. */
  total: number;
  sold: number;
  lease: LeaseView;
  granted: number;
  /** Units left in the pool after the grant. */
  pool: number;
  /** The caller's lease lapsed or the item was rebuilt: its local units and reservations are void. */
  lost: boolean;
  /** Another live incarnation of this region holds the lease: the caller is a zombie and got nothing. */
  fenced: boolean;
  /** Every other region's lease. */
  peers: Record<string, PeerLease>;
}

export type SaleOutcome = "sold" | "duplicate" | "lease-lost" | "over-cap";

export interface SaleRequest {
  saleId: string;
  qty: number;
  /** The verified buyer; their units bought count against the per-user cap. */
  user: string;
}

export interface SaleRecord {
  saleId: string;
  sku: string;
  region: string;
  user: string;
  qty: number;
  atMs: number;
  refunded: boolean;
}

export interface InventoryAudit {
  sku: string;
  generation: string;
  total: number;
  pool: number;
  sold: number;
  leases: Record<string, PeerLease>;
  /** Region → the units of the item's initial allocation. */
  allocation: Record<string, number>;
}

export type CreateOutcome = "created" | "exists" | "conflict";

export interface HoldRequest {
  user: string;
  /** The reservation id the hold belongs to (a sale of the same id turns it into units bought). */
  holdId: string;
  qty: number;
  /** Units the user may hold and buy of this SKU in all, across every region. */
  cap: number;
  expiresAtMs: number;
  nowMs: number;
}

export type HoldResult = { ok: true } | { ok: false; held: number; bought: number };

export type RefundOutcome = "refunded" | "already-refunded" | "unknown";

/** The result of comparing the deciding store with the durable record (journaled stores only). */
export interface VerifyReport {
  sku: string;
  generation: string;
  action: "none" | "rebuilt" | "backfilled";
  /** Why the store was rebuilt or backfilled (e.g. "redis restarted", "redis sold 120 < journal 150"). */
  reason: string;
}

export interface EscrowStore {
  readonly kind: "memory" | "redis" | "postgres" | "redis+postgres";
  /** Create an item with everything in the pool; `exists` if it already has this total, `conflict` otherwise. */
  createItem(sku: string, total: number, allocation: Record<string, number>, nowMs: number): Promise<CreateOutcome>;
  /** Grant up to `want` units from the pool into the region's lease and renew it. Reclaims expired leases first. Null for an unknown SKU. */
  acquire(req: AcquireRequest): Promise<AcquireResult | null>;
  /** Return up to `qty` held units to the pool (push to the pool). Returns the units returned (0 on a stale fence). */
  release(sku: string, region: string, fence: Fence, qty: number, nowMs: number): Promise<number>;
  /** Move up to `qty` held units straight into another region's live lease (cold → hot). Returns units moved. */
  transfer(sku: string, from: string, fence: Fence, to: string, qty: number, nowMs: number): Promise<number>;
  /**
   * Move each sale's units held → sold under its `saleId` (idempotent), fenced; one atomic step for
   * the whole batch (group commit), one outcome per sale in order. `cap` bounds each buyer's units
   * bought (0: no cap). A sale turns the buyer's hold of the same id into units bought.
   */
  recordSales(sku: string, region: string, fence: Fence, sales: readonly SaleRequest[], nowMs: number, cap: number): Promise<SaleOutcome[]>;
  findSale(sku: string, saleId: string): Promise<SaleRecord | null>;
  /** Put a sale's units back in the pool (a return or refund: compensation); idempotent. */
  refund(sku: string, saleId: string, nowMs: number): Promise<RefundOutcome>;
  /** Count a reservation against the buyer's global cap (reserved + bought ≤ cap); expired holds drop out. */
  hold(sku: string, req: HoldRequest): Promise<HoldResult>;
  /** Drop a hold (the reservation was cancelled, expired or voided). */
  releaseHold(sku: string, user: string, holdId: string): Promise<void>;
  /** Return the held units of every expired lease of the SKU to the pool; returns units reclaimed. */
  reclaimExpired(sku: string, nowMs: number): Promise<number>;
  /**
   * Compare the deciding store with the durable record and repair it: a store that lost data, was
   * rolled back or failed over is rebuilt from the journal under a new generation (every region's
   * ledger is then void). Stores that are their own durable record answer `none`.
   */
  verify(sku: string, nowMs: number): Promise<VerifyReport | null>;
  audit(sku: string, nowMs: number): Promise<InventoryAudit | null>;
  /**
   * 32 random bytes kept with the store, the same for every process on it (store/reservation-secret.ts): the key of
   * reservation ids' owner tags (core/ids.ts `ownerTagKey`). Optional: without it each process draws its own, and an
   * earlier run's ids are unknown to everyone.
   */
  reservationSecret?(): Promise<Buffer>;
  close(): Promise<void>;
}

/** The conservation law as a check (used by reconciliation and tests). */
export function conservationDrift(a: InventoryAudit): number {
  const held = Object.values(a.leases).reduce((s, l) => s + l.held, 0);
  return a.total - (a.pool + held + a.sold);
}

/** Units held by other regions' live leases, and of those the ones not reported reserved. */
export function elsewhere(peers: Record<string, PeerLease>): { held: number; free: number; wanted: number } {
  let held = 0;
  let free = 0;
  let wanted = 0;
  for (const p of Object.values(peers)) {
    if (!p.live) continue;
    held += p.held;
    free += Math.max(0, p.held - p.reserved);
    wanted += p.want;
  }
  return { held, free, wanted };
}

export const EMPTY_LEASE: LeaseView = { epoch: 0, held: 0, expiresAtMs: 0, reserved: 0, rate: 0, want: 0, received: 0 };
