/**
 * Global limits in the service (`rate_limit.global: true`), from per-window budgets (global/window-
 * budget.ts): this region spends the requests it has been granted for the current window locally, and
 * asks the allocator for more — the request's cost plus a prefetch (5 % of the limit by default) —
 * only when the grant runs out. Concurrent requests for one limit share one allocator call. A daily
 * quota therefore keeps its burst, and the regions together never admit more than the limit in a
 * window. When the allocator cannot be reached the failure policy decides, as for the store:
 * `unavailable` fails the request (gRPC UNAVAILABLE, so Envoy can fail open), `local` spends
 * limit / instances per window without the allocator, `closed` rejects, `open` admits.
 */
import type { Clock } from "../../common/clock.js";
import type { Decision, Limit } from "../core/limit.js";
import { windowStart, type BudgetGrant, type BudgetRequest } from "../global/window-budget.js";
import { StoreUnavailable, type FailureMode } from "../store/resilient.js";

export type BudgetSource = (r: BudgetRequest, now: number) => Promise<BudgetGrant>;

/** What the rate limit service needs from its global limits. */
export interface GlobalLimitSource {
  reserve(key: string, limit: Limit, cost: number): Promise<Decision>;
  refund(key: string, cost: number): void;
  close(): void;
}

export interface GlobalBudgetsOptions {
  /** This region's client id at the allocator. */
  client: string;
  source: BudgetSource;
  clock: Clock;
  /** Asked for beyond the request's cost, as a fraction of the limit (default 0.05). */
  prefetch?: number;
  failureMode?: FailureMode;
  /** Regions sharing the budget (the `local` fallback spends limit / instances). */
  instances?: number;
  /** Unused grants of a limit idle this long go back to the allocator (default 1000 ms). */
  idleMs?: number;
}

interface WindowState {
  window: number;
  periodMs: number;
  limit: number;
  /** When this region last wanted budget for the key. */
  lastDemand: number;
  has: number;
  used: number;
  free: number;
  /** Spent without the allocator (local fallback), this window. */
  offline: number;
  pending?: Promise<void>;
}

export class GlobalBudgets implements GlobalLimitSource {
  private readonly state = new Map<string, WindowState>();
  lastError: string | null = null;

  constructor(private readonly o: GlobalBudgetsOptions) {}

  private current(key: string, periodMs: number, now: number): WindowState {
    const w = windowStart(now, periodMs);
    let s = this.state.get(key);
    // A window the allocator already moved to (this clock lags) is kept; an older one is over.
    if (!s || s.window < w) this.state.set(key, (s = { window: w, periodMs, limit: 0, lastDemand: now, has: 0, used: 0, free: 0, offline: 0 }));
    return s;
  }

  async reserve(key: string, limit: Limit, cost: number): Promise<Decision> {
    const now = this.o.clock.now();
    let s = this.current(key, limit.periodMs, now);
    s.lastDemand = now;
    s.limit = limit.limit;
    // Concurrent requests share one call; a request the shared grant did not cover asks again while the
    // allocator still had budget free (a burst must not be refused while the window's budget lasts).
    for (let attempt = 0; s.used + cost > s.has && cost > 0 && attempt < 4 && (attempt === 0 || s.free > 0); attempt++) {
      const st = s;
      st.pending ??= this.topUp(key, st, limit, cost).finally(() => (st.pending = undefined));
      try {
        await st.pending;
      } catch (err) {
        return this.withoutAllocator(st, limit, cost, now, err as Error);
      }
      s = this.current(key, limit.periodMs, this.o.clock.now());
    }
    const allowed = s.used + cost <= s.has;
    if (allowed) s.used += cost;
    return this.decision(s, limit, cost, allowed, now);
  }

  private async topUp(key: string, s: WindowState, limit: Limit, cost: number): Promise<void> {
    const prefetch = Math.max(1, Math.ceil(limit.limit * (this.o.prefetch ?? 0.05)));
    const ask = (st: WindowState) => {
      const need = Math.max(0, st.used + cost - st.has);
      return this.o.source({ resource: key, limit: limit.limit, periodMs: limit.periodMs, client: this.o.client, window: st.window, used: st.used, need, wants: need + prefetch }, this.o.clock.now());
    };
    let grant = await ask(s);
    if (grant.window > s.window) {
      // The allocator is in a later window than this clock: adopt it and ask again.
      const next: WindowState = { window: grant.window, periodMs: limit.periodMs, limit: limit.limit, lastDemand: s.lastDemand, has: 0, used: 0, free: 0, offline: 0 };
      this.state.set(key, next);
      s = next;
      grant = await ask(s);
    }
    if (grant.window === s.window) {
      s.has = Math.max(s.has, grant.has);
      s.free = grant.free;
    }
    this.lastError = null;
  }

  private withoutAllocator(s: WindowState, limit: Limit, cost: number, now: number, err: Error): Decision {
    this.lastError = err.message;
    const mode = this.o.failureMode ?? "unavailable";
    if (mode === "unavailable") throw new StoreUnavailable(`global limit allocator unavailable: ${err.message}`);
    let allowed = mode === "open";
    if (mode === "local") {
      // Spend this region's share of the window without the allocator (counted apart from grants).
      const share = limit.limit / (this.o.instances ?? 1);
      allowed = s.offline + cost <= share;
      if (allowed) s.offline += cost;
    }
    return this.decision(s, limit, cost, allowed, now);
  }

  private decision(s: WindowState, limit: Limit, cost: number, allowed: boolean, now: number): Decision {
    const end = s.window + limit.periodMs - now;
    return {
      allowed,
      limit: limit.limit,
      // What is left to this region now plus what the allocator had unallocated at the last grant.
      remaining: Math.max(0, Math.floor(s.has - s.used + s.free)),
      retryAfterMs: allowed ? 0 : cost > limit.limit ? -1 : Math.max(0, end),
      resetAfterMs: Math.max(0, end),
    };
  }

  /**
   * Hand back the unused grants of limits this region has not wanted for `idleMs` (default 1 s), so a
   * region that went quiet does not sit on budget another region needs. Run by a timer (`start`).
   */
  async releaseIdle(idleMs = this.o.idleMs ?? 1000): Promise<void> {
    const now = this.o.clock.now();
    for (const [key, s] of this.state) {
      if (s.pending || now - s.lastDemand < idleMs || s.has <= s.used || s.window + s.periodMs <= now) continue;
      try {
        const g = await this.o.source({ resource: key, limit: s.limit, periodMs: s.periodMs, client: this.o.client, window: s.window, used: s.used, need: 0, wants: 0, keep: s.used }, now);
        if (g.window === s.window) {
          s.has = g.has;
          s.free = g.free;
        }
      } catch (err) {
        this.lastError = (err as Error).message;
      }
    }
  }

  private timer: NodeJS.Timeout | undefined;

  start(): void {
    const every = this.o.idleMs ?? 1000;
    const tick = () => void this.releaseIdle().finally(() => this.timer && (this.timer = setTimeout(tick, every).unref()));
    this.timer = setTimeout(tick, every).unref();
  }

  refund(key: string, cost: number): void {
    const s = this.state.get(key);
    if (s) s.used = Math.max(0, s.used - cost);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.state.clear();
  }
}

/** A budget source backed by an in-process allocator (one replica, or tests). */
export function inProcessBudgets(allocator: import("../global/window-budget.js").WindowBudgetAllocator): BudgetSource {
  return (r, now) => Promise.resolve(allocator.acquire(r, now));
}
