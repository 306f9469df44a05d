/**
 * The escrow service: every listed region's flash sales for every SKU in one process, over one store.
 * It creates items (allocating them over the estate's regions with the model's multi-factor formula),
 * starts a region's escrow lazily the first time a SKU is asked for there (so processes that did not
 * create an item still serve it), routes commits and cancels by the region encoded in the reservation
 * id, and runs the periodic tick: progressive admission, hybrid rebalancing, reconciliation.
 */
import { randomInt } from "node:crypto";
import { allocate, type FactorCoefficients, type RegionDemand } from "../../model/escrow/allocation.js";
import { systemClock, type Clock } from "../common/clock.js";
import { parseReservationId } from "./ids.js";
import { DEFAULT_POLICY, type RebalancePolicy } from "./rebalance.js";
import { reconcile, type ReconciliationReport } from "./reconcile.js";
import { RegionEscrow } from "./region.js";
import type { CreateOutcome, EscrowStore } from "./store.js";
import { DEFAULT_ADMISSION, FlashSale, type AdmissionSettings, type AdmitResult } from "./flashsale/sale.js";
import type { RateLimiterPort } from "./flashsale/ports.js";

export interface EscrowServiceSettings {
  reservationTtlMs: number;
  leaseTtlMs: number;
  rebalanceIntervalMs: number;
  policy: RebalancePolicy;
  admission: AdmissionSettings;
  coefficients?: FactorCoefficients;
  globalReserveFraction: number;
}

export const DEFAULT_SETTINGS: EscrowServiceSettings = {
  reservationTtlMs: 300_000,
  leaseTtlMs: 10_000,
  rebalanceIntervalMs: 1_000,
  policy: DEFAULT_POLICY,
  admission: DEFAULT_ADMISSION,
  globalReserveFraction: 0.1,
};

export interface EscrowServiceOptions {
  store: EscrowStore;
  /** Regions this process serves. */
  regions: string[];
  /** Every region of the estate with its demand, for allocation (regions missing here get one batch). */
  estate?: RegionDemand[];
  /** The per-user limiter (runtime/ratelimit's createGcraLimiter in production). */
  limiter: RateLimiterPort;
  settings?: Partial<EscrowServiceSettings>;
  clock?: Clock;
  rng?: () => number;
}

export type CommitOutcome =
  | { status: "sold"; sku: string; qty: number; duplicate: boolean }
  | { status: "unknown" | "expired" | "in-progress" | "lease-lost"; sku?: string }
  | { status: "unavailable"; retryAfterMs: number; detail: string; sku?: string };

export interface InventoryView {
  sku: string;
  total: number;
  sold: number;
  reserved: number;
  available: number;
  pool: number;
  regions: Record<string, { held: number; reserved: number; free: number | null; live: boolean; epoch: number }>;
  warnings: string[];
}

export class EscrowService {
  readonly settings: EscrowServiceSettings;
  readonly clock: Clock;
  private readonly sales = new Map<string, Promise<FlashSale | null>>();
  private readonly started: FlashSale[] = [];
  private readonly rng: () => number;
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;
  readonly reconciliations = new Map<string, ReconciliationReport>();

  constructor(private readonly o: EscrowServiceOptions) {
    if (o.regions.length === 0) throw new Error("regions: expected at least one region to serve");
    this.settings = { ...DEFAULT_SETTINGS, ...o.settings };
    this.clock = o.clock ?? systemClock;
    this.rng = o.rng ?? (() => randomInt(0, 2 ** 47) / 2 ** 47);
  }

  get regions(): readonly string[] {
    return this.o.regions;
  }

  serves(region: string): boolean {
    return this.o.regions.includes(region);
  }

  /** Units per region of a new item: the model's allocation over the estate, else an even split over the served regions. */
  allocationFor(total: number): Record<string, number> {
    const estate = this.o.estate?.length ? this.o.estate : this.o.regions.map((id) => ({ id, history: [1], currentLoad: 0.5, capacity: 1, location: { lat: 0, lon: 0 } }));
    const a = allocate(total, estate, { coefficients: this.settings.coefficients, globalReserveFraction: this.settings.globalReserveFraction });
    return Object.fromEntries(a.regions.map((r) => [r.id, r.units]));
  }

  async createItem(sku: string, total: number): Promise<{ outcome: CreateOutcome; allocation: Record<string, number> }> {
    const allocation = this.allocationFor(total);
    const outcome = await this.o.store.createItem(sku, total, allocation, this.clock.now());
    return { outcome, allocation };
  }

  /** The region's flash sale for a SKU, started on first use; null when the store has no such SKU. */
  sale(sku: string, region: string): Promise<FlashSale | null> {
    const key = `${region}\u0000${sku}`;
    let p = this.sales.get(key);
    if (!p) {
      p = this.startSale(sku, region);
      this.sales.set(key, p);
      // An unknown SKU is not cached: it may be created a moment later by another process.
      void p.then((s) => (s === null ? this.sales.delete(key) : undefined), () => this.sales.delete(key));
    }
    return p;
  }

