/**
 * What a buyer is told about their reservation — its commit, a GET, its cancel — through any region and any process
 * serving it, asked any number of times (runtime/escrow/README.md, "A reservation's end is told the same way every
 * time"): the ledger holding it answers while it lives or remembers how it ended; the store's record of a sale comes
 * before any refusal (an earlier attempt whose answer was lost may have sold it); an earlier run's id is gone for its owner
 * (`restarted`); another buyer's id (`foreign`) is answered as one nobody issued (`unknown`: HTTP 404 both, so nobody learns
 * of another's reservation). EscrowService holds one; it finds the sale (`holder`) and judges earlier runs' ids.
 */
import type { Clock } from "../common/clock.js";
import { parseReservationId, type ParsedReservationId } from "./core/ids.js";
import type { FlashSale } from "./flashsale/sale.js";
import type { EscrowStore } from "./store/port.js";
import type { Buyer } from "./transport/identity.js";

export type CommitOutcome =
  | { status: "sold"; sku: string; qty: number; duplicate: boolean }
  | { status: "unknown" | "expired" | "void" | "cancelled" | "in-progress" | "lease-lost" | "over-cap" | "foreign" | "restarted"; sku?: string }
  | { status: "unavailable"; retryAfterMs: number; detail: string; sku?: string };

export type ReservationStatus =
  | { status: "reserved"; sku: string; qty: number; expiresAtMs: number }
  | { status: "committing" | "sold"; sku: string; qty: number }
  | { status: "expired" | "void" | "cancelled" | "over-cap" | "unknown" | "foreign" | "restarted"; sku?: string };

export type CancelOutcome = "cancelled" | "cancelled-before" | "sold" | "void" | "expired" | "over-cap" | "in-progress" | "unknown" | "foreign" | "restarted";

/** What the answers need of the service. */
export interface AnswerSources {
  /** The region's sale holding a reservation made in this process, or null (another process, or a past incarnation). */
  holder(p: ParsedReservationId): Promise<FlashSale | null>;
  /** Whether `p`, held by no running ledger here, is `user`'s reservation from an earlier run of a region served here (EscrowService). */
  earlierRun(p: ParsedReservationId, user: string): Promise<boolean>;
  store: EscrowStore;
  clock: Clock;
  /** Why commits are refused now (EscrowServiceOptions.strongRefusal), or null. */
  strongRefusal?: () => string | null;
  /** Told after a sale (EscrowServiceOptions.onChange). */
  onChange?: () => void;
}

export class ReservationAnswers {
  constructor(private readonly d: AnswerSources) {}

  /**
   * Commit a reservation held in one of this process's regions (any region may take the request), or
   * answer from the store for one already sold. A buyer may only commit their own reservation. `p`: the id
   * parsed, when the caller has already.
   */
  async commit(id: string, buyer: Buyer, p: ParsedReservationId | null = parseReservationId(id)): Promise<CommitOutcome> {
    if (!p) return { status: "unknown" };
    const sale = await this.d.holder(p);
    const found = sale?.escrow.ledger.lookup(id);
    if (sale && found && typeof found !== "string") {
      if (found.user !== buyer.user) return { status: "foreign", sku: p.sku };
      const refusal = this.d.strongRefusal?.() ?? null;
      if (refusal !== null) return { status: "unavailable", retryAfterMs: 1000, detail: `commit refused: ${refusal}`, sku: p.sku };
      const out = await sale.commit(id);
      if (out.status === "sold" && !out.duplicate) this.d.onChange?.();
      if (out.status === "sold") return { status: "sold", sku: p.sku, qty: out.qty, duplicate: out.duplicate };
      // A refusal is final only if no earlier attempt sold it: one whose store write had an unknown outcome (the connection
      // dropped after COMMIT was sent) left the reservation standing although the store may have recorded the sale, and
      // the ledger can no longer tell — a rebuild since voided its lease (the store then answers lease-lost: the new
      // generation has no record of the old one's sales), or its time ran out. The store's record is the answer.
      if (out.status === "void" || out.status === "expired" || out.status === "lease-lost" || out.status === "over-cap") {
        const sold = await this.d.store.findSale(p.sku, id);
        if (sold && sold.user === buyer.user) return { status: "sold", sku: p.sku, qty: sold.qty, duplicate: true };
      }
      return { ...out, sku: p.sku };
    }
    // Not live here: sold already (any region, any incarnation), or expired/void/unknown.
    const sold = await this.d.store.findSale(p.sku, id);
    if (sold) return sold.user === buyer.user ? { status: "sold", sku: p.sku, qty: sold.qty, duplicate: true } : { status: "foreign", sku: p.sku };
    // How it ended (expired, void, cancelled, refused for the cap, with an earlier run) is the owner's answer: another
    // buyer's id is foreign and a forged one unknown (both 404), also once the sweep has forgotten it (the ledger checks its token).
    const ended = sale && found ? sale.escrow.ledger.ended(id, buyer.user) : await this.earlier(p, buyer.user);
    return { status: ended, sku: p.sku };
  }

