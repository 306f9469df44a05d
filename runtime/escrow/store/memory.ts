/**
 * In-memory escrow store: the embedded default and the reference semantics the Redis Lua scripts and
 * the PostgreSQL transactions reproduce (one behavioural suite runs on all three). Each method
 * completes synchronously inside one call, so it is atomic with respect to every other caller in the
 * process. It is its own durable record for the life of the process: `verify` has nothing to compare.
 */
import { randomBytes } from "node:crypto";
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
  type LeaseView,
  type PeerLease,
  type RefundOutcome,
  type SaleOutcome,
  type SaleRecord,
  type SaleRequest,
  type VerifyReport,
} from "./port.js";

interface Buyer {
  bought: number;
  holds: Map<string, { qty: number; expiresAtMs: number }>;
}

interface Item {
  generation: string;
  total: number;
  pool: number;
  sold: number;
  leases: Map<string, LeaseView>;
  sales: Map<string, SaleRecord>;
  buyers: Map<string, Buyer>;
  allocation: Record<string, number>;
}

export const newGeneration = (): string => randomBytes(8).toString("hex");

export class MemoryEscrowStore implements EscrowStore {
  readonly kind = "memory" as const;
  private readonly items = new Map<string, Item>();

  async createItem(sku: string, total: number, allocation: Record<string, number>): Promise<CreateOutcome> {
    const item = this.items.get(sku);
    if (item) return item.total === total ? "exists" : "conflict";
    this.items.set(sku, { generation: newGeneration(), total, pool: total, sold: 0, leases: new Map(), sales: new Map(), buyers: new Map(), allocation: { ...allocation } });
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

  private peers(item: Item, region: string, nowMs: number): Record<string, PeerLease> {
    const out: Record<string, PeerLease> = {};
    for (const [id, l] of item.leases) if (id !== region) out[id] = { ...l, live: l.expiresAtMs >= nowMs };
    return out;
  }

  async acquire(req: AcquireRequest): Promise<AcquireResult | null> {
    const item = this.items.get(req.sku);
    if (!item) return null;
    this.reclaim(item, req.nowMs);
    let lease = item.leases.get(req.region);
    if (!lease) item.leases.set(req.region, (lease = { ...EMPTY_LEASE }));
    const mine = req.fence !== undefined && req.fence.epoch === lease.epoch && req.fence.generation === item.generation;
    let lost = false;
    if (req.fresh) lease.epoch += 1;
    else if (!mine) {
      // A live lease under another epoch belongs to another incarnation of this region: we are the zombie.
      if (lease.expiresAtMs >= req.nowMs && lease.epoch !== 0) {
        return {
          generation: item.generation,
          total: item.total,
          sold: item.sold,
          lease: { ...lease },
          granted: 0,
          pool: item.pool,
          lost: true,
          fenced: true,
          peers: this.peers(item, req.region, req.nowMs),
        };
      }
      lost = true;
      lease.epoch += 1;
    } else if (lease.expiresAtMs < req.nowMs) {
      // Our lease lapsed and was reclaimed: whatever we hold locally is void.
      lost = true;
      lease.epoch += 1;
    }
    const granted = Math.max(0, Math.min(req.want, item.pool));
    item.pool -= granted;
    lease.held += granted;
    lease.expiresAtMs = req.nowMs + req.leaseTtlMs;
    lease.reserved = req.reserved;
    lease.rate = req.rate;
    lease.want = req.borrow;
    return { generation: item.generation, total: item.total, sold: item.sold, lease: { ...lease }, granted, pool: item.pool, lost, fenced: false, peers: this.peers(item, req.region, req.nowMs) };
  }

  private owned(item: Item | undefined, region: string, fence: Fence): LeaseView | undefined {
    const lease = item?.leases.get(region);
    return item && lease && lease.epoch === fence.epoch && item.generation === fence.generation ? lease : undefined;
  }

  async release(sku: string, region: string, fence: Fence, qty: number): Promise<number> {
    const item = this.items.get(sku);
    const lease = this.owned(item, region, fence);
    if (!item || !lease) return 0;
    const n = Math.max(0, Math.min(qty, lease.held));
    lease.held -= n;
    item.pool += n;
    return n;
  }

  async transfer(sku: string, from: string, fence: Fence, to: string, qty: number, nowMs: number): Promise<number> {
    const item = this.items.get(sku);
    const src = this.owned(item, from, fence);
    const dst = item?.leases.get(to);
    if (!item || !src || !dst || dst.expiresAtMs < nowMs || from === to) return 0;
    const n = Math.max(0, Math.min(qty, src.held));
    src.held -= n;
    dst.held += n;
    dst.received += n;
    return n;
  }

  private buyer(item: Item, user: string): Buyer {
    let b = item.buyers.get(user);
    if (!b) item.buyers.set(user, (b = { bought: 0, holds: new Map() }));
    return b;
  }

  async recordSales(sku: string, region: string, fence: Fence, sales: readonly SaleRequest[], nowMs: number, cap: number): Promise<SaleOutcome[]> {
    const item = this.items.get(sku);
    return sales.map((s): SaleOutcome => {
      if (!item) return "lease-lost";
      if (item.sales.has(s.saleId)) return "duplicate";
      const lease = this.owned(item, region, fence);
      if (!lease || lease.held < s.qty) return "lease-lost";
      const b = this.buyer(item, s.user);
      if (cap > 0 && b.bought + s.qty > cap) return "over-cap";
      lease.held -= s.qty;
      item.sold += s.qty;
      b.holds.delete(s.saleId);
      b.bought += s.qty;
      item.sales.set(s.saleId, { saleId: s.saleId, sku, region, user: s.user, qty: s.qty, atMs: nowMs, refunded: false });
      return "sold";
    });
  }

  async findSale(sku: string, saleId: string): Promise<SaleRecord | null> {
    const s = this.items.get(sku)?.sales.get(saleId);
    return s ? { ...s } : null;
  }

  async refund(sku: string, saleId: string): Promise<RefundOutcome> {
    const item = this.items.get(sku);
    const s = item?.sales.get(saleId);
    if (!item || !s) return "unknown";
    if (s.refunded) return "already-refunded";
    s.refunded = true;
    item.sold -= s.qty;
    item.pool += s.qty;
    this.buyer(item, s.user).bought -= s.qty;
    return "refunded";
  }

  async hold(sku: string, h: HoldRequest): Promise<HoldResult> {
    const item = this.items.get(sku);
    if (!item) return { ok: false, held: 0, bought: 0 };
    const b = this.buyer(item, h.user);
    let held = 0;
    for (const [id, x] of b.holds) {
      if (x.expiresAtMs <= h.nowMs) b.holds.delete(id);
      else held += x.qty;
    }
    if (h.cap > 0 && held + b.bought + h.qty > h.cap) return { ok: false, held, bought: b.bought };
    b.holds.set(h.holdId, { qty: h.qty, expiresAtMs: h.expiresAtMs });
    return { ok: true };
  }

  async releaseHold(sku: string, user: string, holdId: string): Promise<void> {
    this.items.get(sku)?.buyers.get(user)?.holds.delete(holdId);
  }

  async reclaimExpired(sku: string, nowMs: number): Promise<number> {
    const item = this.items.get(sku);
    return item ? this.reclaim(item, nowMs) : 0;
  }

  async verify(sku: string): Promise<VerifyReport | null> {
    const item = this.items.get(sku);
    return item ? { sku, generation: item.generation, action: "none", reason: "the memory store is its own record" } : null;
  }

  async audit(sku: string, nowMs: number): Promise<InventoryAudit | null> {
    const item = this.items.get(sku);
    if (!item) return null;
    const leases: InventoryAudit["leases"] = {};
    for (const [region, l] of item.leases) leases[region] = { ...l, live: l.expiresAtMs >= nowMs };
    return { sku, generation: item.generation, total: item.total, pool: item.pool, sold: item.sold, leases, allocation: { ...item.allocation } };
  }

  /** This store object's: a process given the same object (a test's restart) reads it back. */
  private readonly secret = randomBytes(32);
  async reservationSecret(): Promise<Buffer> {
    return this.secret;
  }

  async close(): Promise<void> {}
}