  private async startSale(sku: string, region: string): Promise<FlashSale | null> {
    const audit = await this.o.store.audit(sku, this.clock.now());
    if (!audit) return null;
    const escrow = new RegionEscrow({
      sku,
      region,
      store: this.o.store,
      clock: this.clock,
      reservationTtlMs: this.settings.reservationTtlMs,
      leaseTtlMs: this.settings.leaseTtlMs,
      policy: this.settings.policy,
      initialWant: audit.allocation[region] ?? this.settings.policy.batchSize,
    });
    if (!(await escrow.start())) return null;
    const sale = new FlashSale(escrow, audit.total, this.settings.admission, this.o.limiter, this.clock, this.rng, this.settings.rebalanceIntervalMs);
    this.started.push(sale);
    return sale;
  }

  async reserve(region: string, sku: string, user: string, qty: number, weight = 1): Promise<AdmitResult | null> {
    const sale = await this.sale(sku, region);
    return sale ? sale.reserve(user, qty, weight) : null;
  }

  async commit(id: string): Promise<CommitOutcome> {
    const parsed = parseReservationId(id);
    if (!parsed) return { status: "unknown" };
    const local = this.serves(parsed.region) ? await this.sale(parsed.sku, parsed.region) : null;
    if (local?.escrow.ledger.get(id)) {
      const out = await local.commit(id);
      return out.status === "sold" ? { status: "sold", sku: parsed.sku, qty: out.qty, duplicate: out.duplicate } : { ...out, sku: parsed.sku };
    }
    // Made elsewhere (or before a restart): the store knows whether it was sold.
    const sale = await this.o.store.findSale(parsed.sku, id);
    return sale ? { status: "sold", sku: parsed.sku, qty: sale.qty, duplicate: true } : { status: "unknown", sku: parsed.sku };
  }

  async cancel(id: string): Promise<"cancelled" | "sold" | "unknown"> {
    const parsed = parseReservationId(id);
    if (!parsed) return "unknown";
    const local = this.serves(parsed.region) ? await this.sale(parsed.sku, parsed.region) : null;
    if (local?.cancel(id)) return "cancelled";
    return (await this.o.store.findSale(parsed.sku, id)) ? "sold" : "unknown";
  }

  async inventory(sku: string): Promise<InventoryView | null> {
    const now = this.clock.now();
    const audit = await this.o.store.audit(sku, now);
    if (!audit) return null;
    const regions: InventoryView["regions"] = {};
    const warnings = new Set<string>();
    for (const [id, l] of Object.entries(audit.leases)) regions[id] = { held: l.live ? l.held : 0, reserved: l.live ? Math.min(l.reserved, l.held) : 0, free: null, live: l.live, epoch: l.epoch };
    for (const id of this.o.regions) {
      const key = `${id}\u0000${sku}`;
      if (!this.sales.has(key)) continue;
      const sale = await this.sales.get(key);
      if (!sale) continue;
      // This process's own regions are reported exactly from their ledgers.
      const lease = audit.leases[id];
      regions[id] = { held: sale.escrow.ledger.held, reserved: sale.escrow.ledger.reserved, free: sale.escrow.ledger.free, live: lease?.live ?? false, epoch: sale.escrow.epoch };
      for (const w of sale.warnings()) warnings.add(w);
    }
    const reserved = Object.values(regions).reduce((s, r) => s + r.reserved, 0);
    const available = audit.total - audit.sold - reserved;
    if (available <= audit.total * this.settings.admission.lowInventoryFraction && available > 0) warnings.add(`low inventory: ${available} of ${audit.total} available`);
    return { sku, total: audit.total, sold: audit.sold, reserved, available, pool: audit.pool, regions, warnings: [...warnings] };
  }

  /** One maintenance round over every started sale; errors in one region do not stop the others. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const bySku = new Map<string, FlashSale[]>();
      for (const sale of this.started) {
        sale.admitBatch();
        try {
          await sale.escrow.tick();
          sale.breaker.success();
        } catch {
          sale.breaker.failure(this.clock.now());
        }
        bySku.set(sale.escrow.sku, [...(bySku.get(sale.escrow.sku) ?? []), sale]);
      }
      for (const [sku, sales] of bySku) {
        const reports = sales.map((s) => ({ region: s.escrow.region, held: s.escrow.ledger.held, free: s.escrow.ledger.free, reserved: s.escrow.ledger.reserved, committing: s.escrow.ledger.committing }));
        const rep = await reconcile(this.o.store, sku, this.clock.now(), reports).catch(() => null);
        if (rep) this.reconciliations.set(sku, rep);
      }
    } finally {
      this.ticking = false;
    }
  }

  start(): void {
    this.timer ??= setInterval(() => void this.tick(), this.settings.rebalanceIntervalMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.o.store.close();
  }
}
