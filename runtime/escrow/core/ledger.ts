/**
 * The regional escrow core: the units one region holds under its lease, and the reservations drawn
 * from them. Synchronous, clock passed in, no I/O — the fast path, with no coordination (and one block
 * cipher call per 256 reservations, for their tokens). Reservations get consecutive sequence numbers and
 * share one TTL, so they sit in a deque (parallel typed arrays) in expiry order: reserving appends, looking
 * one up indexes by its sequence number (and checks its token, so a guessed id finds nothing), expiring
 * pops from the head — all O(1) (amortised). Ids swept out of the deque are still checked: their token
 * says whether this ledger issued them, and to whom (ids.ts `ReservationTokens`). A reservation being committed leaves the deque for a small map, so it cannot expire or
 * be released underneath the store write that sells it.
 *
 * Invariant: free + reserved + committing = held (the units of the lease the core accounts for),
 * every count ≥ 0, and each id is issued once (the prefix carries a per-incarnation nonce).
 */
import { ReservationTokens, SEQ_TOKEN, SweptEnds, type SweptEnd } from "./ids.js";

export interface Reservation {
  readonly id: string;
  readonly seq: number;
  readonly user: string;
  readonly qty: number;
  readonly expiresAtMs: number;
  committing: boolean;
}

/**
 * Every change of the ledger's units and reservations, as it happens (the escrow's state-transition log,
 * runtime/fraud/escrow-machine.ts, records them). `at`: the ledger's time when it knows it.
 */
export type LedgerEvent =
  | { op: "refill" | "debit"; qty: number }
  | { op: "reserve"; id: string; user: string; qty: number; expiresAt: number }
  | { op: "commit" | "cancel"; id: string; user: string }
  | { op: "expire"; id: string; at?: number }
  | { op: "void"; id: string };

export type LookupMiss = "unknown" | "expired" | "void" | "cancelled" | "over-cap";
export type BeginCommit = { ok: true; reservation: Reservation } | { ok: false; reason: LookupMiss | "in-progress" };

const DEAD = 0;
const LIVE = 1;
const EXPIRED = 2;
const VOID = 3;
const CANCELLED = 4;
const REFUSED = 5;
/** How a slot's reservation ended, as a retry is told (DEAD: sold, or being committed: the store's record answers). */
const ENDS: readonly LookupMiss[] = ["unknown", "unknown", "expired", "void", "cancelled", "over-cap"];

export class RegionLedger {
  private freeUnits = 0;
  private reservedUnits = 0;
  private committingUnits = 0;
  // The deque, as parallel arrays: slot i holds sequence base + i.
  private qtys = new Int32Array(1024);
  private expiries = new Float64Array(1024);
  private states = new Uint8Array(1024);
  private users: string[] = [];
  private tokens: string[] = [];
  private len = 0;
  private head = 0;
  private base = 0;
  private live = 0;
  private readonly committingById = new Map<string, Reservation>();
  /** Commits in flight when the ledger was voided: their units went with the lease, so an abort or a refusal gives none back. */
  private readonly orphaned = new Set<string>();
  /** The last id `slotOf` parsed (ids are a pure function of the text, and the prefix is fixed). */
  private parsedId: string | null = null;
  private parsedSeq = 0;
  private parsedToken = "";
  private readonly minted: ReservationTokens;
  /** How the ids the sweep dropped from the window ended, when not by expiry (a late commit is told void, not expired). */
  private readonly sweptEnds = new SweptEnds();
  /** Units this ledger has reserved and sold since it started (for utilisation). */
  reservedTotal = 0;
  soldTotal = 0;
  /** Told of every change (off the fast path when unset: one test per operation). */
  onEvent?: (e: LedgerEvent) => void;

  /**
   * Ids are `${idPrefix}${seq in base 36}-${token}`; the prefix must make them unique across incarnations. `ownerKey`:
   * the owner tag key of its ids (ids.ts `ownerTagKey`: from the store's secret, so later processes can check them).
   */
  constructor(
    readonly reservationTtlMs: number,
    readonly idPrefix = "",
    ownerKey?: Buffer,
  ) {
    if (!(reservationTtlMs > 0)) throw new RangeError(`reservationTtlMs: got ${reservationTtlMs}; expected > 0`);
    this.minted = new ReservationTokens(undefined, ownerKey);
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
    const i = seq - this.base;
    return `${this.idPrefix}${seq.toString(36)}-${this.tokens[i] ?? ""}`;
  }

  /** The slot an id names (token checked), or −1 when it names nothing; −2 when it precedes the window (swept long ago) and this ledger issued it. */
  private slotOf(id: string): number {
    // A commit looks its id up three times (the service, the sale, the region): the last id's parse is kept.
    if (id !== this.parsedId) {
      if (!id.startsWith(this.idPrefix)) return -1;
      const m = SEQ_TOKEN.exec(id.slice(this.idPrefix.length));
      if (!m) return -1;
      this.parsedId = id;
      this.parsedSeq = parseInt(m[1]!, 36);
      this.parsedToken = m[2]!;
    }
    const i = this.parsedSeq - this.base;
    if (i < 0) return this.minted.check(this.parsedSeq, this.parsedToken, "") === "forged" ? -1 : -2;
    return i < this.len && this.tokens[i] === this.parsedToken ? i : -1;
  }

