/**
 * In-memory store: a Map from counter key to state with an expiry; expired states are swept lazily at
 * most every `sweepIntervalMs` of decision time, so memory tracks live keys and the sweep's cost is
 * amortised. Decisions are synchronous, so requests and hierarchies are atomic within the process by
 * construction. `decideSync(levels, cost, now)` is the embedded API for one hierarchy (user → app →
 * tenant), `decide(checks, policy, now)` the service's.
 */
import { step } from "../core/algorithms.js";
import { checkLevels, combine, decideLevels, type HierarchyDecision, type Level } from "../core/hierarchy.js";
import { inPlace, Scratch, stepInPlace } from "../core/in-place.js";
import type { Decision, State } from "../core/limit.js";
import { decideChecks, validateCheck, type ChargePolicy, type Check, type CheckResult, type CounterLevel } from "../core/request.js";
import type { RateLimitStore } from "./port.js";

interface Entry {
  state: State;
  expiresAt: number;
}

export class MemoryStore implements RateLimitStore {
  private readonly entries = new Map<string, Entry>();
  private lastSweep = -Infinity;
  // Scratch for decideSync (reused: the hot path allocates only its answer and new entries).
  private readonly found: (Entry | undefined)[] = [];
  private readonly scratch: Scratch[] = [];
  private readonly one = new Scratch();

  constructor(private readonly sweepIntervalMs = 5_000) {}

  private maybeSweep(nowMs: number): void {
    if (nowMs - this.lastSweep >= this.sweepIntervalMs) {
      if (this.lastSweep !== -Infinity) this.sweep(nowMs);
      this.lastSweep = nowMs;
    }
  }

  decideSync(levels: readonly Level[], cost: number, nowMs: number): HierarchyDecision {
    const n = levels.length;
    if (n === 1 && Number.isInteger(cost) && cost >= 0) {
      // One level has no duplicate keys to look for.
      if (nowMs - this.lastSweep >= this.sweepIntervalMs) this.maybeSweep(nowMs);
      return this.decideOne(levels[0]!, cost, nowMs);
    }
    checkLevels(levels, cost);
    if (nowMs - this.lastSweep >= this.sweepIntervalMs) this.maybeSweep(nowMs);
    for (let i = 0; i < n; i++) if (!inPlace(levels[i]!.limit)) return this.decideGeneric(levels, cost, nowMs);
    // gcra, token bucket and fixed window: one Map lookup per level, each level stepped into scratch
    // against the state it had before the request, and the states written in place only when every
    // level admits (decideLevels' semantics, without its intermediate objects).
    const entries = this.entries;
    const found = this.found;
    let blockedBy = -1;
    for (let i = 0; i < n; i++) {
      const lv = levels[i]!;
      const e = entries.get(lv.key);
      found[i] = e;
      const out = this.scratch[i] ?? (this.scratch[i] = new Scratch());
      stepInPlace(lv.limit, e !== undefined && e.expiresAt > nowMs ? e.state : undefined, cost, nowMs, out);
      if (blockedBy === -1 && !out.allowed) blockedBy = i;
    }
    if (blockedBy === -1)
      for (let i = 0; i < n; i++) {
        const out = this.scratch[i]!;
        if (out.nextLength !== 0) this.commit(levels[i]!.key, found[i], out, nowMs);
      }
    const decisions = new Array<Decision>(n);
    for (let i = 0; i < n; i++) decisions[i] = decisionOf(this.scratch[i]!);
    return combine(decisions, blockedBy);
  }

  /** decideSync for one level: one lookup, the state overwritten in place. */
  private decideOne(lv: Level, cost: number, nowMs: number): HierarchyDecision {
    if (!inPlace(lv.limit)) return this.decideGeneric([lv], cost, nowMs);
    const e = this.entries.get(lv.key);
    const out = this.one;
    stepInPlace(lv.limit, e !== undefined && e.expiresAt > nowMs ? e.state : undefined, cost, nowMs, out);
    if (out.nextLength !== 0) this.commit(lv.key, e, out, nowMs);
    const d: Decision = { allowed: out.allowed, limit: out.limit, remaining: out.remaining, retryAfterMs: out.retryAfterMs, resetAfterMs: out.resetAfterMs };
    return { allowed: d.allowed, limit: d.limit, remaining: d.remaining, retryAfterMs: d.retryAfterMs, resetAfterMs: d.resetAfterMs, levels: [d], blockedBy: d.allowed ? -1 : 0 };
  }

  private commit(key: string, e: Entry | undefined, out: Scratch, nowMs: number): void {
    const expiresAt = nowMs + Math.max(1, out.ttlMs);
    if (e === undefined) {
      this.entries.set(key, { state: out.nextLength === 1 ? [out.next0] : [out.next0, out.next1], expiresAt });
      return;
    }
    // The entry's array is the store's own (never handed out), so it is overwritten in place.
    const st = e.state;
    if (st.length === out.nextLength) {
      st[0] = out.next0;
      if (out.nextLength === 2) st[1] = out.next1;
    } else e.state = out.nextLength === 1 ? [out.next0] : [out.next0, out.next1];
    e.expiresAt = expiresAt;
  }

  /** decideSync for hierarchies with a sliding algorithm: the pure cores' objects. */
  private decideGeneric(levels: readonly Level[], cost: number, nowMs: number): HierarchyDecision {
    const { decision, commits } = decideLevels(levels, (key) => this.read(key, nowMs), cost, nowMs);
    for (const c of commits) this.write(c.key, c.state, nowMs + Math.max(1, c.ttlMs));
    return decision;
  }

  decideChecksSync(checks: readonly Check[], policy: ChargePolicy, nowMs: number): CheckResult[] {
    for (const c of checks) validateCheck(c);
    this.maybeSweep(nowMs);
    const { results, writes } = decideChecks(checks, policy, (key) => this.read(key, nowMs), nowMs);
    for (const w of writes) this.write(w.key, w.state, nowMs + Math.max(1, w.ttlMs));
    return results;
  }

  decide(checks: readonly Check[], policy: ChargePolicy, nowMs: number): Promise<CheckResult[]> {
    try {
      return Promise.resolve(this.decideChecksSync(checks, policy, nowMs));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  peek(level: CounterLevel, nowMs: number): Promise<Decision> {
    return Promise.resolve(step(level.limit, this.read(level.key, nowMs), 0, nowMs).decision);
  }

  reset(level: CounterLevel): Promise<boolean> {
    return Promise.resolve(this.entries.delete(level.key));
  }

  private write(key: string, state: State, expiresAt: number): void {
    const e = this.entries.get(key);
    // Reuse the entry object: the hot path then allocates no Map entries.
    if (e !== undefined) {
      e.state = state;
      e.expiresAt = expiresAt;
    } else this.entries.set(key, { state, expiresAt });
  }

  private read(key: string, nowMs: number): State | undefined {
    const e = this.entries.get(key);
    return e !== undefined && e.expiresAt > nowMs ? e.state : undefined;
  }

  /** Drop expired states. */
  sweep(nowMs: number): void {
    for (const [k, e] of this.entries) if (e.expiresAt <= nowMs) this.entries.delete(k);
  }

  get size(): number {
    return this.entries.size;
  }

  close(): Promise<void> {
    this.entries.clear();
    return Promise.resolve();
  }
}

const decisionOf = (s: Scratch): Decision => ({ allowed: s.allowed, limit: s.limit, remaining: s.remaining, retryAfterMs: s.retryAfterMs, resetAfterMs: s.resetAfterMs });
