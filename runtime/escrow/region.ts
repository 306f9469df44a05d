/**
 * One region's escrow for one SKU: the pure RegionLedger (fast path) joined to the store (slow path).
 * Reservations are local O(1) decrements; when the region runs dry it pulls a batch from the global
 * pool (single-flight, bounded waiters: backpressure); a periodic tick expires reservations, renews the
 * lease, pushes surplus to the pool and tops up (the hybrid pattern); reconciliation compares the
 * ledger with the store's lease and corrects drift.
 *
 * Invariant: a sale is acknowledged only after the store moved its units held → sold under this
 * region's lease epoch, so nothing a crashed or partitioned region did can sell a unit twice.
 */
import { randomBytes } from "node:crypto";
import type { Clock } from "../common/clock.js";
import { RegionLedger, type Reservation } from "./core.js";
import { DEFAULT_POLICY, ewmaRate, pullAmount, pushSurplus, topUp, type RebalancePolicy } from "./rebalance.js";
import type { AcquireResult, EscrowStore } from "./store.js";
import { reservationId } from "./ids.js";

export type ReserveResult =
  | { status: "reserved"; reservation: Reservation }
  | { status: "sold-out"; detail: string }
  | { status: "retry"; retryAfterMs: number; detail: string };

export type CommitResult =
  | { status: "sold"; qty: number; duplicate: boolean }
  | { status: "unknown" | "expired" | "in-progress" | "lease-lost" };

export interface RegionEscrowOptions {
  sku: string;
  region: string;
  store: EscrowStore;
  clock: Clock;
  reservationTtlMs: number;
  leaseTtlMs: number;
  policy?: RebalancePolicy;
  /** Units the region asks for when it starts (its static allocation). */
  initialWant: number;
}

/** Sales per group commit, and group commits in flight at once per region. */
const MAX_GROUP_COMMIT = 512;
const MAX_FLUSHES_IN_FLIGHT = 2;

interface PendingCommit {
  id: string;
  qty: number;
  resolve: (r: CommitResult) => void;
  reject: (err: unknown) => void;
}

export interface DriftEvent {
  atMs: number;
  storeHeld: number;
  localHeld: number;
  correction: "credited" | "debited" | "voided";
}

export class RegionEscrow {
  readonly ledger: RegionLedger;
  readonly sku: string;
  readonly region: string;
  readonly policy: RebalancePolicy;
  epoch = 0;
  /** Last pool and elsewhere-held figures seen from the store. */
  pool = 0;
  heldElsewhere = 0;
  freeElsewhere = 0;
  rate = 0;
  readonly drift: DriftEvent[] = [];
  private pulling: Promise<void> | null = null;
  private waiters = 0;
  private slowPath: Promise<unknown> = Promise.resolve();
  private commitSeq = 0;
  private pendingCommits: PendingCommit[] = [];
  private flushesInFlight = 0;

  private lastTickMs: number;
  private lastReservedTotal = 0;

  constructor(private readonly o: RegionEscrowOptions) {
    // Ids: `<region>.<incarnation nonce>-<seq>.<base64url sku>` (see ids.ts), unique across restarts.
    const skuTag = reservationId(o.region, o.sku, "x").slice(o.region.length + 3);
    this.ledger = new RegionLedger(o.reservationTtlMs, `${o.region}.${randomBytes(6).toString("hex")}-`, `.${skuTag}`);
    this.sku = o.sku;
    this.region = o.region;
    this.policy = o.policy ?? DEFAULT_POLICY;
    this.lastTickMs = o.clock.now();
  }

  /** Start a new incarnation: fence off any previous process of this region and take its held units. */
  async start(): Promise<boolean> {
    return this.serial(async () => {
      const r = await this.acquire(this.o.initialWant, true);
      if (!r) return false;
      this.ledger.void();
      this.ledger.credit(r.lease.held);
      return true;
    });
  }

  /** The fast path alone: no I/O. */
  tryReserve(user: string, qty: number): Reservation | null {
    const r = this.ledger.reserve(user, qty, this.o.clock.now());
    if (r) this.refillAhead();
    return r;
  }

