/**
 * The escrow service: every served region's flash sales for every SKU in one process, over one store,
 * configured by `EscrowConfig`. It creates the configured items (with the model's allocation), starts
 * a region's escrow lazily the first time a SKU is asked for there, checks buyers' ownership of the
 * reservations they commit or cancel, and runs the periodic tick: store verification (a journaled
 * store rebuilds Redis after a discontinuity), admission, rebalancing, reconciliation.
 */
import { randomBytes, randomInt } from "node:crypto";
import { allocate } from "../../model/escrow/allocation.js";
import { systemClock, type Clock } from "../common/clock.js";
import type { EscrowConfig, SkuConfig } from "./config.js";
import { ownerTagKey, ownsToken, parseReservationId, reservationPrefix, type ParsedReservationId } from "./core/ids.js";
import { DEFAULT_POLICY, type RebalancePolicy } from "./core/rebalance.js";
import { reconcile, type ReconciliationReport } from "./reconcile.js";
import { LiveDemand } from "./live-demand.js";
import type { TransitionSink } from "./transition-log.js";
import { RegionEscrow } from "./region.js";
import type { CreateOutcome, EscrowStore, RefundOutcome, VerifyReport } from "./store/port.js";
import { DEFAULT_ADMISSION, FlashSale, type AdmissionSettings, type AdmitResult } from "./flashsale/sale.js";
import type { RateLimiterPort } from "./flashsale/ports.js";
import type { Buyer } from "./transport/identity.js";
import type { GlobalWaitingRoom } from "./flashsale/global-room.js";
import { ReservationAnswers, type CancelOutcome, type CommitOutcome, type ReservationStatus } from "./reservation-answers.js";

/**
 * The transition log's hashing per tick at most, and per turn of the event loop. A sale (reserve + commit) costs the log
 * ~45–60 µs of CPU on its compact state tree (2026-12-07, this 2-core machine, load 3–8), so 400 ms a second keeps pace
 * with ~7,000 sales/s — more than one process serves — and leaves the rest of each second to the tick's other work. The
 * old 100 ms let a 3,000 sales/s sale (at the ~150 µs a sale of the tree before) seal the log in ~25 s.
 */
const TRANSITIONS_MS_PER_TICK = 400;
const TRANSITIONS_SLICE_MS = 2;

export interface EscrowServiceOptions {
  config: EscrowConfig;
  store: EscrowStore;
  /** The per-user limiter (runtime/ratelimit's createGcraLimiter in production). */
  limiter: RateLimiterPort;
  clock?: Clock;
  rng?: () => number;
  /** The global waiting room of scheduled SKUs (needs the queue-token secret). */
  room?: GlobalWaitingRoom;
  /**
   * Why the strong path is closed now (the node's clock is frozen by the skew monitor, its ε is beyond the
   * bound, it jumped), or null (runtime/clock's `ClockNode.strongRefusal`). While closed, commits answer
   * `unavailable` and regions do not renew their leases.
   */
  strongRefusal?: () => string | null;
  /** Told (synchronously, never awaited) after a sale, a refund and each tick: the balances may have changed (the map publisher). */
  onChange?: () => void;
  /** The state-transition log every served region's ledger and refunds are recorded in (fraud proofs). */
  transitions?: TransitionSink;
}

export interface InventoryView {
  sku: string;
  generation: string;
  total: number;
  sold: number;
  reserved: number;
  available: number;
  pool: number;
  /**
   * Per region: units, its lease, and `demand` (units/s it plans with, as published to the store); for
   * the regions this process serves also `forecast` (the model's rate) and `expected` (the forecast
   * updated by the live rate) — forecast vs actual.
   */
  regions: Record<string, { held: number; reserved: number; free: number | null; live: boolean; epoch: number; demand: number; forecast?: number; expected?: number }>;
  warnings: string[];
}

export class EscrowService {
  readonly clock: Clock;
  readonly config: EscrowConfig;
  readonly admission: AdmissionSettings;
  private readonly sales = new Map<string, Promise<FlashSale | null>>();
  /** The started ones, for the sale path to find without awaiting a promise. */
  private readonly running = new Map<string, FlashSale>();
  private readonly started: FlashSale[] = [];
  private readonly liveDemand = new Map<FlashSale, LiveDemand>();
  private readonly rng: () => number;
  private timer: NodeJS.Timeout | null = null;
  private readonly answers: ReservationAnswers;
  private ticking: Promise<void> | null = null;
  private secret: Promise<Buffer> | null = null;
  readonly reconciliations = new Map<string, ReconciliationReport>();
  /** The last store verification per SKU, and every rebuild seen (discontinuities). */
  readonly verifications = new Map<string, VerifyReport>();
  readonly rebuilds: VerifyReport[] = [];

