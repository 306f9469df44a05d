/**
 * A region's sale commits on their way to the store (region.ts): group commit — the commits begun in one turn of the
 * event loop share one store write — under the fence of the lease each reservation came from, and commits whose write
 * had an unknown outcome held in doubt until the store settles them.
 */
import type { RegionLedger } from "./core/ledger.js";
import type { Fence, SaleOutcome } from "./store/port.js";
import type { CommitResult } from "./region-types.js";

/** Sales per group commit, and group commits in flight at once per region. */
const MAX_GROUP_COMMIT = 512;
const MAX_FLUSHES_IN_FLIGHT = 2;

interface PendingCommit {
  id: string;
  qty: number;
  user: string;
  /** The lease the reservation's units came from: it sells under this fence or not at all. */
  fence: Fence;
  resolve: (r: CommitResult) => void;
  reject: (err: unknown) => void;
  /** In doubt: queued or in flight again (a retry joins it rather than sending it once more). */
  resent?: boolean;
}

const ignore = (): void => undefined;
export const sameFence = (a: Fence, b: Fence): boolean => a.epoch === b.epoch && a.generation === b.generation;

export interface CommitHost {
  readonly ledger: RegionLedger;
  /** The region's lease fence now. */
  fence(): Fence;
  /** Write one group of sales under `fence`: one outcome per sale, in order (the store dedupes by sale id). */
  write(fence: Fence, sales: { saleId: string; qty: number; user: string }[]): Promise<readonly SaleOutcome[]>;
  /** Units newly sold (not duplicates). */
  sold(qty: number): void;
  /** The store refused a write under `fence` (lease-lost): learn the new one. */
  leaseLost(fence: Fence): void;
}

export class RegionCommits {
  /** Moves whenever a commit is begun or settled: the region compares its ledger with the store only at rest. */
  seq = 0;
  private pending: PendingCommit[] = [];
  /**
   * Commits whose store write had an unknown outcome (it threw: the store may have applied it before the connection
   * dropped). They stay committing in the ledger — not expirable, not re-reservable, not free — until the sale is sent
   * again under its own fence (the store dedupes by sale id) on the next tick, or at once on its buyer's retry, and the
   * store's answer settles them. At most one entry per committing reservation; none on the normal path.
   */
  private readonly inDoubt = new Map<string, PendingCommit>();
  private flushesInFlight = 0;
  private flushDue = false;

  constructor(private readonly host: CommitHost) {}

  get hasInDoubt(): boolean {
    return this.inDoubt.size > 0;
  }

  /**
   * Commit a reservation: resolves once the write that carries it has completed (an in-doubt one: with the store's
   * answer, whatever its TTL).
   */
  commit(id: string, nowMs: number): Promise<CommitResult> {
    if (this.inDoubt.size > 0) {
      const doubt = this.inDoubt.get(id);
      if (doubt) return new Promise<CommitResult>((resolve, reject) => this.resend(doubt, resolve, reject));
    }
    const begun = this.host.ledger.beginCommit(id, nowMs);
    if (!begun.ok) return Promise.resolve({ status: begun.reason });
    this.seq++;
    return new Promise<CommitResult>((resolve, reject) => this.enqueue({ id, qty: begun.reservation.qty, user: begun.reservation.user, fence: this.host.fence(), resolve, reject }));
  }

  /** Settle every in-doubt commit with the store (one write per fence); resolves when each has an answer or threw again. */
  resolveInDoubt(): Promise<unknown> {
    return Promise.all(
      [...this.inDoubt.values()].map(
        (c) =>
          new Promise<void>((done) =>
            this.resend(
              c,
              () => done(),
              () => done(),
            ),
          ),
      ),
    );
  }

  /**
   * An in-doubt commit that is not being sent again, taken back to a live reservation for its cancel (the caller asked
   * the store first that it was not sold); false when `id` is not such a commit.
   */
  abortInDoubt(id: string): boolean {
    const doubt = this.inDoubt.size > 0 ? this.inDoubt.get(id) : undefined;
    if (!doubt || doubt.resent) return false;
    this.inDoubt.delete(id);
    this.host.ledger.abortCommit(id);
    return true;
  }

  private enqueue(c: PendingCommit): void {
    this.pending.push(c);
    if (this.pending.length >= MAX_GROUP_COMMIT) void this.flush();
    else if (this.flushesInFlight === 0 && !this.flushDue) {
      // Linger to the end of this turn of the event loop: commits read from the sockets in the same turn share the write.
      // While a write is out, commits wait for it and go together in the next (a second goes out only once 512 wait).
      // Starting the next write at once instead (its Redis script while this one's journal write is out) made smaller
      // writes, more of them, and sold no faster: the durable server spent 6–15% more CPU per sale in paired bench rounds
      // (bench escrow, #17: 2 cores shared with the clients, Redis and PostgreSQL).
      this.flushDue = true;
      setImmediate(() => {
        this.flushDue = false;
        void this.flush();
      });
    }
  }