  /** The same fast path without materialising the reservation: its sequence number, or -1. */
  tryReserveSeq(user: string, qty: number): number {
    const seq = this.ledger.reserveSeq(user, qty, this.o.clock.now());
    if (seq >= 0) this.refillAhead();
    return seq;
  }

  /**
   * The (r, Q) policy of model/escrow/refill.ts: once free stock falls to the reorder point, start a
   * pull in the background so the batch lands before the region runs dry and no buyer waits on it.
   */
  private refillAhead(): void {
    if (this.ledger.free > this.policy.reorderPoint || this.pulling || this.policy.mode === "push") return;
    if (this.pool === 0 && this.freeElsewhere === 0) return;
    this.pulling = this.serial(() => this.pull(this.policy.batchSize)).finally(() => (this.pulling = null));
    this.pulling.catch(() => undefined); // a failed refill is retried by the next tick or the next dry request
  }

  async reserve(user: string, qty: number): Promise<ReserveResult> {
    const fast = this.tryReserve(user, qty);
    if (fast) return { status: "reserved", reservation: fast };
    // Pull when the pool had units, or when other regions had free ones (their push may have refilled it).
    if (this.pool > 0 || this.freeElsewhere > 0 || this.pulling) {
      if (!this.pulling) {
        this.pulling = this.serial(() => this.pull(pullAmount(this.policy, qty, this.ledger.free))).finally(() => (this.pulling = null));
      } else if (this.waiters >= this.policy.maxWaiters) {
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
    }
    return this.shortage(qty);
  }

  /** The sold-out answer if this region can already tell nothing is obtainable (no I/O), else null. */
  soldOut(qty: number): { status: "sold-out"; detail: string } | null {
    if (this.ledger.free >= qty || this.pool > 0 || this.freeElsewhere > 0) return null;
    const r = this.shortage(qty);
    return r.status === "sold-out" ? r : null;
  }

  private shortage(qty: number): ReserveResult {
    const free = this.ledger.free;
    // Sold out once nothing is free anywhere; units in other regions' open checkouts may still return.
    if (this.pool === 0 && this.freeElsewhere === 0) {
      const open = this.ledger.reserved;
      return { status: "sold-out", detail: free > 0 ? `only ${free} left, ${qty} requested` : `sold out${open > 0 ? `; ${open} units in open checkouts may return` : ""}` };
    }
    // Free units sit in other regions' leases: push rebalancing will return them to the pool.
    return { status: "retry", retryAfterMs: Math.max(250, this.policy.horizonSeconds * 100), detail: `no units in ${this.region} or the global pool now; about ${this.freeElsewhere} free in other regions` };
  }

  /**
   * Sell a reservation. Commits are group-committed: those arriving while a store write is in flight
   * go out together in the next one (one round trip, one fsync), and each is acknowledged only once
   * the write that carries it has completed.
   */
  async commit(id: string): Promise<CommitResult> {
    const begun = this.ledger.beginCommit(id, this.o.clock.now());
    if (!begun.ok) return { status: begun.reason };
    this.commitSeq++;
    return new Promise<CommitResult>((resolve, reject) => {
      this.pendingCommits.push({ id, qty: begun.reservation.qty, resolve, reject });
      if (this.pendingCommits.length >= MAX_GROUP_COMMIT || this.flushesInFlight === 0) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.pendingCommits.length === 0 || this.flushesInFlight >= MAX_FLUSHES_IN_FLIGHT) return;
    const batch = this.pendingCommits.splice(0, MAX_GROUP_COMMIT);
    this.flushesInFlight++;
    try {
      const sales = batch.map((c) => ({ saleId: c.id, qty: c.qty }));
      let outcomes;
      try {
        outcomes = await this.o.store.recordSales(this.sku, this.region, this.epoch, sales, this.o.clock.now());
      } catch (err) {
        for (const c of batch) this.ledger.abortCommit(c.id);
        this.commitSeq++;
        for (const c of batch) c.reject(err);
        return;
      }
      this.commitSeq++;
      batch.forEach((c, i) => {
        const outcome = outcomes[i];
        if (outcome === "lease-lost" || outcome === undefined) {
          this.ledger.failCommit(c.id);
          c.resolve({ status: "lease-lost" });
        } else {
          this.ledger.finishCommit(c.id);
          c.resolve({ status: "sold", qty: c.qty, duplicate: outcome === "duplicate" });
        }
      });
    } finally {
      this.flushesInFlight--;
      if (this.pendingCommits.length > 0) void this.flush();
    }
  }

  cancel(id: string): Reservation | undefined {
    return this.ledger.release(id);
  }

  /** The hybrid maintenance step: expire, push surplus, renew and top up, reconcile. */
  async tick(): Promise<{ expired: number; pushed: number; pulled: number }> {
    return this.serial(async () => {
      const now = this.o.clock.now();
      const expired = this.ledger.expire(now).length;
      this.rate = ewmaRate(this.rate, this.ledger.reservedTotal - this.lastReservedTotal, now - this.lastTickMs);
      this.lastReservedTotal = this.ledger.reservedTotal;
      this.lastTickMs = now;
      let pushed = 0;
      const surplus = pushSurplus(this.policy, this.ledger.free, this.rate, this.pool);
      if (surplus > 0) {
        const taken = this.ledger.debit(surplus);
        pushed = await this.o.store.release(this.sku, this.region, this.epoch, taken, now);
        // A stale epoch returned nothing: the next acquire reports the lease lost and voids the ledger.
      }
      const seq = this.commitSeq;
      // Top up as if the pool had stock: the store grants what it has, and the renewal refreshes our view.
      const r = await this.acquire(topUp(this.policy, this.ledger.free, Number.POSITIVE_INFINITY), false);
      if (r && !r.lost) this.reconcileWith(r.lease.held, seq);
      return { expired, pushed, pulled: r?.granted ?? 0 };
    });
  }

  /** Compare the ledger with the store's count of this lease and correct drift; the store is the truth. */
  private reconcileWith(storeHeld: number, seq: number): void {
    // A commit in flight may or may not have landed in the store yet: only compare at rest.
    if (seq !== this.commitSeq || this.ledger.committing > 0) return;
    const local = this.ledger.held;
    if (storeHeld === local) return;
    const atMs = this.o.clock.now();
    if (storeHeld > local) {
      this.ledger.credit(storeHeld - local);
      this.drift.push({ atMs, storeHeld, localHeld: local, correction: "credited" });
    } else if (this.ledger.debit(local - storeHeld) === local - storeHeld) {
      this.drift.push({ atMs, storeHeld, localHeld: local, correction: "debited" });
    } else {
      this.ledger.void();
      this.ledger.credit(storeHeld);
      this.drift.push({ atMs, storeHeld, localHeld: local, correction: "voided" });
    }
  }

  private async pull(want: number): Promise<void> {
    await this.acquire(want, false);
  }

  private async acquire(want: number, fresh: boolean): Promise<AcquireResult | null> {
    const r = await this.o.store.acquire({
      sku: this.sku,
      region: this.region,
      want,
      nowMs: this.o.clock.now(),
      leaseTtlMs: this.o.leaseTtlMs,
      fresh,
      reserved: this.ledger.reserved,
      epoch: this.epoch,
    });
    if (!r) return null;
    this.pool = r.pool;
    this.heldElsewhere = r.heldElsewhere;
    this.freeElsewhere = r.freeElsewhere;
    if (r.lost) {
      // Our lease expired and its units went back to the pool: every local hold is void.
      this.ledger.void();
      this.ledger.credit(r.lease.held);
    } else if (!fresh) {
      this.ledger.credit(r.granted);
    }
    this.epoch = r.lease.epoch;
    return r;
  }

  /** Store-touching maintenance runs one at a time per region (commits do not wait on it). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.slowPath.then(fn, fn);
    this.slowPath = next.catch(() => undefined);
    return next;
  }
}