  private view(i: number, committing = false): Reservation {
    const seq = this.base + i;
    return { id: this.idOf(seq), seq, user: this.users[i]!, qty: this.qtys[i]!, expiresAtMs: this.expiries[i]!, committing };
  }

  /** A live or committing reservation, or why there is none. */
  lookup(id: string): Reservation | LookupMiss {
    const c = this.committingById.get(id);
    if (c) return c;
    const i = this.slotOf(id);
    if (i === -2) return this.sweptEnd();
    if (i < 0) return "unknown";
    const state = this.states[i]!;
    return state === LIVE ? this.view(i) : ENDS[state]!;
  }

  /**
   * Why `user` cannot have `id`, which is neither live nor committing here: `foreign` when this ledger issued it
   * to another buyer (whatever became of it since), else what became of it. An id swept out of the window is
   * judged by its token: `unknown` if this ledger did not issue it, `foreign` if it did to another buyer, else how it
   * ended (`SweptEnds`: void, cancelled, refused for the cap), `expired` if by none of those — with no memory kept of
   * the ids that expired.
   */
  ended(id: string, user: string): LookupMiss | "foreign" {
    const i = this.slotOf(id);
    if (i === -1) return "unknown";
    if (i === -2) return this.minted.check(this.parsedSeq, this.parsedToken, user) === "owner" ? this.sweptEnd() : "foreign";
    return this.users[i] !== user ? "foreign" : ENDS[this.states[i]!]!;
  }

  /** What became of the genuine id `slotOf` last parsed, swept out of the window: as `SweptEnds` kept it, or else expired. */
  private sweptEnd(): SweptEnd | "expired" {
    return this.sweptEnds.endOf(this.parsedSeq) ?? "expired";
  }

  get(id: string): Reservation | undefined {
    const r = this.lookup(id);
    return typeof r === "string" ? undefined : r;
  }

  /** Units granted to the lease. */
  credit(n: number): void {
    this.freeUnits += n;
    if (n > 0) this.onEvent?.({ op: "refill", qty: n });
  }

  /** Take up to n free units out (push, transfer, or shrink to the store's count). Returns units taken. */
  debit(n: number): number {
    const d = Math.max(0, Math.min(n, this.freeUnits));
    this.freeUnits -= d;
    if (d > 0) this.onEvent?.({ op: "debit", qty: d });
    return d;
  }

  /** The fast path: reserve qty units and return the reservation's sequence number, or −1 when fewer are free. */
  reserveSeq(user: string, qty: number, nowMs: number): number {
    if (qty > this.freeUnits) return -1;
    if (this.len === this.qtys.length) this.grow();
    const i = this.len++;
    this.qtys[i] = qty;
    this.expiries[i] = nowMs + this.reservationTtlMs;
    this.states[i] = LIVE;
    this.users[i] = user;
    this.tokens[i] = this.minted.issue(this.base + i, user);
    this.live++;
    this.freeUnits -= qty;
    this.reservedUnits += qty;
    this.reservedTotal += qty;
    this.onEvent?.({ op: "reserve", id: this.idOf(this.base + i), user, qty, expiresAt: this.expiries[i]! });
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
    f.set(this.states);
    this.qtys = q;
    this.expiries = e;
    this.states = f;
  }

  beginCommit(id: string, nowMs: number): BeginCommit {
    if (this.committingById.has(id)) return { ok: false, reason: "in-progress" };
    const i = this.slotOf(id);
    if (i === -2) return { ok: false, reason: this.sweptEnd() };
    if (i < 0 || this.states[i] !== LIVE) return { ok: false, reason: ENDS[i < 0 ? DEAD : this.states[i]!]! };
    if (this.expiries[i]! <= nowMs) {
      this.onEvent?.({ op: "expire", id: this.idOf(this.base + i), at: nowMs });
      this.drop(i, EXPIRED);
      return { ok: false, reason: "expired" };
    }
    const r = this.view(i, true);
    this.states[i] = DEAD;
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
    this.orphaned.delete(id);
    this.committingUnits -= r.qty;
    this.soldTotal += r.qty;
    this.onEvent?.({ op: "commit", id, user: r.user });
  }

  /** The store write failed: the reservation stands again (its TTL is unchanged; it may expire now). */
  abortCommit(id: string): void {
    const r = this.committingById.get(id);
    if (!r) return;
    this.committingById.delete(id);
    this.committingUnits -= r.qty;
    const i = r.seq - this.base;
    if (this.orphaned.delete(id)) {
      // Begun under a lease the ledger has voided since: the reservation is void (a retry is told so), its units gone.
      this.voidCommit(r);
      this.onEvent?.({ op: "void", id });
      return;
    }
    if (i >= this.head && i < this.len && this.tokens[i] === r.id.slice(-16)) {
      this.states[i] = LIVE; // the slot still holds its qty, expiry, user and token
      this.live++;
      this.reservedUnits += r.qty;
    } else {
      this.freeUnits += r.qty; // its slot was already swept: it has expired (or the ledger was voided meanwhile)
      this.onEvent?.({ op: "cancel", id, user: r.user }); // released to free stock, its time not necessarily up
    }
  }