  /** Send an in-doubt commit again (once, however many wait on it) and tell `resolve`/`reject` the store's answer. */
  private resend(c: PendingCommit, resolve: (r: CommitResult) => void, reject: (err: unknown) => void): void {
    const [res, rej] = [c.resolve, c.reject];
    c.resolve = (r) => (res(r), resolve(r));
    c.reject = (err) => (rej(err), reject(err));
    if (c.resent) return;
    c.resent = true;
    this.seq++;
    this.enqueue(c);
  }

  /**
   * A write failed (its outcome unknown: a timeout, a dropped connection): the commits queued behind it now were never
   * sent, so the store has not sold them. They are answered at once (503: retry) rather than after a write of their own,
   * which a hung store would hold for another whole timeout. Their reservations stand again, per-user holds and all, and
   * a retry commits them normally (one begun under a lease lost since is voided, as a sent one would be). An in-doubt
   * commit queued to be sent again is answered too but stays in doubt, not being sent: its earlier write may have sold
   * it. Only the commits queued now: those begun from here on are sent, so a store that fails fast and recovers a moment
   * later sells them.
   */
  private answerQueued(): void {
    if (this.pending.length === 0) return;
    const queued = this.pending.splice(0);
    this.seq++;
    for (const c of queued) {
      if (c.resent) {
        this.inDoubt.set(c.id, { id: c.id, qty: c.qty, user: c.user, fence: c.fence, resolve: ignore, reject: ignore });
        c.reject(new Error("store unavailable, retry: this sale's earlier write had an unknown outcome, and it was not sent again (a write before it failed)"));
      } else {
        this.host.ledger.abortCommit(c.id);
        c.reject(new Error("store unavailable, retry: the commit was not sent (a write before it failed); the reservation stands"));
      }
    }
  }

  private async flush(): Promise<void> {
    if (this.pending.length === 0 || this.flushesInFlight >= MAX_FLUSHES_IN_FLIGHT) return;
    // Commits begun under one lease go out together, under that lease's fence — not the fence current now: a renewal
    // between the commit and this write may have found the lease lost, voided the ledger and taken a new lease, whose
    // units the voided ledger does not count as the reservation's (sold from it, the ledger would hold more than the store).
    const fence = this.pending[0]!.fence;
    let n = 1;
    while (n < this.pending.length && n < MAX_GROUP_COMMIT && sameFence(this.pending[n]!.fence, fence)) n++;
    const batch = this.pending.splice(0, n);
    const ledger = this.host.ledger;
    this.flushesInFlight++;
    try {
      let outcomes;
      try {
        outcomes = await this.host.write(
          fence,
          batch.map((c) => ({ saleId: c.id, qty: c.qty, user: c.user })),
        );
      } catch (err) {
        // The outcome is unknown: the store may have sold it. Aborted back to a live reservation, it would expire unless
        // its buyer retried and its units count as free although sold. It stays committing, in doubt, until sent again.
        // Under a lease lost since (the fence changed: the ledger was voided), its units are gone either way: abortCommit
        // voids it, and a retry is answered from the store's record (service.ts asks findSale). An in-doubt commit re-sent
        // here leaves the map then too: kept, marked as being sent, the next resolveInDoubt would wait on it for ever.
        this.seq++;
        const current = sameFence(this.host.fence(), fence);
        for (const c of batch) {
          if (current) this.inDoubt.set(c.id, { id: c.id, qty: c.qty, user: c.user, fence: c.fence, resolve: ignore, reject: ignore });
          else {
            if (this.inDoubt.size > 0) this.inDoubt.delete(c.id);
            ledger.abortCommit(c.id);
          }
          c.reject(err);
        }
        this.answerQueued();
        return;
      }
      this.seq++;
      if (this.inDoubt.size > 0) for (const c of batch) this.inDoubt.delete(c.id);
      batch.forEach((c, i) => {
        const outcome = outcomes[i];
        if (outcome === "sold" || outcome === "duplicate") {
          if (outcome === "sold") this.host.sold(c.qty);
          ledger.finishCommit(c.id);
          c.resolve({ status: "sold", qty: c.qty, duplicate: outcome === "duplicate" });
        } else if (outcome === "over-cap") {
          ledger.refuseCommit(c.id);
          c.resolve({ status: "over-cap" });
        } else {
          ledger.failCommit(c.id);
          c.resolve({ status: "lease-lost" });
        }
      });
      if (outcomes.includes("lease-lost")) this.host.leaseLost(fence);
    } finally {
      this.flushesInFlight--;
      if (this.pending.length > 0) void this.flush();
    }
  }
}
