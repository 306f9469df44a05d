/**
 * Global limits in the service (`rate_limit.global: true`), from per-window budgets (global/window-
 * budget.ts): this region spends the requests it has been granted for the current window locally and
 * asks the allocator for the next grant *before* this one is spent: when what is left falls to a
 * low-water mark (global/prefetch.ts: the consumption expected over two allocator round trips, from the
 * observed rate and the measured round trip), one call goes out in the background — at most one per limit
 * at a time — so the next grant normally arrives before the current one runs out and decisions do not
 * wait on a cross-region call. A decision waits only when the grant is truly spent, and then at most
 * `waitMs`; decisions waiting together are covered by one call (it asks for all their costs), and are
 * asked for again while the allocator still had budget free. When the allocator said nothing is left
 * in the window, a spent region refuses at once (and asks again in the background, in case another
 * region handed budget back). When the allocator cannot be reached or does not answer within `waitMs`,
 * the failure policy decides, as for the store: `unavailable` fails the request (gRPC UNAVAILABLE, so
 * Envoy can fail open), `local` spends limit / instances per window without the allocator, `closed`
 * rejects, `open` admits. Grants come only from the allocator, which keeps Σ granted ≤ the limit.
 *
 * At a window boundary the current grant is of no use: so that the first decisions of a window do not all
 * wait on the allocator, a limit in demand asks for the *next* window's grant shortly before this one ends
 * (twice the round trip ahead, at most half a period; global/prefetch.ts sizes it from the demand rate).
 * That grant is bound to its window at the allocator and held apart here; it is adopted when this
 * region's clock reaches the window, never spent before.
 */
import type { Clock } from "../../common/clock.js";
import type { Decision, Limit } from "../core/limit.js";
import { DemandRate, RoundTrip, prefetchPlan } from "../global/prefetch.js";
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
  /** The least asked for beyond what is needed, as a fraction of the limit (default 0.05). */
  prefetch?: number;
  failureMode?: FailureMode;
  /** Regions sharing the budget (the `local` fallback spends limit / instances). */
  instances?: number;
  /** Unused grants of a limit idle this long go back to the allocator (default 1000 ms). */
  idleMs?: number;
  /**
   * Longest a decision waits for the allocator once this region's grant is spent, then the failure policy
   * (default: as long as the source takes; 0: never wait). Keep it below Envoy's rate limit filter timeout.
   */
  waitMs?: number;
  /** What times the allocator's round trip, in ms (default performance.now; tests pass their manual clock's). */
  stopwatch?: () => number;
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
  /** The allocator has answered for this window (so `free` is its word, not a default). */
  answered: boolean;
  /** Costs of the decisions waiting for a grant now (the next call asks for all of them). */
  waiting: number;
  /** Spent without the allocator (local fallback), this window. */
  offline: number;
  /** This limit's demand rate, carried from window to window. */
  rate: DemandRate;
  /** The one allocator call in flight for this limit's window (a top-up, a prefetch or a release); never rejects. */
  pending?: Promise<Error | null>;
  /** The next window's state, asked for ahead (its grant is spent only once this region's clock is in it). */
  next?: WindowState;
  /** This is a `next` not yet adopted: an allocator answer for a later window is not followed. */
  early?: boolean;
}

/** The least time ahead of a window boundary the next window's grant is asked for (before a round trip is measured). */
const MIN_LEAD_MS = 50;

const TIMEOUT = Symbol("timeout");

export class GlobalBudgets implements GlobalLimitSource {
  private readonly state = new Map<string, WindowState>();
  private readonly rtt = new RoundTrip();
  lastError: string | null = null;
  /** Decisions that waited on an allocator call. */
  waits = 0;
  /** Decisions the failure policy made (the allocator failed or did not answer within waitMs). */
  fallbacks = 0;
  /** Allocator calls made ahead of need (no decision waited on them when they went out). */
  prefetches = 0;
  /** Of those, calls for the next window's grant, made before the window started. */
  nextWindowPrefetches = 0;

  constructor(private readonly o: GlobalBudgetsOptions) {}

  private current(key: string, periodMs: number, now: number): WindowState {
    const w = windowStart(now, periodMs);
    const s = this.state.get(key);
    // A window the allocator already moved to (this clock lags) is kept; an older one is over.
    if (s && s.window >= w) return s;
    // The grant asked for ahead becomes spendable now that this clock is in its window.
    if (s?.next?.window === w) return this.adopt(key, s, s.next);
    return this.fresh(key, w, periodMs, s);
  }

