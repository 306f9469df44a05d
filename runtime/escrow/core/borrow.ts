/**
 * A region's borrow request (core/rebalance.ts RegionState.want, published with each renewal as LeaseView.want), from
 * the requests its buyers were refused for lack of units. Pure and synchronous, like the rest of core/.
 *
 * The request is what serves the most refused buyers with the units that exist: their requests smallest first, as many
 * as the units free anywhere (as far as the region knows) cover. The largest refused request alone, as before, let one
 * buyer asking for more than is free anywhere (the rest sit in open checkouts, so not sold out: 429) set a request no
 * giver could meet — and when every region holding units borrows, units are pooled only in a borrower whose request
 * they meet — so buyers asking for 1 got 429 while units sat in other regions. Capped by what exists, some request can
 * always be met when any refused one could; smallest first serves the most buyers with those units (any set of k
 * requests sums to at least the k smallest), and the request is still the units needed at once (one refused buyer: his).
 */

/** The units that serve the most of `refused` (one request per buyer) within `obtainable`; 0 if not even the smallest fits. */
export function borrowRequest(refused: Iterable<number>, obtainable: number): number {
  const asks = [...refused].filter((q) => q > 0 && q <= obtainable).sort((a, b) => a - b);
  let sum = 0;
  for (const q of asks) {
    if (sum + q > obtainable) break;
    sum += q;
  }
  return sum;
}

/**
 * The buyers refused for lack of units and not served since, each with their latest request: those refused since the
 * region's last tick, and in the tick window before (a buyer told to retry in a second may miss one window). A request
 * stands while its buyer keeps being refused — units arriving do not end it, else the receiver lends them away before
 * its buyer returns — and all end at a tick with no buyer refused. Bounded by the buyers refused in two tick windows.
 */
export class RefusedRequests {
  private now = new Map<string, number>();
  private before = new Map<string, number>();

  /** `user` was refused `qty` units; true the first time since the last tick (count the demand once a tick). */
  refuse(user: string, qty: number): boolean {
    const first = !this.now.has(user);
    this.now.set(user, qty);
    return first;
  }

  /** `user` got a reservation: their request is met (one map lookup when nobody is refused: the fast path). */
  served(user: string): void {
    if (this.now.size > 0) this.now.delete(user);
    if (this.before.size > 0) this.before.delete(user);
  }

  /** A tick: with buyers refused since the last one, this window becomes the previous one; else every request ends. */
  tick(anyRefused: boolean): void {
    if (anyRefused) [this.before, this.now] = [this.now, new Map()];
    else this.before.clear();
  }

  /** The borrow request: `borrowRequest` over the standing requests. */
  want(obtainable: number): number {
    if (this.now.size === 0 && this.before.size === 0) return 0;
    const all = new Map(this.before);
    for (const [u, q] of this.now) all.set(u, q);
    return borrowRequest(all.values(), obtainable);
  }
}
