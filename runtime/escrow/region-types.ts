/** What one region's escrow (region.ts) is built with and answers: its options, results and drift events. */
import type { Clock } from "../common/clock.js";
import type { Reservation } from "./core/ledger.js";
import type { RebalancePolicy } from "./core/rebalance.js";
import type { EscrowStore } from "./store/port.js";

export type ReserveResult = { status: "reserved"; reservation: Reservation } | { status: "sold-out"; detail: string; left: number } | { status: "retry"; retryAfterMs: number; detail: string };

export type CommitResult = { status: "sold"; qty: number; duplicate: boolean } | { status: "unknown" | "expired" | "void" | "cancelled" | "in-progress" | "lease-lost" | "over-cap" };

export interface RegionEscrowOptions {
  sku: string;
  region: string;
  store: EscrowStore;
  clock: Clock;
  reservationTtlMs: number;
  leaseTtlMs: number;
  policy?: RebalancePolicy;
  /** Units the region asks for when it starts (its allocation). */
  initialWant: number;
  /** Units one buyer may buy of this SKU, enforced by the store at sale time (0: no cap). */
  perUserCap?: number;
  /** Forecast demand, units/s: rebalancing plans with the larger of it and the live rate. */
  forecastRate?: () => number;
  /** Told the reservations dropped when the ledger is voided (their holds can go). */
  onVoid?: (dropped: Reservation[], reason: string) => void;
  /**
   * Why this node's clock cannot be trusted for time-based promises now (a frozen skew state, ε beyond its
   * bound), or null. While it answers a reason the lease is not renewed: a clock that may be far off must not
   * extend a lease whose expiry the other regions judge by their own clocks. The lease then lapses and its
   * units go back to the pool, as for a region that stopped.
   */
  strongRefusal?: () => string | null;
  /** The store's reservation secret (EscrowStore.reservationSecret): keys the owner tags of the ledger's ids. */
  reservationSecret?: Buffer;
}

export interface DriftEvent {
  atMs: number;
  storeHeld: number;
  localHeld: number;
  correction: "credited" | "debited" | "voided";
  reason: string;
}