  /** The next window's state (asked for ahead) becomes the limit's state. */
  private adopt(key: string, s: WindowState, next: WindowState): WindowState {
    Object.assign(next, { early: false, lastDemand: s.lastDemand, limit: s.limit });
    this.state.set(key, next);
    return next;
  }

  private fresh(key: string, window: number, periodMs: number, prev: WindowState | undefined): WindowState {
    const s = this.make(window, periodMs, prev);
    this.state.set(key, s);
    return s;
  }

  private make(window: number, periodMs: number, prev: WindowState | undefined): WindowState {
    return {
      window,
      periodMs,
      limit: prev?.limit ?? 0,
      lastDemand: prev?.lastDemand ?? this.o.clock.now(),
      has: 0,
      used: 0,
      free: 0,
      answered: false,
      waiting: 0,
      offline: 0,
      rate: prev?.rate ?? new DemandRate(),
    };
  }

  async reserve(key: string, limit: Limit, cost: number): Promise<Decision> {
    const now = this.o.clock.now();
    const s = this.current(key, limit.periodMs, now);
    s.lastDemand = now;
    s.limit = limit.limit;
    s.rate.observe(cost, now);
    this.prefetchNext(key, s, now);
    if (s.used + cost <= s.has || cost <= 0) {
      s.used += Math.max(0, cost);
      this.prefetch(key, s, now);
      return this.decision(s, limit, cost, true, now);
    }
    if (s.answered && s.free <= 0) {
      // The allocator had nothing left: refuse now; ask again in the background for budget handed back.
      void this.call(key, s, "top-up");
      return this.decision(s, limit, cost, false, now);
    }
    return this.awaitGrant(key, s, limit, cost, now);
  }

  /** This region's grant is spent: wait at most waitMs for the allocator, then the failure policy. */
  private async awaitGrant(key: string, s: WindowState, limit: Limit, cost: number, now: number): Promise<Decision> {
    const waitMs = this.o.waitMs ?? Infinity;
    // The state this decision's cost is counted as waiting in (it moves with the window).
    let holder = s;
    holder.waiting += cost;
    let timer: NodeJS.Timeout | undefined;
    const deadline =
      waitMs === Infinity
        ? null
        : new Promise<typeof TIMEOUT>((resolve) => {
            timer = setTimeout(() => resolve(TIMEOUT), Math.max(0, waitMs)).unref();
          });
    let waited = false;
    try {
      // Concurrent requests share one call; a request the shared grant did not cover asks again while the
      // allocator still had budget free (a burst must not be refused while the window's budget lasts), or
      // had not yet answered for this window (its clock was still in the one before).
      for (let attempt = 0; s.used + cost > s.has && attempt < 4 && (attempt === 0 || s.free > 0 || !s.answered); attempt++) {
        const st = s;
        const call = this.call(key, st, "top-up");
        if (waitMs <= 0) return this.withoutAllocator(st, limit, cost, now, new Error("waitMs is 0: decisions do not wait on the allocator"));
        if (!waited) this.waits++;
        waited = true;
        const r = await (deadline ? Promise.race([call, deadline]) : call);
        if (r === TIMEOUT) return this.withoutAllocator(st, limit, cost, now, new Error(`the allocator did not answer within waitMs (${waitMs} ms)`));
        if (r) return this.withoutAllocator(st, limit, cost, now, r);
        s = this.current(key, limit.periodMs, this.o.clock.now());
        holder.waiting -= cost;
        (holder = s).waiting += cost;
      }
    } finally {
      holder.waiting -= cost;
      clearTimeout(timer);
    }
    const allowed = s.used + cost <= s.has;
    if (allowed) s.used += cost;
    return this.decision(s, limit, cost, allowed, now);
  }

  /** Ask ahead when what is left has fallen to the low-water mark and the allocator may have more. */
  private prefetch(key: string, s: WindowState, now: number): void {
    if (s.pending || !s.answered || s.free <= 0) return;
    const plan = prefetchPlan({ ratePerMs: s.rate.perMs(now), rttMs: this.rtt.ms, limit: s.limit, minFraction: this.o.prefetch ?? 0.05 });
    if (s.has - s.used > plan.lowWater) return;
    this.prefetches++;
    void this.call(key, s, "top-up");
  }

