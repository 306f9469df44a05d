/**
 * A remote store (Redis) with a failure policy for when it does not answer:
 * - `unavailable` (default, envoyproxy/ratelimit's behaviour): the request fails with StoreUnavailable,
 *   which RLS answers as gRPC UNAVAILABLE — Envoy then applies its `failure_mode_deny` (fail open by
 *   default). Nothing is decided locally, so nothing can be over-admitted by this service.
 * - `closed`: every check answers OVER_LIMIT until the store is back (no overage, lost availability).
 * - `open`: every check answers OK (availability; overage unbounded — reported as Infinity).
 * - `local`: an in-process limiter decides with the limits × `localShare` (default 1/instances).
 *   Across `instances` replicas that admits at most (instances × localShare − 1) × limit per period
 *   above the limit (0 with the default share) — the stated bound, also in `report()`.
 * While degraded it probes the store again every `probeAfterMs`.
 */
import type { Clock } from "../../common/clock.js";
import { LimitError, reportedLimit, type Decision } from "../core/limit.js";
import type { ChargePolicy, Check, CheckResult, CounterLevel } from "../core/request.js";
import { MemoryStore } from "./memory.js";
import type { RateLimitStore } from "./port.js";

export const FAILURE_MODES = ["unavailable", "local", "closed", "open"] as const;
export type FailureMode = (typeof FAILURE_MODES)[number];

export class StoreUnavailable extends Error {
  override name = "StoreUnavailable";
}

export interface ResilientOptions {
  mode: FailureMode;
  /** How many replicas share the primary store (for the overage bound and the default share). */
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
  /** Requests answered without the store, and the hits admitted among them. */
  decisionsWithoutStore: number;
  admittedWithoutStore: number;
  /** Worst case admitted above the configured limit per period, across all replicas, for the loosest limit seen. */
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
    readonly primary: RateLimitStore,
    private readonly opts: ResilientOptions,
  ) {
    this.instances = opts.instances ?? 1;
    this.share = opts.localShare ?? 1 / this.instances;
    this.stats = { degraded: false, mode: opts.mode, outages: 0, decisionsWithoutStore: 0, admittedWithoutStore: 0, overageBoundPerPeriod: 0, lastError: null };
  }

  private async attempt<T>(fn: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false }> {
    if (this.opts.clock.now() < this.degradedUntil) return { ok: false };
    try {
      const value = await fn();
      this.stats.degraded = false;
      return { ok: true, value };
    } catch (err) {
      if (err instanceof LimitError) throw err;
      if (!this.stats.degraded) this.stats.outages++;
      this.stats.degraded = true;
      this.stats.lastError = (err as Error).message;
      this.degradedUntil = this.opts.clock.now() + (this.opts.probeAfterMs ?? 1000);
      this.opts.onDegraded?.(err as Error);
      return { ok: false };
    }
  }

  async decide(checks: readonly Check[], policy: ChargePolicy, nowMs: number): Promise<CheckResult[]> {
    const r = await this.attempt(() => this.primary.decide(checks, policy, nowMs));
    if (r.ok) return r.value;
    if (this.opts.mode === "unavailable") throw new StoreUnavailable(`rate limit store unavailable: ${this.stats.lastError ?? "degraded"}`);
    this.stats.decisionsWithoutStore++;
    const results = this.withoutStore(checks, policy, nowMs);
    for (const [i, res] of results.entries()) if (res.charged) this.stats.admittedWithoutStore += checks[i]!.cost;
    return results;
  }

  private withoutStore(checks: readonly Check[], policy: ChargePolicy, nowMs: number): CheckResult[] {
    const probe = Math.max(0, this.degradedUntil - this.opts.clock.now());
    const flat = (allowed: boolean) =>
      checks.map((c): CheckResult => {
        const levels = c.levels.map((l): Decision => ({
          allowed,
          limit: reportedLimit(l.limit),
          remaining: allowed ? reportedLimit(l.limit) : 0,
          retryAfterMs: allowed ? 0 : probe,
          resetAfterMs: probe,
        }));
        return { allowed, charged: allowed, levels };
      });
    switch (this.opts.mode) {
      case "closed":
        return flat(false);
      case "open":
        this.stats.overageBoundPerPeriod = Infinity;
        return flat(true);
      default: {
        const scaled = checks.map((c) => ({
          ...c,
          levels: c.levels.map((l) => ({ ...l, limit: { ...l.limit, limit: l.limit.limit * this.share, burst: l.limit.burst === undefined ? undefined : l.limit.burst * this.share } })),
        }));
        for (const c of checks) for (const l of c.levels) this.stats.overageBoundPerPeriod = Math.max(this.stats.overageBoundPerPeriod, Math.max(0, this.instances * this.share - 1) * l.limit.limit);
        return this.local.decideChecksSync(scaled, policy, nowMs);
      }
    }
  }

  async peek(level: CounterLevel, nowMs: number): Promise<Decision> {
    const r = await this.attempt(() => this.primary.peek(level, nowMs));
    if (r.ok) return r.value;
    throw new StoreUnavailable(`rate limit store unavailable: ${this.stats.lastError ?? "degraded"}`);
  }

  async reset(level: CounterLevel): Promise<boolean> {
    const local = await this.local.reset(level);
    const r = await this.attempt(() => this.primary.reset(level));
    if (!r.ok) throw new StoreUnavailable(`rate limit store unavailable: ${this.stats.lastError ?? "degraded"}`);
    return r.value || local;
  }

  report(): OutageReport {
    return { ...this.stats };
  }

  async close(): Promise<void> {
    await this.primary.close();
    await this.local.close();
  }
}
