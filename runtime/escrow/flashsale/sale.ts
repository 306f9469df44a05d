/**
 * Flash-sale admission for one SKU in one region (outline §11.1.4), in front of the region's escrow:
 * per-user rate limit (the GCRA port) → concurrent-checkout limit with a waiting room (fair queue; progressive batch admission hands each admitted buyer a
 * checkout slot pre-allocated to them for `passTtlMs`, released when it lapses; the limit adapts to
 * store latency) → the escrow fast path, or its slow path behind a circuit breaker → the buyer's global
 * cap, held in the store (reserved + bought across every region ≤ perUserLimit; a refused hold
 * cancels the reservation). Reservations auto-expire with their TTL (and their holds with them);
 * low-inventory warnings ride on successful responses.
 *
 * Invariant: a rejected request reserves nothing and moves no unit; only the escrow moves units.
 */
import type { Clock } from "../../common/clock.js";
import type { Reservation } from "../core/ledger.js";
import type { EscrowStore } from "../store/port.js";
import type { RegionEscrow } from "../region.js";
import type { CommitResult, ReserveResult } from "../region-types.js";
import { AdaptiveLimit } from "./adaptive.js";
import { CircuitBreaker } from "./breaker.js";
import type { RateLimiterPort } from "./ports.js";
import { WaitingRoom, type QueuePolicy } from "./waiting-room.js";

export interface AdmissionSettings {
  perUserLimit: number;
  maxConcurrentCheckouts: number;
  queuePolicy: QueuePolicy;
  batchSize: number;
  lowInventoryFraction: number;
  passTtlMs: number;
  breakerThreshold: number;
  breakerCooldownMs: number;
  targetLatencyMs: number;
}

export const DEFAULT_ADMISSION: AdmissionSettings = {
  perUserLimit: 4,
  maxConcurrentCheckouts: 1000,
  queuePolicy: "fifo",
  batchSize: 100,
  lowInventoryFraction: 0.1,
  passTtlMs: 30_000,
  breakerThreshold: 5,
  breakerCooldownMs: 2_000,
  targetLatencyMs: 250,
};

export type AdmitResult =
  | { status: "reserved"; reservation: Reservation; warnings: string[] }
  | { status: "sold-out"; detail: string; left: number }
  | { status: "throttled"; retryAfterMs: number; detail: string; queuePosition?: number }
  | { status: "unavailable"; retryAfterMs: number; detail: string }
  | { status: "forbidden"; detail: string };

export class FlashSale {
  readonly room: WaitingRoom;
  readonly breaker: CircuitBreaker;
  readonly adaptive: AdaptiveLimit;

  constructor(
    readonly escrow: RegionEscrow,
    readonly total: number,
    readonly settings: AdmissionSettings,
    private readonly limiter: RateLimiterPort,
    private readonly clock: Clock,
    private readonly store: EscrowStore,
    rng: () => number,
    private readonly batchIntervalMs = 1000,
  ) {
    this.room = new WaitingRoom(settings.queuePolicy, rng, settings.passTtlMs);
    this.breaker = new CircuitBreaker(settings.breakerThreshold, settings.breakerCooldownMs);
    this.adaptive = new AdaptiveLimit(Math.max(1, Math.ceil(settings.maxConcurrentCheckouts / 10)), settings.maxConcurrentCheckouts, settings.targetLatencyMs);
  }