  constructor(private readonly o: EscrowServiceOptions) {
    this.config = o.config;
    this.clock = o.clock ?? systemClock;
    this.rng = o.rng ?? (() => randomInt(0, 2 ** 47) / 2 ** 47);
    const a = o.config.admission;
    this.admission = {
      ...DEFAULT_ADMISSION,
      perUserLimit: a.perUserLimit,
      maxConcurrentCheckouts: a.maxConcurrentCheckouts,
      lowInventoryFraction: a.lowInventoryFraction,
      queuePolicy: o.config.waitingRoom.policy,
      batchSize: o.config.waitingRoom.trancheSize,
      passTtlMs: o.config.waitingRoom.passTtlSeconds * 1000,
    };
    this.answers = new ReservationAnswers({
      holder: (p) => this.holder(p),
      earlierRun: (p, user) => this.earlierRun(p, user),
      store: o.store,
      clock: this.clock,
      strongRefusal: () => o.strongRefusal?.() ?? null,
      onChange: () => o.onChange?.(),
    });
  }

  get regions(): readonly string[] {
    return this.config.regions;
  }

  serves(region: string): boolean {
    return this.config.regions.includes(region);
  }

  get store(): EscrowStore {
    return this.o.store;
  }

  private skuConfig(sku: string): SkuConfig | undefined {
    return this.config.skus.find((s) => s.sku === sku);
  }

  /** Units per region of an item created at run time: the allocation formula over the known regions, evenly weighted. */
  allocationFor(total: number): Record<string, number> {
    const ids = [...new Set([...this.config.regions, ...Object.keys(this.config.peers)])].sort();
    const a = allocate(
      total,
      ids.map((id) => ({ id, history: [1], currentLoad: 0.5, capacity: 1, location: { lat: 0, lon: 0 } })),
      { globalReserveFraction: 0.1 },
    );
    return Object.fromEntries(a.regions.map((r) => [r.id, r.units]));
  }

  async createItem(sku: string, total: number): Promise<{ outcome: CreateOutcome; allocation: Record<string, number> }> {
    const allocation = this.skuConfig(sku)?.allocation ?? this.allocationFor(total);
    const outcome = await this.o.store.createItem(sku, total, allocation, this.clock.now());
    return { outcome, allocation };
  }

  /** Create every configured item (a different total already in the store is reported, the store's kept). */
  async createConfigured(onConflict?: (sku: string) => void): Promise<void> {
    for (const s of this.config.skus) if ((await this.o.store.createItem(s.sku, s.total, s.allocation, this.clock.now())) === "conflict") onConflict?.(s.sku);
  }

  policyFor(sku: string, region: string): RebalancePolicy {
    const s = this.skuConfig(sku);
    const r = this.config.rebalancing;
    return {
      mode: r.mode,
      horizonSeconds: r.horizonSeconds,
      maxWaiters: r.maxWaiters,
      batchSize: s?.refill.batchSize ?? DEFAULT_POLICY.batchSize,
      reorderPoint: s?.refill.reorderPoints[region] ?? DEFAULT_POLICY.reorderPoint,
    };
  }

  /** The region's flash sale for a SKU, started on first use; null when the store has no such SKU. */
  sale(sku: string, region: string): Promise<FlashSale | null> {
    const key = `${region}\u0000${sku}`;
    const running = this.running.get(key);
    if (running) return Promise.resolve(running);
    let p = this.sales.get(key);
    if (!p) {
      p = this.startSale(sku, region);
      this.sales.set(key, p);
      // An unknown SKU is not cached: it may be created a moment later by another process.
      void p.then(
        (s) => (s === null ? this.sales.delete(key) : void this.running.set(key, s)),
        () => this.sales.delete(key),
      );
    }
    return p;
  }

  /** The store's reservation secret (read once; a failed read is retried), or this process's own where the store keeps none. */
  private reservationSecret(): Promise<Buffer> {
    this.secret ??= (this.o.store.reservationSecret?.() ?? Promise.resolve(randomBytes(32))).catch((err: unknown) => {
      this.secret = null;
      throw err;
    });
    return this.secret;
  }

