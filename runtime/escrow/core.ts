/**
 * The regional escrow core: the units one region holds under its lease, and the reservations drawn
 * from them. Synchronous, clock passed in, no I/O — the fast path, with no hashing and no
 * coordination. Reservations get consecutive sequence numbers and share one TTL, so they sit in a
 * deque in expiry order: reserving appends, looking one up indexes by its sequence number, expiring
 * pops from the head — all O(1) (amortised). A reservation being committed leaves the deque for a
 * small map, so it cannot expire or be released underneath the store write that sells it.
 *
 * Invariant: free + reserved + committing = held (the units of the lease the core accounts for),
 * every count ≥ 0, and each id is issued once per ledger (the prefix carries a per-incarnation nonce).
 */

export interface Reservation {
  readonly id: string;
  readonly seq: number;
  readonly user: string;
  readonly qty: number;
  readonly expiresAtMs: number;
  committing: boolean;
}

/** A reservation whose id string is built only when someone asks for it (the fast path never does). */
class Hold implements Reservation {
  committing = false;
  constructor(
    readonly seq: number,
    readonly user: string,
    readonly qty: number,
    readonly expiresAtMs: number,
    private readonly ids: { readonly idPrefix: string; readonly idSuffix: string },
  ) {}
  get id(): string {
    return this.ids.idPrefix + this.seq + this.ids.idSuffix;
  }
}

export type BeginCommit = { ok: true; reservation: Reservation } | { ok: false; reason: "unknown" | "expired" | "in-progress" };

export class RegionLedger {
  private freeUnits = 0;
  private reservedUnits = 0;
  private committingUnits = 0;
  /** slots[i] holds sequence number base + i; undefined once released, expired or committing. */
  private slots: (Reservation | undefined)[] = [];
  private head = 0;
  private base = 0;
  private live = 0;
  private readonly committingById = new Map<string, Reservation>();
  /** Units this ledger has reserved and sold since it started (for utilisation). */
  reservedTotal = 0;
  soldTotal = 0;

  /** Ids are `${idPrefix}${seq}${idSuffix}`; the prefix must make them unique across incarnations. */
  constructor(
    readonly reservationTtlMs: number,
    readonly idPrefix = "",
    readonly idSuffix = "",
  ) {
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
    return this.live + this.committingById.size;
  }

  private seqOf(id: string): number {
    if (!id.startsWith(this.idPrefix) || !id.endsWith(this.idSuffix)) return -1;
    const digits = id.slice(this.idPrefix.length, id.length - this.idSuffix.length);
    return /^\d{1,15}$/.test(digits) ? Number(digits) : -1;
  }

  private slotOf(seq: number): number {
    const i = seq - this.base;
    return i >= this.head && i < this.slots.length ? i : -1;
  }

  get(id: string): Reservation | undefined {
    const c = this.committingById.get(id);
    if (c) return c;
    const i = this.slotOf(this.seqOf(id));
    return i < 0 ? undefined : this.slots[i];
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

  /** Reserve qty units, or null when fewer are free (the caller may pull from the pool). */
  reserve(user: string, qty: number, nowMs: number): Reservation | null {
    if (qty > this.freeUnits) return null;
    const seq = this.base + this.slots.length;
    const reservation = new Hold(seq, user, qty, nowMs + this.reservationTtlMs, this);
    this.slots.push(reservation);
    this.live++;
    this.freeUnits -= qty;
    this.reservedUnits += qty;
    this.reservedTotal += qty;
    return reservation;
  }

  beginCommit(id: string, nowMs: number): BeginCommit {
    if (this.committingById.has(id)) return { ok: false, reason: "in-progress" };
    const i = this.slotOf(this.seqOf(id));
    const r = i < 0 ? undefined : this.slots[i];
    if (!r) return { ok: false, reason: "unknown" };
    if (r.expiresAtMs <= nowMs) {
      this.drop(i, r);
      return { ok: false, reason: "expired" };
    }
    this.slots[i] = undefined;
    this.live--;
    r.committing = true;
    this.committingById.set(id, r);
    this.reservedUnits -= r.qty;
    this.committingUnits += r.qty;
    return { ok: true, reservation: r };
  }

  /** The store recorded the sale: the units left the lease. */
  finishCommit(id: string): void {
    const r = this.committingById.get(id);
    if (!r) return;
    this.committingById.delete(id);
    this.committingUnits -= r.qty;
    this.soldTotal += r.qty;
  }

  /** The store write failed: the reservation stands again (its TTL is unchanged; it may expire now). */
  abortCommit(id: string): void {
    const r = this.committingById.get(id);
    if (!r) return;
    this.committingById.delete(id);
    this.committingUnits -= r.qty;
    r.committing = false;
    const i = r.seq - this.base;
    if (i >= this.head && i < this.slots.length) {
      this.slots[i] = r;
      this.live++;
      this.reservedUnits += r.qty;
    } else {
      this.freeUnits += r.qty; // its slot was already swept: it has expired
    }
  }

  /** The store refused the sale (the lease was lost): the reservation is void and its units are gone. */
  failCommit(id: string): void {
    const r = this.committingById.get(id);
    if (!r) return;
    this.committingById.delete(id);
    this.committingUnits -= r.qty;
  }

  /** Cancel a reservation; its units become free again. */
  release(id: string): Reservation | undefined {
    const i = this.slotOf(this.seqOf(id));
    const r = i < 0 ? undefined : this.slots[i];
    if (!r) return undefined;
    this.drop(i, r);
    return r;
  }

  private drop(i: number, r: Reservation): void {
    this.slots[i] = undefined;
    this.live--;
    this.reservedUnits -= r.qty;
    this.freeUnits += r.qty;
  }

  /** Release every reservation whose TTL has passed, oldest first; returns them. */
  expire(nowMs: number): Reservation[] {
    const out: Reservation[] = [];
    while (this.head < this.slots.length) {
      const r = this.slots[this.head];
      if (r) {
        if (r.expiresAtMs > nowMs) break;
        this.drop(this.head, r);
        out.push(r);
      }
      this.head++;
    }
    // Compact once the swept prefix dominates, so memory follows the live window.
    if (this.head > 1024 && this.head * 2 > this.slots.length) {
      this.slots = this.slots.slice(this.head);
      this.base += this.head;
      this.head = 0;
    }
    return out;
  }

  /** The lease was lost (reclaimed by the store): every local unit and reservation is void. */
  void(): Reservation[] {
    const dropped = this.slots.slice(this.head).filter((r): r is Reservation => r !== undefined);
    this.base += this.slots.length;
    this.slots = [];
    this.head = 0;
    this.live = 0;
    this.freeUnits = 0;
    this.reservedUnits = 0;
    return dropped;
  }
}