  /** The store refused the sale (the lease was lost): the reservation is void (a retry is told so) and its units are gone. */
  failCommit(id: string): void {
    const r = this.committingById.get(id);
    if (!r) return;
    this.committingById.delete(id);
    this.orphaned.delete(id);
    this.committingUnits -= r.qty;
    this.voidCommit(r);
    this.onEvent?.({ op: "void", id });
  }

  /** The store refused the sale but the lease stands (the buyer's cap): the units go back to free stock. */
  refuseCommit(id: string): void {
    const r = this.committingById.get(id);
    if (!r) return;
    this.committingById.delete(id);
    this.committingUnits -= r.qty;
    if (this.orphaned.delete(id)) {
      this.voidCommit(r);
      this.onEvent?.({ op: "void", id }); // its lease was voided meanwhile: the units are not this ledger's to free
      return;
    }
    const i = r.seq - this.base; // kept, so a retry is told it was refused (once swept: expired)
    if (i >= 0 && i < this.len && this.tokens[i] === r.id.slice(-16)) this.states[i] = REFUSED;
    this.freeUnits += r.qty;
    this.onEvent?.({ op: "cancel", id, user: r.user });
  }

  /** Cancel a live reservation; its units become free again. */
  release(id: string): Reservation | undefined {
    const i = this.slotOf(id);
    if (i < 0 || this.states[i] !== LIVE) return undefined;
    const r = this.view(i);
    this.onEvent?.({ op: "cancel", id, user: r.user });
    this.drop(i, CANCELLED); // kept, so a retry is told it was cancelled (once swept: expired, ids.ts)
    return r;
  }

  private drop(i: number, state: number): void {
    this.states[i] = state;
    this.live--;
    this.reservedUnits -= this.qtys[i]!;
    this.freeUnits += this.qtys[i]!;
  }

  /** Release every reservation whose TTL has passed, oldest first; returns them. */
  expire(nowMs: number): Reservation[] {
    const out: Reservation[] = [];
    while (this.head < this.len) {
      if (this.states[this.head] === LIVE) {
        if (this.expiries[this.head]! > nowMs) break;
        const r = this.view(this.head);
        out.push(r);
        this.onEvent?.({ op: "expire", id: r.id, at: nowMs });
        this.drop(this.head, EXPIRED);
      }
      this.head++;
    }
    // Compact once the swept prefix dominates, so memory follows the live window (ids before the window
    // can name nothing live: their token alone says whether this ledger issued them, and to whom).
    if (this.head > 1024 && this.head * 2 > this.len) {
      this.keepSweptEnds();
      const n = this.len - this.head;
      this.qtys.copyWithin(0, this.head, this.len);
      this.expiries.copyWithin(0, this.head, this.len);
      this.states.copyWithin(0, this.head, this.len);
      this.users = this.users.slice(this.head, this.len);
      this.tokens = this.tokens.slice(this.head, this.len);
      this.base += this.head;
      this.len = n;
      this.head = 0;
    }
    return out;
  }

  /** A commit (its slot left DEAD by beginCommit) ended void: its slot says so, or the swept voids once the sweep dropped it. */
  private voidCommit(r: Reservation): void {
    const i = r.seq - this.base;
    if (i < 0)
      this.sweptEnds.add("void", [r.seq]); // its slot was swept meanwhile
    else if (i < this.len && this.tokens[i] === r.id.slice(-16)) this.states[i] = VOID;
  }

  /** Before the swept prefix is dropped: how its ids ended, if not by expiry, goes to `sweptEnds` (a scan per compaction, off the fast path). */
  private keepSweptEnds(): void {
    const ends: Record<number, number[]> = { [VOID]: [], [CANCELLED]: [], [REFUSED]: [] };
    for (let i = 0; i < this.head; i++) ends[this.states[i]!]?.push(this.base + i);
    for (const state of [VOID, CANCELLED, REFUSED]) this.sweptEnds.add(ENDS[state] as SweptEnd, ends[state]!);
  }

  /** The lease was lost (reclaimed, rebuilt or fenced): every local unit and live reservation is void. */
  void(): Reservation[] {
    const dropped: Reservation[] = [];
    for (const id of this.committingById.keys()) this.orphaned.add(id);
    for (let i = this.head; i < this.len; i++) {
      if (this.states[i] !== LIVE) continue;
      const r = this.view(i);
      dropped.push(r);
      this.onEvent?.({ op: "void", id: r.id });
      this.states[i] = VOID; // kept, so a late commit is told its reservation was voided
    }
    this.head = this.len;
    this.live = 0;
    if (this.freeUnits > 0) this.onEvent?.({ op: "debit", qty: this.freeUnits });
    this.freeUnits = 0;
    this.reservedUnits = 0;
    return dropped;
  }
}