  private async startSale(sku: string, region: string): Promise<FlashSale | null> {
    const audit = await this.o.store.audit(sku, this.clock.now());
    if (!audit) return null;
    const reservationSecret = await this.reservationSecret();
    const policy = this.policyFor(sku, region);
    const cfg = this.skuConfig(sku);
    // The forecast counts as two horizons of observation; what the region sees is forgotten with a
    // half-life of six, so a demand shift moves the plan within tens of seconds, not one tick's noise.
    const horizon = this.config.rebalancing.horizonSeconds;
    const live = new LiveDemand(cfg?.forecastRate[region] ?? 0, 2 * horizon, 6 * horizon, cfg?.opensAt ? Date.parse(cfg.opensAt) : this.clock.now());
    const escrow = new RegionEscrow({
      sku,
      region,
      store: this.o.store,
      clock: this.clock,
      policy,
      reservationTtlMs: this.config.reservationTtlSeconds * 1000,
      leaseTtlMs: this.config.leaseTtlSeconds * 1000,
      initialWant: audit.allocation[region] ?? policy.batchSize,
      perUserCap: this.config.admission.perUserLimit,
      forecastRate: () => live.rate,
      // Voided reservations (a lost lease, a rebuilt store) give their buyers' cap back.
      onVoid: (dropped) => void Promise.all(dropped.map((r) => this.o.store.releaseHold(sku, r.user, r.id))).catch(() => undefined),
      strongRefusal: this.o.strongRefusal,
      reservationSecret,
    });
    this.o.transitions?.attach(escrow.ledger, sku, region);
    if (!(await escrow.start())) return null;
    const sale = new FlashSale(escrow, audit.total, this.admission, this.o.limiter, this.clock, this.o.store, this.rng, this.config.rebalanceIntervalSeconds * 1000);
    this.started.push(sale);
    this.liveDemand.set(sale, live);
    return sale;
  }

  get room(): GlobalWaitingRoom | null {
    return this.o.room ?? null;
  }

  /** `admitted`: the buyer holds a global waiting-room pass (they skip the region's checkout gate). */
  async reserve(region: string, sku: string, buyer: Buyer, qty: number, admitted = false): Promise<AdmitResult | null> {
    const sale = this.running.get(`${region}\u0000${sku}`) ?? (await this.sale(sku, region));
    return sale ? sale.reserve(buyer.user, qty, buyer.weight, admitted) : null;
  }

  /** The region's sale holding a reservation made in this process, or null (another process, or a past incarnation). */
  private async holder(p: ParsedReservationId): Promise<FlashSale | null> {
    if (!this.serves(p.region)) return null;
    const sale = this.running.get(`${p.region}\u0000${p.sku}`) ?? (await this.sale(p.sku, p.region));
    return sale && sale.escrow.ledger.idPrefix.endsWith(`~${p.incarnation}`) ? sale : null;
  }

  /**
   * Whether `p` is `user`'s reservation from an earlier run of a region this process serves and holds the lease of (its
   * nonce is not the running ledger's): its token's owner tag is checked under the key the store's secret derives for
   * its prefix (core/ids.ts `ownsToken`). Such a reservation ended with that run: the new incarnation took the lease
   * and its units. Not judged while another process holds the region's lease (this one is fenced: the id may be theirs).
   */
  private async earlierRun(p: ParsedReservationId, user: string): Promise<boolean> {
    if (!this.serves(p.region)) return false;
    const sale = this.running.get(`${p.region}\u0000${p.sku}`) ?? (await this.sale(p.sku, p.region));
    if (!sale || sale.escrow.fenced || sale.escrow.ledger.idPrefix.endsWith(`~${p.incarnation}`)) return false;
    return ownsToken(ownerTagKey(await this.reservationSecret(), reservationPrefix(p.region, p.sku, p.incarnation)), p.seq, p.token, user);
  }

  /** Commit a reservation (reservation-answers.ts: any region of this process may take the request). */
  commit(id: string, buyer: Buyer, p?: ParsedReservationId | null): Promise<CommitOutcome> {
    return this.answers.commit(id, buyer, p);
  }

  /** What became of a reservation (reservation-answers.ts). */
  status(id: string, buyer: Buyer, p?: ParsedReservationId | null): Promise<ReservationStatus> {
    return this.answers.status(id, buyer, p);
  }

  /** Cancel a live reservation, or tell its owner how it ended (reservation-answers.ts). */
  cancel(id: string, buyer: Buyer): Promise<CancelOutcome> {
    return this.answers.cancel(id, buyer);
  }

  /** Put a sale's units back (a return or refund: compensation); this process's regions see them at once. */
  async refund(sku: string, saleId: string): Promise<RefundOutcome> {
    const out = await this.o.store.refund(sku, saleId, this.clock.now());
    if (out === "refunded") for (const s of this.started) if (s.escrow.sku === sku) s.escrow.invalidateView();
    if (out === "refunded") {
      const p = parseReservationId(saleId);
      if (p && this.serves(p.region)) this.o.transitions?.refund(sku, p.region, saleId);
      this.o.onChange?.();
    }
    return out;
  }