  /** `admitted`: the buyer holds a pass from the global waiting room, which counts as a checkout slot here. */
  async reserve(user: string, qty: number, weight = 1, admitted = false): Promise<AdmitResult> {
    const now = this.clock.now();
    const s = this.settings;
    if (qty > s.perUserLimit) return { status: "forbidden", detail: `qty ${qty} exceeds the per-user limit of ${s.perUserLimit}` };
    const rate = this.limiter.check(`${this.escrow.sku}:${user}`, 1, now);
    if (!rate.allowed) return { status: "throttled", retryAfterMs: rate.retryAfterMs, detail: `user ${user} is over the per-user request rate` };
    // Once the request can never be met, say so at once rather than queueing buyers for nothing.
    // (Checked without I/O first: the common answer pays no promise.)
    const dry = this.escrow.soldOut(qty) ? await this.escrow.confirmSoldOut(qty) : null;
    if (dry) return dry;
    // Concurrent-checkout gate: buyers with a pass go in; others only when nobody waits and there is room.
    const hasPass = admitted || this.room.hasPass(user, now);
    if (!hasPass) {
      const busy = this.escrow.ledger.openReservations + this.room.outstandingPasses;
      if (this.room.size > 0 || busy >= this.adaptive.limit) {
        const position = this.room.join(user, now, weight);
        const batches = Math.ceil(position / s.batchSize);
        return {
          status: "throttled",
          retryAfterMs: batches * this.batchIntervalMs,
          detail: `checkouts are full (${busy} open); you are in the waiting room (${s.queuePolicy})`,
          queuePosition: position,
        };
      }
    }
    const fast = this.escrow.tryReserve(user, qty);
    let result: ReserveResult | null = fast ? { status: "reserved", reservation: fast } : null;
    if (!result) {
      if (!this.breaker.allow(now)) return { status: "unavailable", retryAfterMs: Math.max(1, this.breaker.retryAfterMs(now)), detail: "the global pool is unreachable; circuit open" };
      try {
        result = await this.escrow.reserve(user, qty);
        this.breaker.success();
      } catch (err) {
        this.breaker.failure(this.clock.now());
        return { status: "unavailable", retryAfterMs: this.settings.breakerCooldownMs, detail: `global pool: ${(err as Error).message}` };
      }
    }
    if (result.status === "sold-out") return result;
    if (result.status === "retry") return { status: "throttled", retryAfterMs: result.retryAfterMs, detail: result.detail };
    const r = result.reservation;
    // The global cap: the store counts this reservation against everything the buyer holds or bought in any region.
    let hold;
    try {
      hold = await this.store.hold(this.escrow.sku, { user, holdId: r.id, qty, cap: s.perUserLimit, expiresAtMs: r.expiresAtMs, nowMs: now });
    } catch (err) {
      this.escrow.cancel(r.id);
      this.breaker.failure(this.clock.now());
      return { status: "unavailable", retryAfterMs: this.settings.breakerCooldownMs, detail: `per-user cap: ${(err as Error).message}` };
    }
    if (!hold.ok) {
      this.escrow.cancel(r.id);
      if (hold.bought + qty > s.perUserLimit) return { status: "forbidden", detail: `user ${user} already bought ${hold.bought} of a per-user limit of ${s.perUserLimit}` };
      return {
        status: "forbidden",
        detail: `user ${user} holds ${hold.held} reserved and bought ${hold.bought} of a per-user limit of ${s.perUserLimit} (across every region); commit or cancel a reservation first`,
      };
    }
    if (hasPass) this.room.consumePass(user);
    this.room.leave(user);
    return { status: "reserved", reservation: r, warnings: this.warnings() };
  }

  async commit(id: string): Promise<CommitResult | { status: "unavailable"; retryAfterMs: number; detail: string }> {
    const start = this.clock.now();
    const r = this.escrow.ledger.get(id);
    if (r && !this.breaker.allow(start)) return { status: "unavailable", retryAfterMs: Math.max(1, this.breaker.retryAfterMs(start)), detail: "the ledger is unreachable; circuit open" };
    let out: CommitResult;
    try {
      out = await this.escrow.commit(id);
    } catch (err) {
      this.breaker.failure(this.clock.now());
      this.adaptive.observe(this.clock.now() - start, false);
      return { status: "unavailable", retryAfterMs: this.settings.breakerCooldownMs, detail: `ledger: ${(err as Error).message}` };
    }
    if (r) {
      this.breaker.success();
      this.adaptive.observe(this.clock.now() - start, true);
    }
    return out;
  }

  /** Cancel a live reservation and drop its hold on the buyer's cap. */
  async cancel(id: string): Promise<Reservation | undefined> {
    const r = this.escrow.cancel(id);
    if (r) await this.store.releaseHold(this.escrow.sku, r.user, id);
    return r;
  }

  /** Progressive admission: let the next batch in, as far as the checkout limit allows. */
  admitBatch(): string[] {
    const room = this.adaptive.limit - this.escrow.ledger.openReservations - this.room.outstandingPasses;
    return this.room.admit(Math.min(this.settings.batchSize, room), this.clock.now());
  }

  /** Units still obtainable anywhere as far as this region knows (its free stock, the pool, other regions). */
  approxAvailable(): number {
    return this.escrow.obtainable;
  }

  warnings(): string[] {
    const left = this.approxAvailable();
    return left <= this.total * this.settings.lowInventoryFraction ? [`low inventory: about ${left} of ${this.total} left`] : [];
  }
}