  /**
   * Shortly before this window ends, ask for the next one's grant (once per window, on its own call slot, so
   * a top-up in flight for this window does not hold it back). Only a limit in demand asks: this is called
   * by decisions, and the grant is sized from the demand rate.
   */
  private prefetchNext(key: string, s: WindowState, now: number): void {
    if (s.next || s.early) return;
    const lead = Math.min(s.periodMs / 2, Math.max(2 * this.rtt.ms, MIN_LEAD_MS));
    if (now < s.window + s.periodMs - lead) return;
    s.next = this.make(s.window + s.periodMs, s.periodMs, s);
    Object.assign(s.next, { early: true, limit: s.limit });
    this.prefetches++;
    this.nextWindowPrefetches++;
    void this.call(key, s.next, "top-up");
  }

  /**
   * The one allocator call for a limit: joins the one in flight, or starts one. A top-up asks for what
   * the waiting decisions need plus a prefetch sized from the demand rate and round trip; a release
   * hands back what is not used. Sharing one slot keeps a release's answer from overtaking a grant's.
   */
  private call(key: string, s: WindowState, kind: "top-up" | "release"): Promise<Error | null> {
    if (s.pending) return s.pending;
    const stopwatch = this.o.stopwatch ?? (() => performance.now());
    const started = stopwatch();
    const run = async (): Promise<Error | null> => {
      try {
        await this.ask(key, s, kind);
        this.rtt.sample(stopwatch() - started);
        this.lastError = null;
        return null;
      } catch (err) {
        this.lastError = (err as Error).message;
        return err as Error;
      }
    };
    const p = run().finally(() => {
      // A call that moved the limit to the allocator's later window holds that window's slot too.
      for (const x of [s, this.state.get(key)]) if (x?.pending === p) x.pending = undefined;
    });
    s.pending = p;
    return p;
  }

  private async ask(key: string, s: WindowState, kind: "top-up" | "release"): Promise<void> {
    const request = (st: WindowState): BudgetRequest => {
      const base = { resource: key, limit: st.limit, periodMs: st.periodMs, client: this.o.client, window: st.window, used: st.used };
      if (kind === "release") return { ...base, need: 0, wants: 0, keep: st.used };
      const need = Math.max(0, st.used + st.waiting - st.has);
      const plan = prefetchPlan({ ratePerMs: st.rate.perMs(this.o.clock.now()), rttMs: this.rtt.ms, limit: st.limit, minFraction: this.o.prefetch ?? 0.05 });
      return { ...base, need, wants: need + plan.ask };
    };
    const first = request(s);
    // What is handed back is not spent here meanwhile: a decision arriving while the release is out must
    // not spend budget the allocator is about to give another region (it waits for a top-up instead).
    if (kind === "release") s.has = Math.min(s.has, s.used);
    let grant = await this.o.source(first, this.o.clock.now());
    if (grant.window > s.window && kind === "top-up" && !s.early) {
      // The allocator is in a later window than this clock: adopt it and ask again — unless this limit
      // already holds that window (its own call asks for it: one state, and one call, per window).
      const held = this.state.get(key);
      if (held && held.window >= grant.window) return;
      // ... or asked ahead for it: that grant is spendable now (its own call asks for more if needed).
      if (held?.next?.window === grant.window) return void this.adopt(key, held, held.next);
      const next = this.fresh(key, grant.window, s.periodMs, s);
      next.lastDemand = s.lastDemand;
      next.pending = s.pending;
      s = next;
      grant = await this.o.source(request(s), this.o.clock.now());
    }
    if (grant.window === s.window) {
      // Calls for a limit never overlap, so the allocator's `has` is this region's grant (a release lowers it).
      s.has = kind === "release" ? grant.has : Math.max(s.has, grant.has);
      s.free = grant.free;
      s.answered = true;
    }
  }

  private withoutAllocator(s: WindowState, limit: Limit, cost: number, now: number, err: Error): Decision {
    this.lastError = err.message;
    this.fallbacks++;
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
   * Hand back the unused grants of limits this region has not wanted for `idleMs` (default 1 s) — a
   * prefetched grant included — so a region that went quiet does not sit on budget another region needs.
   * Run by a timer (`start`).
   */
  async releaseIdle(idleMs = this.o.idleMs ?? 1000): Promise<void> {
    const now = this.o.clock.now();
    for (const [key, s] of this.state) {
      if (s.pending || now - s.lastDemand < idleMs || s.has <= s.used || s.window + s.periodMs <= now) continue;
      await this.call(key, s, "release");
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
