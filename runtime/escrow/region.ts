/**
 * One region's escrow for one SKU: the pure RegionLedger (fast path) joined to the store (slow path).
 * Reservations are local O(1) decrements. A periodic tick expires reservations, renews the lease
 * (publishing free stock, demand and any borrow request), takes the region's pool allotment, gives
 * surplus straight to hot regions (core/rebalance.ts), and corrects drift against the store.
 *
 * Invariant: a sale is acknowledged only after the store moved its units held → sold under this
 * region's fence (generation + epoch), so nothing a crashed, partitioned or pre-rebuild region did can
 * sell a unit twice; when the store reports the fence stale, every local unit and reservation is void.
 */
import { RegionLedger, type Reservation } from "./core/ledger.js";
import { incarnationNonce, ownerTagKey, reservationPrefix } from "./core/ids.js";
import { DEFAULT_POLICY, ewmaRate, pullAmount, rebalancePlan, refillWant, type RebalancePolicy, type RegionState } from "./core/rebalance.js";
import { elsewhere, type AcquireResult, type Fence, type PeerLease } from "./store/port.js";
import type { CommitResult, DriftEvent, RegionEscrowOptions, ReserveResult } from "./region-types.js";
import { RegionCommits, sameFence } from "./region-commits.js";
import { RefusedRequests } from "./core/borrow.js";

/** A sold-out answer from a view older than this is checked against the store first. */
const VIEW_FRESH_MS = 250;

export class RegionEscrow {
  readonly ledger: RegionLedger;
  readonly sku: string;
  readonly region: string;
  readonly policy: RebalancePolicy;
  fence: Fence = { generation: "", epoch: 0 };
  /** The last view of the store: the item's total and units sold, the pool, other regions' leases. */
  total = 0;
  sold = 0;
  pool = 0;
  peers: Record<string, PeerLease> = {};
  rate = 0;
  /** True while another live incarnation of this region holds the lease. */
  fenced = false;
  /** Why the last tick did not renew the lease (the clock's strong path was closed), or null. */
  renewalRefused: string | null = null;
  /** When the view (pool, peers) was last refreshed, and whether something made it stale since. */
  private viewAtMs = 0;
  private viewStale = false;
  /**
   * A commit under the current fence was answered lease-lost (e.g. another process rebuilt the store: a new generation):
   * the ledger issues nothing until a store answer sent after that arrives (`doubts` counts such answers awaited).
   */
  private fenceDoubt = false;
  private doubts = 0;
  readonly drift: DriftEvent[] = [];
  transferredOut = 0;
  /** Units other regions transferred to this lease that the ledger has credited (the store's `received` may be ahead: in transit). */
  receivedSeen = 0;
  private pulling: Promise<void> | null = null;
  /** A view refresh queued behind the slow path and not started yet: every request needing a fresh view joins it. */
  private refreshQueued: Promise<unknown> | null = null;
  private waiters = 0;
  private slowPath: Promise<unknown> = Promise.resolve();
  private readonly commits: RegionCommits;
  private lastTickMs: number;
  private lastReservedTotal = 0;
  /** Buyers refused for lack of units (their requests: the borrow request), and the units asked since the last tick: demand the ledger never saw. */
  private readonly refusals = new RefusedRequests();
  private unmet = 0;

  constructor(private readonly o: RegionEscrowOptions) {
    const prefix = reservationPrefix(o.region, o.sku, incarnationNonce());
    this.ledger = new RegionLedger(o.reservationTtlMs, prefix, o.reservationSecret && ownerTagKey(o.reservationSecret, prefix));
    this.sku = o.sku;
    this.region = o.region;
    this.policy = o.policy ?? DEFAULT_POLICY;
    this.lastTickMs = o.clock.now();
    this.commits = new RegionCommits({
      ledger: this.ledger,
      fence: () => this.fence,
      write: (fence, sales) => o.store.recordSales(this.sku, this.region, fence, sales, o.clock.now(), o.perUserCap ?? 0),
      sold: (qty) => (this.sold += qty),
      leaseLost: (fence) => {
        if (sameFence(fence, this.fence)) [this.fenceDoubt, this.viewStale, this.doubts] = [true, true, this.doubts + 1];
        void this.tick().catch(() => undefined); // learn the new fence now
      },
    });
  }

  /** Expected demand, units/s: the live rate or the forecast, whichever is higher. */
  get demand(): number {
    return Math.max(this.rate, this.o.forecastRate?.() ?? 0);
  }