  /**
   * What became of a reservation, as its owner's commit or cancel would be told: live (`reserved`, or `committing` while a
   * commit is on its way or in doubt), sold (the store's record), or how it ended (`restarted`: with an earlier run of
   * its region); another buyer's id `foreign`, an id nobody issued `unknown`.
   */
  async status(id: string, buyer: Buyer, p: ParsedReservationId | null = parseReservationId(id)): Promise<ReservationStatus> {
    if (!p) return { status: "unknown" };
    const sale = await this.d.holder(p);
    const found = sale?.escrow.ledger.lookup(id);
    if (sale && found && typeof found !== "string") {
      if (found.user !== buyer.user) return { status: "foreign", sku: p.sku };
      if (!found.committing && found.expiresAtMs <= this.d.clock.now()) return { status: "expired", sku: p.sku };
    }
    // Sold, even if the ledger holds it live or in doubt: an earlier commit whose answer was lost (see `cancel`).
    const sold = await this.d.store.findSale(p.sku, id);
    if (sold) return sold.user === buyer.user ? { status: "sold", sku: p.sku, qty: sold.qty } : { status: "foreign", sku: p.sku };
    if (sale && found && typeof found !== "string") {
      return found.committing ? { status: "committing", sku: p.sku, qty: found.qty } : { status: "reserved", sku: p.sku, qty: found.qty, expiresAtMs: found.expiresAtMs };
    }
    const ended = sale && found ? sale.escrow.ledger.ended(id, buyer.user) : await this.earlier(p, buyer.user);
    return { status: ended, sku: p.sku };
  }

  async cancel(id: string, buyer: Buyer): Promise<CancelOutcome> {
    const p = parseReservationId(id);
    if (!p) return "unknown";
    const sale = await this.d.holder(p);
    const found = sale?.escrow.ledger.lookup(id);
    if (sale && found && typeof found !== "string") {
      if (found.user !== buyer.user) return "foreign";
      // Past its TTL and not being committed: expired (a commit now is told so), though the sweep has not released it yet.
      if (!found.committing && found.expiresAtMs <= this.d.clock.now()) return "expired";
      // A live reservation may be sold all the same: an earlier commit whose store write had an unknown outcome (the
      // connection dropped after COMMIT was sent) left it standing. The store's record comes first, not a "cancelled"
      // that a replayed commit would then contradict.
      if (await this.d.store.findSale(p.sku, id)) return "sold";
      if (await sale.cancel(id)) return "cancelled";
      // Not cancelled because a commit of it is on its way (or in doubt and being sent again): its answer decides.
      const now = sale.escrow.ledger.lookup(id);
      if (typeof now !== "string" && now.committing) return "in-progress";
    }
    const sold = await this.d.store.findSale(p.sku, id);
    if (sold) return sold.user === buyer.user ? "sold" : "foreign";
    const ended = sale && found ? sale.escrow.ledger.ended(id, buyer.user) : await this.earlier(p, buyer.user);
    // The owner is told how it ended, as a commit would be; a cancel asked again is answered as the first was (204: a
    // client retrying a cancel whose answer it lost must not read "unknown" as "never existed").
    return ended === "cancelled" ? "cancelled-before" : ended;
  }

  /**
   * An id no running ledger of this process issued (another incarnation nonce, another item): `restarted` when it is
   * the buyer's from an earlier run of a region served here, whose reservations ended with it (its owner tag checks
   * under the store's secret, core/ids.ts `ownsToken`), else `unknown` — a forged id, another buyer's, or one this
   * process cannot judge.
   */
  private async earlier(p: ParsedReservationId, user: string): Promise<"restarted" | "unknown"> {
    return (await this.d.earlierRun(p, user)) ? "restarted" : "unknown";
  }
}
