/**
 * Per-window budgets for global limits (`rate_limit.global: true`): a limit of L per window is a budget
 * of L requests for each aligned window, and every region leases *counts* from it, not a rate — so a
 * daily quota keeps its burst (one region may spend the whole day's budget in a minute if nobody else
 * wants it) and regions decide locally between leases.
 *
 * The allocator keeps, per (resource, window), each client's `has` (granted) and `used` (last reported).
 * A request reports `used`, asks for `need` more now and `wants` in all (the need plus a prefetch), and
 * may hand back what it will not use (`keep`):
 *   has ← max(used, min(has, keep))            (returning unused budget; never below what was used)
 *   free ← L − Σ has over all clients
 *   grant ← min(need, free) + min(wants − need, half of what is then left free)
 * Invariant: Σ has ≤ L for every window, and a region admits at most its `has` — so all regions together
 * admit at most L per window, exactly, whatever their number and timing. Prefetch takes at most half of
 * what is free, so near the end of a budget grants shrink to what is needed; a region that goes idle
 * hands its unused grant back (`keep`). A client that dies keeps its `has` committed until the window
 * ends (it may have spent it).
 * A region may also ask for the *next* window before it starts (service/global-budgets.ts does so
 * shortly before the boundary, so the first decisions of a window need not wait for a grant): that
 * window keeps its own shares, with the same invariant, and its grants are bound to it — the region
 * spends them only once its own clock is in that window. Any other window gets nothing.
 * Pure; the Redis twin (redis-budget.ts) runs the same arithmetic in one script.
 */

export interface BudgetRequest {
  resource: string;
  limit: number;
  periodMs: number;
  client: string;
  /** Which window (its start, ms): the allocator's current one, or the next (asked for ahead). */
  window: number;
  used: number;
  /** More budget needed now (default: wants). */
  need?: number;
  /** More budget wanted in all (need plus prefetch). */
  wants: number;
  /** Keep at most this much granted (default: keep everything). */
  keep?: number;
}

export interface BudgetGrant {
  window: number;
  has: number;
  /** Budget still unallocated in this window after the grant. */
  free: number;
}

interface Share {
  has: number;
  used: number;
}

export function windowStart(now: number, periodMs: number): number {
  return Math.floor(now / periodMs) * periodMs;
}

export class WindowBudgetAllocator {
  /** Per resource, the shares of its current window and (once asked for) the next one. */
  private readonly windows = new Map<string, Map<number, Map<string, Share>>>();

  acquire(r: BudgetRequest, now: number): BudgetGrant {
    if (!(r.limit >= 0) || !(r.periodMs > 0)) throw new RangeError(`resource ${r.resource}: expected limit ≥ 0 and periodMs > 0`);
    for (const [k, v] of [
      ["used", r.used],
      ["wants", r.wants],
    ] as const)
      if (!(v >= 0) || !Number.isFinite(v)) throw new RangeError(`${k} is ${v}; expected a finite number ≥ 0`);
    const current = windowStart(now, r.periodMs);
    // A request for a window other than the current one or the next gets nothing: budgets never cross windows.
    if (r.window !== current && r.window !== current + r.periodMs) return { window: current, has: 0, free: 0 };
    let windows = this.windows.get(r.resource);
    if (!windows) this.windows.set(r.resource, (windows = new Map()));
    for (const w of windows.keys()) if (w < current) windows.delete(w);
    let clients = windows.get(r.window);
    if (!clients) windows.set(r.window, (clients = new Map()));
    const me = clients.get(r.client) ?? { has: 0, used: 0 };
    me.used = Math.max(me.used, r.used);
    me.has = Math.max(me.has, me.used);
    if (r.keep !== undefined) me.has = Math.max(me.used, Math.min(me.has, r.keep));
    clients.set(r.client, me);
    let committed = 0;
    for (const c of clients.values()) committed += c.has;
    const free = Math.max(0, r.limit - committed);
    const need = Math.min(r.need ?? r.wants, r.wants);
    const nowGrant = Math.min(need, free);
    const grant = nowGrant + Math.max(0, Math.min(r.wants - need, Math.floor((free - nowGrant) / 2)));
    me.has += grant;
    return { window: r.window, has: me.has, free: free - grant };
  }

  /** The shares held for a resource's window (the earliest held when none is named). */
  snapshot(resource: string, window?: number): { window: number; clients: { client: string; has: number; used: number }[] } | undefined {
    const windows = this.windows.get(resource);
    const w = window ?? Math.min(...(windows?.keys() ?? []));
    const clients = windows?.get(w);
    return clients && { window: w, clients: [...clients].map(([client, s]) => ({ client, ...s })) };
  }
}