  /** Units obtainable anywhere as far as this region knows: its free stock, the pool, other regions' free units. */
  get obtainable(): number {
    return this.ledger.free + this.pool + elsewhere(this.peers).free;
  }

  /** The borrow request published on the next renewal (LeaseView.want): what serves the most refused buyers with the units obtainable (core/borrow.ts). */
  get borrow(): number {
    return this.refusals.want(this.obtainable);
  }

  /** Start a new incarnation: fence off any previous process of this region and take its held units. */
  async start(): Promise<boolean> {
    return this.serial(async () => {
      const r = await this.acquire(this.o.initialWant, true);
      return r !== null;
    });
  }

  /** The fast path alone: no I/O. */
  tryReserve(user: string, qty: number): Reservation | null {
    if (this.fenceDoubt) return null;
    const r = this.ledger.reserve(user, qty, this.o.clock.now());
    if (r) this.served(user);
    return r;
  }

  /** The same fast path without materialising the reservation: its sequence number, or −1. */
  tryReserveSeq(user: string, qty: number): number {
    if (this.fenceDoubt) return -1;
    const seq = this.ledger.reserveSeq(user, qty, this.o.clock.now());
    if (seq >= 0) this.served(user);
    return seq;
  }

  /** A reservation for `user`: their refused request, if any, is met; at the reorder point, a refill starts in the background so the batch lands before the region runs dry. */
  private served(user: string): void {
    this.refusals.served(user);
    if (this.pulling || this.pool === 0 || refillWant(this.policy, this.ledger.free, Math.max(this.demand, 1e-9)) === 0) return;
    this.startPull(this.policy.batchSize);
  }

  private startPull(want: number): void {
    this.pulling = this.serial(async () => void (await this.acquire(want, false))).finally(() => (this.pulling = null));
    this.pulling.catch(() => undefined); // a failed refill is retried by the next tick or the next dry request
  }

  /** The view is stale (e.g. a refund put units back): the next sold-out answer is checked against the store first. */
  invalidateView(): void {
    this.viewStale = true;
  }

  /** Units not sold yet anywhere (some may sit in open checkouts): no request for more can ever succeed. */
  get unsold(): number {
    return this.total - this.sold;
  }

  /**
   * The final answer for a request that can never be met — more than the units not yet sold — checked
   * against a fresh view of the store first (sold counts only grow, save refunds), else null.
   */
  async confirmSoldOut(qty: number): Promise<{ status: "sold-out"; detail: string; left: number } | null> {
    if (!this.soldOut(qty)) return null;
    if (this.viewStale || this.o.clock.now() - this.viewAtMs >= VIEW_FRESH_MS) await this.refreshView();
    return this.soldOut(qty);
  }

  async reserve(user: string, qty: number): Promise<ReserveResult> {
    const fast = this.tryReserve(user, qty);
    if (fast) return { status: "reserved", reservation: fast };
    // Any answer but a reservation is given from a view of the store no older than a moment.
    if (this.viewStale || this.o.clock.now() - this.viewAtMs >= VIEW_FRESH_MS) await this.refreshView();
    const dry = this.soldOut(qty);
    if (dry) return dry;
    const again = this.tryReserve(user, qty);
    if (again) return { status: "reserved", reservation: again };
    if (this.policy.mode !== "push" && (this.pool > 0 || this.pulling)) {
      if (!this.pulling) this.startPull(pullAmount(this.policy, qty, this.ledger.free));
      else if (this.waiters >= this.policy.maxWaiters) {
        return { status: "retry", retryAfterMs: 100, detail: `region ${this.region} is refilling from the global pool; ${this.waiters} requests already wait` };
      }
      this.waiters++;
      try {
        await this.pulling;
      } finally {
        this.waiters--;
      }
      const again = this.tryReserve(user, qty);
      if (again) return { status: "reserved", reservation: again };
      const gone = this.soldOut(qty);
      if (gone) return gone;
    }
    // Not enough here or in the pool: ask the other regions, who give what they can spare on their
    // next tick (the request is published with the renewal that starts now): the units that serve the most refused
    // buyers with the units that exist (core/borrow.ts), which the plan tops up to a batch — and, when every holder
    // borrows, meets by pooling theirs.
    if (this.refusals.refuse(user, qty)) this.unmet += qty;
    if (!this.pulling) this.startPull(0);
    const free = elsewhere(this.peers).free;
    if (this.ledger.free + this.pool + free >= qty) {
      return { status: "retry", retryAfterMs: 250, detail: `no units in ${this.region} or the global pool now; about ${free} free in other regions are being moved here` };
    }
    return {
      status: "retry",
      retryAfterMs: 1000,
      detail: `${this.unsold} units are not sold yet but none is free now: they are in open checkouts (they return if not bought in time) or on their way between regions`,
    };
  }

