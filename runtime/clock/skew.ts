/**
 * Skew-threshold responses (§12.1.2): a state machine over measured clock offsets that detects skew,
 * degrades, freezes the strong-consistency path and alerts, then restores gradually.
 *
 *   healthy ──|offset| ≥ degrade──► degraded ──|offset| ≥ freeze──► frozen (alert)
 *      ▲                               │                               │ |offset| < degrade
 *      └────── held below degrade for recoveryHoldMs ◄── recovering ◄──┘
 *
 * Thresholds are fractions of the max offset: CockroachDB's node stops itself when its offset to the
 * cluster passes 80% of max offset, so freeze defaults to 0.8 and degrade to 0.5. Each measurement comes
 * with its error bound (NTP: delay/2 + dispersion, chrony's "root distance"), so the skew is only known to
 * lie in |offset| ± bound: a transition needs the whole interval on its side of the threshold — freeze (and
 * degrade) only when the skew is certainly beyond, recover only when it is certainly within. One exchange
 * that sat in a busy machine's queue has a large apparent offset but an equally large bound, so it moves
 * nothing; an undecided measurement keeps the state. A node that has not
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
  /** That offset's error bound (ms), null for time-driven transitions. */
  errorBoundMs: number | null;
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
  private lastErrorBoundMs: number | null = null;
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

  /** The last offset's error bound: the skew lies within offsetMs ± errorBoundMs. */
  get errorBoundMs(): number | null {
    return this.lastErrorBoundMs;
  }

  events(): readonly SkewEvent[] {
    return this.log;
  }

  /**
   * Record a measured offset of this node's clock from the reference (signed ms), known to ±`errorBoundMs`,
   * and react to it. The size of the skew is then at least `|offset| − bound` and at most `|offset| + bound`.
   */
  observe(offsetMs: number, errorBoundMs = 0): SkewState {
    if (!Number.isFinite(offsetMs)) throw new RangeError(`offset must be a finite number of ms, got ${offsetMs}`);
    if (!(errorBoundMs >= 0 && errorBoundMs < Infinity)) throw new RangeError(`error bound must be a finite number of ms ≥ 0, got ${errorBoundMs}`);
    const now = this.options.clock.now();
    this.lastOffsetMs = offsetMs;
    this.lastErrorBoundMs = errorBoundMs;
    this.lastObservedAt = now;
    const least = Math.abs(offsetMs) - errorBoundMs;
    const most = Math.abs(offsetMs) + errorBoundMs;
    const seen = `offset ${fmt(offsetMs)} ± ${fmt(errorBoundMs)}`;
    const move = (to: SkewState, why: string, alert = false) => this.move(to, offsetMs, errorBoundMs, `${seen} ${why}`, alert);
    const s = this.current;
    if (least >= this.freezeMs) {
      this.goodSince = null;
      if (s !== "frozen") move("frozen", `certainly ≥ freeze threshold ${fmt(this.freezeMs)}: strong path frozen`, true);
    } else if (s === "frozen") {
      if (most < this.degradeMs) {
        this.goodSince = now;
        move("recovering", `certainly back below ${fmt(this.degradeMs)}: holding ${this.recoveryHoldMs} ms before reopening`);
      }
    } else if (s === "recovering") {
      // The hold runs from the first good measurement; only a skew certainly back above degrade breaks it.
      if (least >= this.degradeMs) {
        this.goodSince = null;
        move("frozen", `certainly rose above ${fmt(this.degradeMs)} during recovery`, true);
      }
    } else if (s === "healthy" && least >= this.degradeMs) {
      move("degraded", `certainly ≥ degrade threshold ${fmt(this.degradeMs)}`);
    } else if (s === "degraded" && most < this.degradeMs) {
      move("healthy", `certainly back below ${fmt(this.degradeMs)}`);
    }
    return this.evaluate();
  }

  /** Apply the time-driven transitions (hold-down elapsed, sync lost); call on a timer or before use. */
  evaluate(): SkewState {
    const now = this.options.clock.now();
    if (this.current === "recovering" && this.goodSince !== null && now - this.goodSince >= this.recoveryHoldMs) {
      this.goodSince = null;
      this.move("healthy", null, null, `offset stayed below ${fmt(this.degradeMs)} for ${this.recoveryHoldMs} ms: strong path reopened`);
    }
    if (this.current === "healthy" && now - this.lastObservedAt >= this.syncLossMs) {
      this.move("degraded", null, null, `no offset measurement for ${now - this.lastObservedAt} ms: synchronisation lost`);
    }
    return this.current;
  }

  private move(to: SkewState, offsetMs: number | null, errorBoundMs: number | null, reason: string, alert = false): void {
    const event: SkewEvent = { at: this.options.clock.now(), from: this.current, to, offsetMs, errorBoundMs, reason, alert };
    this.current = to;
    this.log.push(event);
    if (this.log.length > MAX_EVENTS) this.log.splice(0, this.log.length - MAX_EVENTS);
    this.options.onEvent?.(event);
  }
}

/** Keep the latest transitions only: a flapping clock must not grow memory without bound. */
const MAX_EVENTS = 1000;
const fmt = (ms: number) => `${Number(ms.toFixed(3))} ms`;
