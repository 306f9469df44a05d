/**
 * In-memory escrow store: the embedded default and the reference semantics the Redis Lua scripts and
 * the PostgreSQL transactions reproduce. Each method completes synchronously inside one call, so it
 * is atomic with respect to every other caller in the process.
 */
import type { AcquireRequest, AcquireResult, CreateOutcome, EscrowStore, InventoryAudit, LeaseView, SaleOutcome, SaleRecord, SaleRequest } from "../store.js";

interface Item {
  total: number;
  pool: number;
  sold: number;
  leases: Map<string, LeaseView>;
  sales: Map<string, SaleRecord>;
  allocation: Record<string, number>;
}

export class MemoryEscrowStore implements EscrowStore {
  readonly kind = "memory" as const;
  private readonly items = new Map<string, Item>();

  async createItem(sku: string, total: number, allocation: Record<string, number>): Promise<CreateOutcome> {
    const item = this.items.get(sku);
    if (item) return item.total === total ? "exists" : "conflict";
    this.items.set(sku, { total, pool: total, sold: 0, leases: new Map(), sales: new Map(), allocation: { ...allocation } });
    return "created";
  }

  private reclaim(item: Item, nowMs: number): number {
    let reclaimed = 0;
    for (const lease of item.leases.values()) {
      if (lease.expiresAtMs < nowMs && lease.held > 0) {
        item.pool += lease.held;
        reclaimed += lease.held;
        lease.held = 0;
        lease.reserved = 0;
      }
    }
    return reclaimed;
  }

  async acquire(req: AcquireRequest): Promise<AcquireResult | null> {
    const item = this.items.get(req.sku);
    if (!item) return null;
    this.reclaim(item, req.nowMs);
    let lease = item.leases.get(req.region);
    let lost = false;
    if (!lease) {
      lease = { epoch: 0, held: 0, expiresAtMs: 0, reserved: 0 };
      item.leases.set(req.region, lease);
    }
    // A lease that expired (and was reclaimed) or a fresh incarnation starts a new epoch; a caller
    // holding a stale epoch learns it lost its lease rather than silently continuing.
    if (req.fresh || lease.expiresAtMs < req.nowMs || lease.epoch !== req.epoch) {
      lost = !req.fresh && lease.epoch !== 0 && (lease.expiresAtMs < req.nowMs || lease.epoch !== req.epoch);
      lease.epoch += 1;
    }
    const granted = Math.max(0, Math.min(req.want, item.pool));
    item.pool -= granted;
    lease.held += granted;
    lease.expiresAtMs = req.nowMs + req.leaseTtlMs;
    lease.reserved = req.reserved;
    let heldElsewhere = 0;
    let freeElsewhere = 0;
    for (const [region, l] of item.leases) {
      if (region === req.region || l.expiresAtMs < req.nowMs) continue;
      heldElsewhere += l.held;
      freeElsewhere += Math.max(0, l.held - l.reserved);
    }
    return { lease: { ...lease }, granted, pool: item.pool, heldElsewhere, freeElsewhere, lost };
  }

  async release(sku: string, region: string, epoch: number, qty: number): Promise<number> {
    const lease = this.items.get(sku)?.leases.get(region);
    const item = this.items.get(sku);
    if (!item || !lease || lease.epoch !== epoch) return 0;
    const n = Math.max(0, Math.min(qty, lease.held));
    lease.held -= n;
    item.pool += n;
    return n;
  }

  async recordSales(sku: string, region: string, epoch: number, sales: readonly SaleRequest[], nowMs: number): Promise<SaleOutcome[]> {
    return sales.map((s) => this.recordSale(sku, region, epoch, s.saleId, s.qty, nowMs));
  }

  private recordSale(sku: string, region: string, epoch: number, saleId: string, qty: number, nowMs: number): SaleOutcome {
    const item = this.items.get(sku);
    if (!item) return "lease-lost";
    if (item.sales.has(saleId)) return "duplicate";
    const lease = item.leases.get(region);
    if (!lease || lease.epoch !== epoch || lease.held < qty) return "lease-lost";
    lease.held -= qty;
    item.sold += qty;
    item.sales.set(saleId, { saleId, sku, region, qty, atMs: nowMs });
    return "sold";
  }

  async findSale(sku: string, saleId: string): Promise<SaleRecord | null> {
    return this.items.get(sku)?.sales.get(saleId) ?? null;
  }

  async reclaimExpired(sku: string, nowMs: number): Promise<number> {
    const item = this.items.get(sku);
    return item ? this.reclaim(item, nowMs) : 0;
  }

  async audit(sku: string, nowMs: number): Promise<InventoryAudit | null> {
    const item = this.items.get(sku);
    if (!item) return null;
    const leases: InventoryAudit["leases"] = {};
    for (const [region, l] of item.leases) leases[region] = { ...l, live: l.expiresAtMs >= nowMs };
    return { sku, total: item.total, pool: item.pool, sold: item.sold, leases, allocation: { ...item.allocation } };
  }

  async close(): Promise<void> {}
}
