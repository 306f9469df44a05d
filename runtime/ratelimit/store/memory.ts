/**
 * In-memory store: a Map from level key to state with an expiry; expired states are swept lazily at most
 * every `sweepIntervalMs` of decision time, so memory tracks live keys and the sweep's cost is amortised
 * over however many decisions that interval saw. Decisions are synchronous (`decideSync`), so
 * the whole hierarchy is atomic within the process by construction.
 */
import { step } from "../core/algorithms.js";
import { checkLevels, decideLevels, type HierarchyDecision, type Level } from "../core/hierarchy.js";
import type { State } from "../core/limit.js";
import type { RateLimitStore } from "./store.js";

interface Entry {
  state: State;
  expiresAt: number;
}

export class MemoryStore implements RateLimitStore {
  private readonly entries = new Map<string, Entry>();
  private lastSweep = -Infinity;

  constructor(private readonly sweepIntervalMs = 5_000) {}

  decideSync(levels: readonly Level[], cost: number, nowMs: number): HierarchyDecision {
    checkLevels(levels, cost);
    if (nowMs - this.lastSweep >= this.sweepIntervalMs) {
      if (this.lastSweep !== -Infinity) this.sweep(nowMs);
      this.lastSweep = nowMs;
    }
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

  decide(levels: readonly Level[], cost: number, nowMs: number): Promise<HierarchyDecision> {
    try {
      return Promise.resolve(this.decideSync(levels, cost, nowMs));
    } catch (err) {
      return Promise.reject(err as Error);
    }
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
