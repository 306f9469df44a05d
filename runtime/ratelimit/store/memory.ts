/**
 * In-memory store: a Map from level key to state with an expiry; expired states are swept lazily every
 * `sweepEvery` decisions so memory tracks live keys only. Decisions are synchronous (`decideSync`), so
 * the whole hierarchy is atomic within the process by construction.
 */
import { checkLevels, decideLevels, type HierarchyDecision, type Level } from "../core/hierarchy.js";
import type { State } from "../core/limit.js";
import type { RateLimitStore } from "./store.js";

interface Entry {
  state: State;
  expiresAt: number;
}

export class MemoryStore implements RateLimitStore {
  private readonly entries = new Map<string, Entry>();
  private decisions = 0;

  constructor(private readonly sweepEvery = 10_000) {}

  decideSync(levels: readonly Level[], cost: number, nowMs: number): HierarchyDecision {
    checkLevels(levels, cost);
    if (++this.decisions % this.sweepEvery === 0) this.sweep(nowMs);
    const read = (key: string) => {
      const e = this.entries.get(key);
      return e && e.expiresAt > nowMs ? e.state : undefined;
    };
    const { decision, commits } = decideLevels(levels, read, cost, nowMs);
    for (const c of commits) this.entries.set(c.key, { state: c.state, expiresAt: nowMs + Math.max(1, c.ttlMs) });
    return decision;
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
