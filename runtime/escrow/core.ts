/**
 * The regional escrow core: the units one region holds under its lease, and the reservations drawn
 * from them. Synchronous, clock passed in, no I/O — the fast path. A reservation is an O(1) local
 * decrement with no coordination; reservations share one TTL, so insertion order is expiry order and
 * expiring them costs O(expired).
 *
 * Invariant: free + reserved + committing = held (the units of the region's lease the core accounts
 * for), every count ≥ 0. A reservation being committed cannot expire or be released underneath the
 * store write that sells it.
 */

export interface Reservation {
  id: string;
  user: string;
  qty: number;
  expiresAtMs: number;
  committing: boolean;
}

export type ReserveOutcome = { ok: true; reservation: Reservation } | { ok: false; reason: "insufficient"; free: number };
export type BeginCommit = { ok: true; reservation: Reservation } | { ok: false; reason: "unknown" | "expired" | "in-progress" };

export class RegionLedger {
  private freeUnits = 0;
  private reservedUnits = 0;
  private committingUnits = 0;
  private readonly reservations = new Map<string, Reservation>();
  /** Units this ledger has reserved and sold since it started (for utilisation). */
  reservedTotal = 0;
  soldTotal = 0;

  constructor(readonly reservationTtlMs: number) {
    if (!(reservationTtlMs > 0)) throw new RangeError(`reservationTtlMs: got ${reservationTtlMs}; expected > 0`);
  }

  get free(): number {
    return this.freeUnits;
  }
  get reserved(): number {
    return this.reservedUnits + this.committingUnits;
  }
  get committing(): number {
    return this.committingUnits;
  }
  get held(): number {
    return this.freeUnits + this.reservedUnits + this.committingUnits;
  }
  get openReservations(): number {
    return this.reservations.size;
  }

  get(id: string): Reservation | undefined {
    return this.reservations.get(id);
  }

  /** Units granted to the lease. */
  credit(n: number): void {
    this.freeUnits += n;
  }

  /** Take up to n free units out (push to the pool, or shrink to the store's count). Returns units taken. */
  debit(n: number): number {
    const d = Math.max(0, Math.min(n, this.freeUnits));
    this.freeUnits -= d;
    return d;
  }

  reserve(id: string, user: string, qty: number, nowMs: number): ReserveOutcome {
    if (qty > this.freeUnits) return { ok: false, reason: "insufficient", free: this.freeUnits };
    const reservation: Reservation = { id, user, qty, expiresAtMs: nowMs + this.reservationTtlMs, committing: false };
    this.reservations.set(id, reservation);
    this.freeUnits -= qty;
    this.reservedUnits += qty;
    this.reservedTotal += qty;
    return { ok: true, reservation };
  }

  beginCommit(id: string, nowMs: number): BeginCommit {
    const r = this.reservations.get(id);
    if (!r) return { ok: false, reason: "unknown" };
    if (r.committing) return { ok: false, reason: "in-progress" };
    if (r.expiresAtMs <= nowMs) {
      this.drop(r);
      return { ok: false, reason: "expired" };
    }
    r.committing = true;
    this.reservedUnits -= r.qty;
    this.committingUnits += r.qty;
    return { ok: true, reservation: r };
  }

  /** The store recorded the sale: the units left the lease. */
  finishCommit(id: string): void {
    const r = this.reservations.get(id);
    if (!r?.committing) return;
    this.reservations.delete(id);
    this.committingUnits -= r.qty;
    this.soldTotal += r.qty;
  }

  /** The store write failed: the reservation stands again (its TTL is unchanged). */
  abortCommit(id: string): void {
    const r = this.reservations.get(id);
    if (!r?.committing) return;
    r.committing = false;
    this.committingUnits -= r.qty;
    this.reservedUnits += r.qty;
  }

  /** The store refused the sale (the lease was lost): the reservation is void and its units are gone. */
  failCommit(id: string): void {
    const r = this.reservations.get(id);
    if (!r?.committing) return;
    this.reservations.delete(id);
    this.committingUnits -= r.qty;
  }

  /** Cancel a reservation; its units become free again. */
  release(id: string): Reservation | undefined {
    const r = this.reservations.get(id);
    if (!r || r.committing) return undefined;
    this.drop(r);
    return r;
  }

  private drop(r: Reservation): void {
    this.reservations.delete(r.id);
    this.reservedUnits -= r.qty;
    this.freeUnits += r.qty;
  }

  /** Release every reservation whose TTL has passed; returns them. */
  expire(nowMs: number): Reservation[] {
    const out: Reservation[] = [];
    for (const r of this.reservations.values()) {
      if (r.expiresAtMs > nowMs) break;
      if (r.committing) continue;
      this.drop(r);
      out.push(r);
    }
    return out;
  }

  /** The lease was lost (reclaimed by the store): every local unit and reservation is void. */
  void(): Reservation[] {
    const dropped = [...this.reservations.values()].filter((r) => !r.committing);
    for (const r of dropped) this.reservations.delete(r.id);
    this.freeUnits = 0;
    this.reservedUnits = 0;
    return dropped;
  }
}
