/**
 * A remote store (Redis) with a plan for when it is unreachable. Modes:
 * - `fail-closed`: reject everything until the store answers again (no overage, lost availability).
 * - `fail-open`: admit everything (availability; overage unbounded — reported as Infinity).
 * - `local`: decide with an in-process fallback limiter whose limits are the real ones × `localShare`
 *   (default 1/instances). Across `instances` instances that admits at most
 *   (instances × localShare − 1) × limit per period above the real limit — the stated overage bound.
 * While degraded it probes the store again every `probeAfterMs`. `report()` says what the outage allowed.
 */
import type { Clock } from "../../common/clock.js";
import type { HierarchyDecision, Level } from "../core/hierarchy.js";
import { MemoryStore } from "./memory.js";
import type { RateLimitStore } from "./store.js";

export type FailureMode = "fail-open" | "fail-closed" | "local";

export interface ResilientOptions {
  mode: FailureMode;
  /** How many instances share the primary store (for the overage bound and the default share). */
  instances?: number;
  localShare?: number;
  probeAfterMs?: number;
  clock: Clock;
  onDegraded?: (err: Error) => void;
}

export interface OutageReport {
  degraded: boolean;
  mode: FailureMode;
  outages: number;
  /** Decisions answered without the store, and how many of them were admitted. */
  decisionsWithoutStore: number;
  admittedWithoutStore: number;
  /** Worst case admitted above the configured limit per period, across all instances, for the loosest level seen. */
  overageBoundPerPeriod: number;
  lastError: string | null;
}

export class ResilientStore implements RateLimitStore {
  private readonly local = new MemoryStore();
  private degradedUntil = -Infinity;
  private readonly instances: number;
  private readonly share: number;
  private readonly stats: OutageReport;

  constructor(
    private readonly primary: RateLimitStore,
    private readonly opts: ResilientOptions,
  ) {
    this.instances = opts.instances ?? 1;
    this.share = opts.localShare ?? 1 / this.instances;
    this.stats = { degraded: false, mode: opts.mode, outages: 0, decisionsWithoutStore: 0, admittedWithoutStore: 0, overageBoundPerPeriod: 0, lastError: null };
  }

  async decide(levels: readonly Level[], cost: number, nowMs: number): Promise<HierarchyDecision> {
    if (this.opts.clock.now() >= this.degradedUntil) {
      try {
        const d = await this.primary.decide(levels, cost, nowMs);
        this.stats.degraded = false;
        return d;
      } catch (err) {
        if ((err as Error).name === "LimitError") throw err;
        if (!this.stats.degraded) this.stats.outages++;
        this.stats.degraded = true;
        this.stats.lastError = (err as Error).message;
        this.degradedUntil = this.opts.clock.now() + (this.opts.probeAfterMs ?? 1000);
        this.opts.onDegraded?.(err as Error);
      }
    }
    return this.decideWithoutStore(levels, cost, nowMs);
  }

  private decideWithoutStore(levels: readonly Level[], cost: number, nowMs: number): HierarchyDecision {
    this.stats.decisionsWithoutStore++;
    const d = this.fallbackDecision(levels, cost, nowMs);
    if (d.allowed && cost > 0) this.stats.admittedWithoutStore += cost;
    return d;
  }

  private fallbackDecision(levels: readonly Level[], cost: number, nowMs: number): HierarchyDecision {
    const probe = Math.max(0, this.degradedUntil - this.opts.clock.now());
    const flat = (allowed: boolean): HierarchyDecision => {
      const one = { allowed, limit: levels[0]!.limit.limit, remaining: allowed ? levels[0]!.limit.limit : 0, retryAfterMs: allowed ? 0 : probe, resetAfterMs: probe };
      return { ...one, levels: levels.map(() => one), blockedBy: allowed ? -1 : 0 };
    };
    switch (this.opts.mode) {
      case "fail-closed":
        return flat(false);
      case "fail-open":
        this.stats.overageBoundPerPeriod = Infinity;
        return flat(true);
      case "local": {
        const scaled = levels.map((l) => ({ key: l.key, limit: { ...l.limit, limit: l.limit.limit * this.share, burst: l.limit.burst === undefined ? undefined : l.limit.burst * this.share } }));
        for (const l of levels) {
          const bound = Math.max(0, this.instances * this.share - 1) * l.limit.limit;
          this.stats.overageBoundPerPeriod = Math.max(this.stats.overageBoundPerPeriod, bound);
        }
        return this.local.decideSync(scaled, cost, nowMs);
      }
    }
  }

  report(): OutageReport {
    return { ...this.stats };
  }

  async close(): Promise<void> {
    await this.primary.close();
    await this.local.close();
  }
}
