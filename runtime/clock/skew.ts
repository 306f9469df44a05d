/**
 * Skew-threshold responses (§12.1.2): a state machine over measured clock offsets that detects skew,
 * degrades, freezes the strong-consistency path and alerts, then restores gradually.
 *
 *   healthy ──|offset| ≥ degrade──► degraded ──|offset| ≥ freeze──► frozen (alert)
 *      ▲                               │                               │ |offset| < degrade
 *      └────── held below degrade for recoveryHoldMs ◄── recovering ◄──┘
 *
 * Thresholds are fractions of the max offset: CockroachDB's node stops itself when its offset to the
 * cluster passes 80% of max offset, so freeze defaults to 0.8 and degrade to 0.5. A node that has not
 * measured its offset for `syncLossMs` cannot know it, and degrades. Invariant: the strong path is open
 * only in `healthy` and `degraded` — `frozen` and `recovering` both refuse it, so a clock that comes
 * back must stay good for the whole hold-down before linearizable work resumes. All time comes from the
 * injected clock; every transition is recorded as an event.
 */
import type { Clock } from "../common/clock.js";

export type SkewState = "healthy" | "degraded" | "frozen" | "recovering";

export interface SkewEvent {
  /** Injected-clock milliseconds. */
  at: number;
  from: SkewState;
  to: SkewState;
  /** The offset (ms) that caused it, null for time-driven transitions. */
  offsetMs: number | null;
  reason: string;
  /** True when operators must be paged (entering frozen). */
  alert: boolean;
}

export interface SkewMonitorOptions {
  clock: Clock;
  maxOffsetMs: number;
  degradeFraction?: number;
  freezeFraction?: number;
  /** How long offsets must stay below the degrade threshold before a frozen node is healthy again. */
  recoveryHoldMs?: number;
  /** No measurement for this long means the offset is unknown: degrade. */
  syncLossMs?: number;
  onEvent?: (event: SkewEvent) => void;
}

export class SkewMonitor {
  readonly degradeMs: number;
  readonly freezeMs: number;
  readonly recoveryHoldMs: number;
  readonly syncLossMs: number;
  private current: SkewState = "healthy";
  private readonly log: SkewEvent[] = [];
  private lastOffsetMs: number | null = null;
  private lastObservedAt: number;
  /** When the offset last dropped below the degrade threshold while recovering. */
  private goodSince: number | null = null;

  constructor(private readonly options: SkewMonitorOptions) {
    const degrade = options.degradeFraction ?? 0.5;
    const freeze = options.freezeFraction ?? 0.8;
    if (!(degrade > 0 && degrade < freeze && freeze <= 1)) throw new RangeError(`need 0 < degradeFraction (${degrade}) < freezeFraction (${freeze}) ≤ 1`);
    this.degradeMs = options.maxOffsetMs * degrade;
    this.freezeMs = options.maxOffsetMs * freeze;
    this.recoveryHoldMs = options.recoveryHoldMs ?? 30_000;
    this.syncLossMs = options.syncLossMs ?? 60_000;
    this.lastObservedAt = options.clock.now();
  }

  get state(): SkewState {
    return this.current;
  }

  /** Is the strong-consistency path (linearizable reads, commit-wait writes) open? */
  allowsStrong(): boolean {
    return this.current === "healthy" || this.current === "degraded";
  }

  get offsetMs(): number | null {
    return this.lastOffsetMs;
  }

  events(): readonly SkewEvent[] {
    return this.log;
  }

  /** Record a measured offset of this node's clock from the reference (signed ms) and react to it. */
  observe(offsetMs: number): SkewState {
    if (!Number.isFinite(offsetMs)) throw new RangeError(`offset must be a finite number of ms, got ${offsetMs}`);
    const now = this.options.clock.now();
    this.lastOffsetMs = offsetMs;
    this.lastObservedAt = now;
    const size = Math.abs(offsetMs);
    const s = this.current;
    if (size >= this.freezeMs) {
      this.goodSince = null;
      if (s !== "frozen") this.move("frozen", offsetMs, `offset ${fmt(offsetMs)} ≥ freeze threshold ${fmt(this.freezeMs)}: strong path frozen`, true);
    } else if (s === "frozen" || s === "recovering") {
      if (size < this.degradeMs) {
        if (s === "frozen") {
          this.goodSince = now;
          this.move("recovering", offsetMs, `offset ${fmt(offsetMs)} back below ${fmt(this.degradeMs)}: holding ${this.recoveryHoldMs} ms before reopening`);
        }
      } else if (s === "recovering") {
        this.goodSince = null;
        this.move("frozen", offsetMs, `offset ${fmt(offsetMs)} rose above ${fmt(this.degradeMs)} during recovery`, true);
      }
    } else if (size >= this.degradeMs) {
      if (s === "healthy") this.move("degraded", offsetMs, `offset ${fmt(offsetMs)} ≥ degrade threshold ${fmt(this.degradeMs)}`);
    } else if (s === "degraded") {
      this.move("healthy", offsetMs, `offset ${fmt(offsetMs)} back below ${fmt(this.degradeMs)}`);
    }
    return this.evaluate();
  }

  /** Apply the time-driven transitions (hold-down elapsed, sync lost); call on a timer or before use. */
  evaluate(): SkewState {
    const now = this.options.clock.now();
    if (this.current === "recovering" && this.goodSince !== null && now - this.goodSince >= this.recoveryHoldMs) {
      this.goodSince = null;
      this.move("healthy", null, `offset stayed below ${fmt(this.degradeMs)} for ${this.recoveryHoldMs} ms: strong path reopened`);
    }
    if (this.current === "healthy" && now - this.lastObservedAt >= this.syncLossMs) {
      this.move("degraded", null, `no offset measurement for ${now - this.lastObservedAt} ms: synchronisation lost`);
    }
    return this.current;
  }

  private move(to: SkewState, offsetMs: number | null, reason: string, alert = false): void {
    const event: SkewEvent = { at: this.options.clock.now(), from: this.current, to, offsetMs, reason, alert };
    this.current = to;
    this.log.push(event);
    if (this.log.length > MAX_EVENTS) this.log.splice(0, this.log.length - MAX_EVENTS);
    this.options.onEvent?.(event);
  }
}

/** Keep the latest transitions only: a flapping clock must not grow memory without bound. */
const MAX_EVENTS = 1000;
const fmt = (ms: number) => `${Number(ms.toFixed(3))} ms`;
