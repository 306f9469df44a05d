/**
 * The regional escrow core: the units one region holds under its lease, and the reservations drawn
 * from them. Synchronous, clock passed in, no I/O — the fast path, with no hashing, no allocation and
 * no coordination. Reservations get consecutive sequence numbers and share one TTL, so they sit in a
 * deque (parallel typed arrays) in expiry order: reserving appends, looking one up indexes by its
 * sequence number, expiring pops from the head — all O(1) (amortised). A reservation being committed
 * leaves the deque for a small map, so it cannot expire or be released underneath the store write
 * that sells it.
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

export type BeginCommit = { ok: true; reservation: Reservation } | { ok: false; reason: "unknown" | "expired" | "in-progress" };

export class RegionLedger {
  private freeUnits = 0;
  private reservedUnits = 0;
  private committingUnits = 0;
  // The deque, as parallel arrays so the fast path allocates nothing: slot i holds sequence base + i.
  private qtys = new Int32Array(1024);
  private expiries = new Float64Array(1024);
  private liveFlags = new Uint8Array(1024);
  private users: string[] = [];
  private len = 0;
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

  idOf(seq: number): string {
    return this.idPrefix + seq + this.idSuffix;
  }

  private seqOf(id: string): number {
    if (!id.startsWith(this.idPrefix) || !id.endsWith(this.idSuffix)) return -1;
    const digits = id.slice(this.idPrefix.length, id.length - this.idSuffix.length);
    return /^\d{1,15}$/.test(digits) ? Number(digits) : -1;
  }

  /** The slot of a live (reserved, not committing) reservation, or -1. */
  private liveSlot(id: string): number {
    const i = this.seqOf(id) - this.base;
    return i >= this.head && i < this.len && this.liveFlags[i] === 1 ? i : -1;
  }

  private view(i: number, committing = false): Reservation {
    const seq = this.base + i;
    return { id: this.idOf(seq), seq, user: this.users[i]!, qty: this.qtys[i]!, expiresAtMs: this.expiries[i]!, committing };
  }

  get(id: string): Reservation | undefined {
    const c = this.committingById.get(id);
    if (c) return c;
    const i = this.liveSlot(id);
    return i < 0 ? undefined : this.view(i);
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

  /** The fast path: reserve qty units and return the reservation's sequence number, or -1 when fewer are free. */
  reserveSeq(user: string, qty: number, nowMs: number): number {
    if (qty > this.freeUnits) return -1;
    if (this.len === this.qtys.length) this.grow();
    const i = this.len++;
    this.qtys[i] = qty;
    this.expiries[i] = nowMs + this.reservationTtlMs;
    this.liveFlags[i] = 1;
    this.users[i] = user;
    this.live++;
    this.freeUnits -= qty;
    this.reservedUnits += qty;
    this.reservedTotal += qty;
    return this.base + i;
  }

  /** Reserve qty units, or null when fewer are free (the caller may pull from the pool). */
  reserve(user: string, qty: number, nowMs: number): Reservation | null {
    const seq = this.reserveSeq(user, qty, nowMs);
    return seq < 0 ? null : this.view(seq - this.base);
  }

  private grow(): void {
    const cap = this.qtys.length * 2;
    const q = new Int32Array(cap);
    q.set(this.qtys);
    const e = new Float64Array(cap);
    e.set(this.expiries);
    const f = new Uint8Array(cap);
    f.set(this.liveFlags);
    this.qtys = q;
    this.expiries = e;
    this.liveFlags = f;
  }

  beginCommit(id: string, nowMs: number): BeginCommit {
    if (this.committingById.has(id)) return { ok: false, reason: "in-progress" };
    const i = this.liveSlot(id);
    if (i < 0) return { ok: false, reason: "unknown" };
    if (this.expiries[i]! <= nowMs) {
      this.drop(i);
      return { ok: false, reason: "expired" };
    }
    const r = this.view(i, true);
    this.liveFlags[i] = 0;
    this.live--;
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
    const i = r.seq - this.base;
    if (i >= this.head && i < this.len) {
      this.liveFlags[i] = 1; // the slot still holds its qty, expiry and user
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
    const i = this.liveSlot(id);
    if (i < 0) return undefined;
    const r = this.view(i);
    this.drop(i);
    return r;
  }

  private drop(i: number): void {
    this.liveFlags[i] = 0;
    this.live--;
    this.reservedUnits -= this.qtys[i]!;
    this.freeUnits += this.qtys[i]!;
  }

  /** Release every reservation whose TTL has passed, oldest first; returns them. */
  expire(nowMs: number): Reservation[] {
    const out: Reservation[] = [];
    while (this.head < this.len) {
      if (this.liveFlags[this.head] === 1) {
        if (this.expiries[this.head]! > nowMs) break;
        out.push(this.view(this.head));
        this.drop(this.head);
      }
      this.head++;
    }
    // Compact once the swept prefix dominates, so memory follows the live window. A committing
    // reservation swept here is restored to the pool of free units if its commit aborts.
    if (this.head > 1024 && this.head * 2 > this.len) {
      const n = this.len - this.head;
      this.qtys.copyWithin(0, this.head, this.len);
      this.expiries.copyWithin(0, this.head, this.len);
      this.liveFlags.copyWithin(0, this.head, this.len);
      this.users = this.users.slice(this.head, this.len);
      this.base += this.head;
      this.len = n;
      this.head = 0;
    }
    return out;
  }

  /** The lease was lost (reclaimed by the store): every local unit and reservation is void. */
  void(): Reservation[] {
    const dropped: Reservation[] = [];
    for (let i = this.head; i < this.len; i++) if (this.liveFlags[i] === 1) dropped.push(this.view(i));
    this.base += this.len;
    this.len = 0;
    this.head = 0;
    this.users = [];
    this.liveFlags.fill(0);
    this.live = 0;
    this.freeUnits = 0;
    this.reservedUnits = 0;
    return dropped;
  }
}