  async inventory(sku: string): Promise<InventoryView | null> {
    const now = this.clock.now();
    const audit = await this.o.store.audit(sku, now);
    if (!audit) return null;
    const regions: InventoryView["regions"] = {};
    const warnings = new Set<string>();
    for (const [id, l] of Object.entries(audit.leases)) {
      regions[id] = { held: l.live ? l.held : 0, reserved: l.live ? Math.min(l.reserved, l.held) : 0, free: null, live: l.live, epoch: l.epoch, demand: l.rate };
    }
    for (const id of this.config.regions) {
      const key = `${id}\u0000${sku}`;
      if (!this.sales.has(key)) continue;
      const sale = await this.sales.get(key)!.catch(() => null);
      if (!sale) continue;
      // This process's own regions are reported exactly from their ledgers.
      const e = sale.escrow;
      const d = this.liveDemand.get(sale);
      regions[id] = {
        held: e.ledger.held,
        reserved: e.ledger.reserved,
        free: e.ledger.free,
        live: audit.leases[id]?.live ?? false,
        epoch: e.fence.epoch,
        demand: e.demand,
        forecast: d?.forecast,
        expected: d?.rate,
      };
      for (const w of sale.warnings()) warnings.add(w);
    }
    const reserved = Object.values(regions).reduce((s, r) => s + r.reserved, 0);
    const available = audit.total - audit.sold - reserved;
    if (available > 0 && available <= audit.total * this.admission.lowInventoryFraction) warnings.add(`low inventory: ${available} of ${audit.total} available`);
    return { sku, generation: audit.generation, total: audit.total, sold: audit.sold, reserved, available, pool: audit.pool, regions, warnings: [...warnings] };
  }

  /** One maintenance round: verify each SKU's store, then tick every started sale; one failure does not stop the rest. */
  tick(): Promise<void> {
    this.ticking ??= this.runTick().finally(() => (this.ticking = null));
    return this.ticking;
  }

  private async runTick(): Promise<void> {
    const bySku = new Map<string, FlashSale[]>();
    for (const sale of this.started) bySku.set(sale.escrow.sku, [...(bySku.get(sale.escrow.sku) ?? []), sale]);
    for (const sku of bySku.keys()) {
      const v = await this.o.store.verify(sku, this.clock.now()).catch(() => null);
      if (!v) continue;
      this.verifications.set(sku, v);
      if (v.action === "rebuilt") this.rebuilds.push(v);
    }
    for (const [sku, sales] of bySku) {
      for (const sale of sales) {
        this.liveDemand.get(sale)?.update(sale.escrow.ledger.reservedTotal, this.clock.now());
        sale.admitBatch();
        try {
          await sale.escrow.tick();
          sale.breaker.success();
        } catch {
          sale.breaker.failure(this.clock.now());
        }
      }
      const reports = sales.map((s) => ({
        region: s.escrow.region,
        held: s.escrow.ledger.held,
        free: s.escrow.ledger.free,
        reserved: s.escrow.ledger.reserved,
        committing: s.escrow.ledger.committing,
        received: s.escrow.receivedSeen,
      }));
      const rep = await reconcile(this.o.store, sku, this.clock.now(), reports).catch(() => null);
      if (rep) this.reconciliations.set(sku, rep);
    }
    await this.flushTransitions(TRANSITIONS_MS_PER_TICK);
    // Leases moved, reservations expired: the balances may differ from the last publish.
    this.o.onChange?.();
  }

  /**
   * The transition log's share of a tick (a backlog waits for the next one), hashed in slices with the event
   * loop turning between them: one 100 ms flush stalled every request and store reply in flight for 100 ms
   * each second while sales outpaced the log.
   */
  private async flushTransitions(budgetMs: number): Promise<void> {
    const log = this.o.transitions;
    if (!log) return;
    // A kept log rebuilding its state after a restart logs nothing yet: its events wait queued (transitions-durable.ts).
    for (let left = budgetMs; left > 0 && log.backlog > 0 && !log.restoring;) {
      const from = performance.now();
      log.flush(Math.min(TRANSITIONS_SLICE_MS, left));
      left -= performance.now() - from;
      if (left > 0 && log.backlog > 0) await new Promise((r) => setImmediate(r));
    }
  }

  start(): void {
    this.timer ??= setInterval(() => void this.tick(), this.config.rebalanceIntervalSeconds * 1000);
    this.timer.unref();
  }

  /** Stop ticking, let an in-flight tick finish, and close the store. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.ticking?.catch(() => undefined);
    await Promise.all([this.o.store.close(), this.o.room?.close()]);
  }
}
