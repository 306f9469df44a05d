/**
 * The escrow store port: the global pool, per-region leases and the sales ledger of each SKU. Every
 * operation is one atomic step (a JS call, a Redis Lua script, a PostgreSQL transaction), so the
 * conservation law holds in the store at every instant, whatever crashes between steps:
 *
 *   pool + Σ_regions lease.held + sold = total        and        sold ≤ total.
 *
 * Units move only pool → held (grant), held → pool (return, reclaim of an expired lease) and
 * held → sold (a recorded sale, fenced by the lease epoch). A region's reservations live in its own
 * process (the fast path); they are drawn from `held`, so a region that dies loses only soft holds,
 * never a sale, and its unsold units return to the pool once its lease expires.
 */

export interface LeaseView {
  epoch: number;
  held: number;
  expiresAtMs: number;
  /** Units the region last reported as reserved (a hint for GET; the region's process is the truth). */
  reserved: number;
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
  /** The region's reserved units, published for the inventory view. */
  reserved: number;
  /** The epoch the caller believes it holds (ignored when fresh). A mismatch means the lease was lost. */
  epoch?: number;
}

export interface AcquireResult {
  lease: LeaseView;
  granted: number;
  /** Units left in the pool after the grant. */
  pool: number;
  /** Units held by the other regions' live leases. */
  heldElsewhere: number;
  /** Of those, units not reported reserved (a hint: regions report reserved counts when they renew). */
  freeElsewhere: number;
  /** True when the caller's epoch was stale: its lease expired and was reclaimed (and a new one started). */
  lost: boolean;
}

export type SaleOutcome = "sold" | "duplicate" | "lease-lost";

export interface SaleRequest {
  saleId: string;
  qty: number;
}

export interface SaleRecord {
  saleId: string;
  sku: string;
  region: string;
  qty: number;
  atMs: number;
}

export interface InventoryAudit {
  sku: string;
  total: number;
  pool: number;
  sold: number;
  leases: Record<string, LeaseView & { live: boolean }>;
  /** Region → the units of the item's initial allocation. */
  allocation: Record<string, number>;
}

export type CreateOutcome = "created" | "exists" | "conflict";

export interface EscrowStore {
  readonly kind: "memory" | "redis" | "postgres" | "redis+postgres";
  /** Create an item with everything in the pool; `exists` if it already has this total, `conflict` otherwise. */
  createItem(sku: string, total: number, allocation: Record<string, number>, nowMs: number): Promise<CreateOutcome>;
  /** Grant up to `want` units from the pool into the region's lease and renew it. Reclaims expired leases first. Null for an unknown SKU. */
  acquire(req: AcquireRequest): Promise<AcquireResult | null>;
  /** Return up to `qty` held units to the pool (push rebalancing). Returns the units returned (0 on a stale epoch). */
  release(sku: string, region: string, epoch: number, qty: number, nowMs: number): Promise<number>;
  /**
   * Move each sale's units held → sold under its `saleId` (idempotent), fenced by the lease epoch; one
   * atomic step for the whole batch (group commit), one outcome per sale in order.
   */
  recordSales(sku: string, region: string, epoch: number, sales: readonly SaleRequest[], nowMs: number): Promise<SaleOutcome[]>;
  findSale(sku: string, saleId: string): Promise<SaleRecord | null>;
  /** Return the held units of every expired lease of the SKU to the pool; returns units reclaimed. */
  reclaimExpired(sku: string, nowMs: number): Promise<number>;
  audit(sku: string, nowMs: number): Promise<InventoryAudit | null>;
  close(): Promise<void>;
}

/** The conservation law as a check (used by reconciliation and tests). */
export function conservationDrift(a: InventoryAudit): number {
  const held = Object.values(a.leases).reduce((s, l) => s + l.held, 0);
  return a.total - (a.pool + held + a.sold);
}
