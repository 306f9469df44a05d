/**
 * In-memory store: a Map from counter key to state with an expiry; expired states are swept lazily at
 * most every `sweepIntervalMs` of decision time, so memory tracks live keys and the sweep's cost is
 * amortised. Decisions are synchronous, so requests and hierarchies are atomic within the process by
 * construction. `decideSync(levels, cost, now)` is the embedded API for one hierarchy (user → app →
 * tenant), `decide(checks, policy, now)` the service's.
 */
import { step } from "../core/algorithms.js";
import { checkLevels, decideLevels, type HierarchyDecision, type Level } from "../core/hierarchy.js";
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

  constructor(private readonly sweepIntervalMs = 5_000) {}

  private maybeSweep(nowMs: number): void {
    if (nowMs - this.lastSweep >= this.sweepIntervalMs) {
      if (this.lastSweep !== -Infinity) this.sweep(nowMs);
      this.lastSweep = nowMs;
    }
  }

  decideSync(levels: readonly Level[], cost: number, nowMs: number): HierarchyDecision {
    checkLevels(levels, cost);
    this.maybeSweep(nowMs);
    if (levels.length === 1) {
      // One level: no commit list to build (same semantics as decideLevels).
      const lv = levels[0]!;
      const s = step(lv.limit, this.read(lv.key, nowMs), cost, nowMs);
      if (s.next) this.write(lv.key, s.next, nowMs + Math.max(1, s.ttlMs));
      const d = s.decision;
      return { allowed: d.allowed, limit: d.limit, remaining: d.remaining, retryAfterMs: d.retryAfterMs, resetAfterMs: d.resetAfterMs, levels: [d], blockedBy: d.allowed ? -1 : 0 };
    }
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