  /**
   * A view of the store read after this call (a renewal with nothing wanted). Requests that find the view
   * stale together share one read — one that has not started yet still reads after each of them arrived —
   * instead of queueing one store round trip each on the slow path: a dry region under a retry storm
   * (its peers' units locked in a dead region's lease until it lapses) would otherwise queue hundreds, and
   * the tick that renews the lease, reclaims the dead lease and refills would wait behind them all.
   */
  private refreshView(): Promise<unknown> {
    this.refreshQueued ??= this.serial(() => {
      this.refreshQueued = null; // started: a request arriving from now on may need a later read
      return this.acquire(0, false);
    });
    return this.refreshQueued;
  }

  /** The final answer when `qty` exceeds the units not yet sold anywhere (no I/O), else null. */
  soldOut(qty: number): { status: "sold-out"; detail: string; left: number } | null {
    const left = this.unsold;
    if (left >= qty) return null;
    return { status: "sold-out", detail: left > 0 ? `only ${left} left, ${qty} requested` : "sold out", left };
  }

  /**
   * Sell a reservation. Commits are group-committed: those arriving while a store write is in flight
   * go out together in the next one (one round trip, one fsync), and each is acknowledged only once
   * the write that carries it has completed.
   */
  commit(id: string): Promise<CommitResult> {
    return this.commits.commit(id, this.o.clock.now());
  }

  /**
   * Cancel a live reservation. One in doubt (not being sent again) is cancelled as a live one: the caller has asked the
   * store first that it was not sold (service.ts); its units come back free (void, if its lease was lost meanwhile).
   */
  cancel(id: string): Reservation | undefined {
    const r = this.ledger.get(id);
    if (this.commits.abortInDoubt(id)) {
      if (!r || this.ledger.lookup(id) === "void") return undefined; // its lease was lost meanwhile: nothing to cancel
      return this.ledger.release(id) ?? { ...r, committing: false }; // (swept meanwhile: the abort freed its units)
    }
    return this.ledger.release(id);
  }

  /** The maintenance step: expire, renew (taking this region's refill and pool allotment), give surplus away, reconcile. */
  async tick(): Promise<{ expired: Reservation[]; pulled: number; given: number }> {
    return this.serial(async () => {
      const now = this.o.clock.now();
      const expired = this.ledger.expire(now);
      this.renewalRefused = this.o.strongRefusal?.() ?? null;
      if (this.renewalRefused !== null) return { expired, pulled: 0, given: 0 };
      if (this.commits.hasInDoubt) await this.commits.resolveInDoubt(); // only commits whose write threw cost a store call here
      // Demand is what buyers asked for: units reserved, and units refused for lack of stock (each buyer
      // once a tick). Counting only reservations, a region whose buyers find it dry would show no demand,
      // be planned as cold and never be given any (core/rebalance.ts shareFor).
      this.rate = ewmaRate(this.rate, this.ledger.reservedTotal - this.lastReservedTotal + this.unmet, now - this.lastTickMs);
      this.lastReservedTotal = this.ledger.reservedTotal;
      const refused = this.unmet > 0;
      this.unmet = 0;
      this.lastTickMs = now;
      const seq = this.commits.seq;
      const mine = this.plan().grants[this.region] ?? 0;
      const r = await this.acquire(Math.max(refillWant(this.policy, this.ledger.free, this.demand), mine), false);
      if (!r || r.lost) return { expired, pulled: r?.granted ?? 0, given: 0 };
      // A borrow request stands while buyers are refused (a buyer's, while they retry: core/borrow.ts). One kept until a whole batch arrived outlived the need: near
      // the end of a sale it never clears, and two regions both borrowing lend to neither (core/rebalance.ts) — a dry
      // region's buyers got 429 while the last units sat in a region whose own buyers had been refused once, long before.
      // Units that have arrived do not end it: lending them away before its buyer returns would undo the move.
      this.refusals.tick(refused);
      let given = 0;
      for (const t of this.plan().transfers) if (t.from === this.region) given += await this.give(t.to, t.qty, now);
      if (given === 0) this.reconcileWith(r.lease.held, seq);
      return { expired, pulled: r.granted, given };
    });
  }

  /** The shared plan over the current view (core/rebalance.ts). */
  plan(): ReturnType<typeof rebalancePlan> {
    const states: RegionState[] = [{ id: this.region, free: this.ledger.free, demand: this.demand, want: this.borrow, live: !this.fenced }];
    for (const [id, p] of Object.entries(this.peers)) states.push({ id, free: Math.max(0, p.held - p.reserved), demand: p.rate, want: p.want, live: p.live });
    return rebalancePlan(this.policy, states, this.pool);
  }

  /** Give free units straight to another region's lease: the ledger gives them up first, then the store moves them. */
  private async give(to: string, qty: number, nowMs: number): Promise<number> {
    const taken = this.ledger.debit(qty);
    if (taken === 0) return 0;
    let moved = 0;
    try {
      moved = await this.o.store.transfer(this.sku, this.region, this.fence, to, taken, nowMs);
    } finally {
      this.ledger.credit(taken - moved); // what the store did not move is still ours
    }
    this.transferredOut += moved;
    return moved;
  }

  /** Compare the ledger with the store's count of this lease and correct drift; the store is the truth. */
  private reconcileWith(storeHeld: number, seq: number): void {
    // A commit in flight may or may not have landed in the store yet: only compare at rest. (A pull queued
    // behind this tick has not run — the slow path is serial — so it cannot have moved units: a dry region
    // under steady retries always has one queued, and waiting for none would never correct drift there.)
    if (seq !== this.commits.seq || this.ledger.committing > 0) return;
    const local = this.ledger.held;
    if (storeHeld === local) return;
    if (storeHeld > local) {
      this.ledger.credit(storeHeld - local);
      this.record(storeHeld, local, "credited", "the store holds more for this lease than the ledger");
    } else if (this.ledger.debit(local - storeHeld) === local - storeHeld) {
      this.record(storeHeld, local, "debited", "the ledger holds more than the store's lease");
    } else {
      this.voidLedger("the store's lease holds fewer units than are reserved here");
      this.ledger.credit(storeHeld);
    }
  }

  private record(storeHeld: number, localHeld: number, correction: DriftEvent["correction"], reason: string): void {
    this.drift.push({ atMs: this.o.clock.now(), storeHeld, localHeld, correction, reason });
    if (this.drift.length > 100) this.drift.shift();
  }

  private voidLedger(reason: string): void {
    const local = this.ledger.held;
    const dropped = this.ledger.void();
    this.record(0, local, "voided", reason);
    this.o.onVoid?.(dropped, reason);
  }

  private async acquire(want: number, fresh: boolean): Promise<AcquireResult | null> {
    const doubts = this.doubts;
    const r = await this.o.store.acquire({
      sku: this.sku,
      region: this.region,
      want,
      nowMs: this.o.clock.now(),
      leaseTtlMs: this.o.leaseTtlMs,
      fresh,
      reserved: this.ledger.reserved,
      rate: this.demand,
      borrow: this.borrow,
      fence: fresh ? undefined : this.fence,
    });
    if (doubts === this.doubts) this.fenceDoubt = false; // sent after the lease-lost answer: it tells the fence as it stands
    if (!r) return null;
    this.viewAtMs = this.o.clock.now();
    this.viewStale = false;
    this.total = r.total;
    this.sold = r.sold;
    this.pool = r.pool;
    this.peers = r.peers;
    this.fenced = r.fenced;
    if (fresh || r.lost) {
      // A new incarnation takes the lease as it stands; a lost lease (lapsed, rebuilt, fenced) voids every local hold.
      if (!fresh)
        this.voidLedger(
          r.fenced ? "another incarnation of this region holds the lease" : r.generation !== this.fence.generation ? "the store was rebuilt (new generation)" : "the lease lapsed and was reclaimed",
        );
      else this.ledger.void();
      if (!r.fenced) this.ledger.credit(r.lease.held);
    } else {
      this.ledger.credit(r.granted + (r.lease.received - this.receivedSeen));
    }
    this.receivedSeen = r.lease.received;
    // Fenced: present an epoch that matches nothing, so we take the lease only once it lapses.
    this.fence = { generation: r.generation, epoch: r.fenced ? -1 : r.lease.epoch };
    return r;
  }

  /** Store-touching maintenance runs one at a time per region (commits do not wait on it). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.slowPath.then(fn, fn);
    this.slowPath = next.catch(() => undefined);
    return next;
  }
}
