/**
 * ClockNode: one service instance's view of time, wiring the pieces every Meridian service shares —
 * an HLC, TrueTime, the skew monitor and the metrics — to one injected clock. `measure(offset, bound)`
 * is the single entry for a reference measurement (from `ntpQuery` against the grandmaster, or a drill's
 * simulated region clock): it syncs TrueTime, feeds the skew state machine and records the offset.
 * `meridian local` gives each region a ClockNode over its own skewed clock.
 */
import type { Clock } from "../common/clock.js";
import { HybridClock, type HybridClockOptions, UntrustworthyRemoteWallTimeError } from "./hlc.js";
import { TimeMetrics } from "./metrics.js";
import { SkewMonitor, type SkewEvent } from "./skew.js";
import type { Timestamp } from "./timestamp.js";
import { TrueTime, type TTInterval } from "./truetime.js";

export interface ClockNodeOptions {
  clock: Clock;
  maxOffsetMs: number;
  driftPpm?: number;
  skew?: { degradeFraction?: number; freezeFraction?: number; recoveryHoldMs?: number; syncLossMs?: number };
  metrics?: TimeMetrics;
  onSkewEvent?: (event: SkewEvent) => void;
  sleep?: (ms: number) => Promise<void>;
  /** HLC lifecycle: forward-jump checking and its tolerance, what a fatal jump does, the persisted upper bound. */
  hlc?: Pick<HybridClockOptions, "forwardJumpCheck" | "toleratedForwardJumpMs" | "onFatal" | "upperBound" | "monotonic">;
}

export interface ClockStatus {
  hlc: Timestamp;
  truetime: TTInterval | null;
  epsilonMs: number | null;
  skew: { state: SkewEvent["to"]; offsetMs: number | null; allowsStrong: boolean };
}

export class ClockNode {
  readonly hlc: HybridClock;
  readonly truetime: TrueTime;
  readonly skew: SkewMonitor;
  readonly metrics: TimeMetrics;

  constructor(options: ClockNodeOptions) {
    this.metrics = options.metrics ?? new TimeMetrics();
    const metrics = this.metrics;
    const store = options.hlc?.upperBound?.store;
    this.hlc = new HybridClock({
      clock: options.clock,
      maxOffsetMs: options.maxOffsetMs,
      ...options.hlc,
      upperBound: store && {
        leadMs: options.hlc!.upperBound!.leadMs,
        store: { persist: (bound) => (store.persist(bound), metrics.upperBoundPersisted(bound)) },
      },
      onMonotonicityError: () => metrics.backwardJump(),
      onForwardJump: () => metrics.forwardJump(),
    });
    this.truetime = new TrueTime({ clock: options.clock, driftPpm: options.driftPpm, sleep: options.sleep, observer: this.metrics.trueTimeObserver });
    this.skew = new SkewMonitor({
      clock: options.clock,
      maxOffsetMs: options.maxOffsetMs,
      ...options.skew,
      onEvent: (e) => {
        this.metrics.skewEvent(e);
        options.onSkewEvent?.(e);
      },
    });
  }

  /** A reference measurement: our clock is `offsetMs` behind the reference, known to ±`errorBoundMs`. */
  measure(offsetMs: number, errorBoundMs: number): void {
    this.truetime.sync(offsetMs, errorBoundMs);
    this.metrics.observeOffset(offsetMs);
    // The skew monitor reasons about how wrong *our* clock is: the negated offset to the reference.
    this.skew.observe(-offsetMs);
  }

  /** Forward the HLC to a remote timestamp, counting rejections for the alert rules. */
  receive(remote: Timestamp): void {
    try {
      this.hlc.updateAndCheckMaxOffset(remote);
    } catch (e) {
      if (e instanceof UntrustworthyRemoteWallTimeError) this.metrics.hlcRejected();
      throw e;
    }
  }

  status(): ClockStatus {
    this.skew.evaluate();
    let truetime: TTInterval | null = null;
    let epsilonMs: number | null = null;
    try {
      truetime = this.truetime.now();
      epsilonMs = (truetime.latest - truetime.earliest) / 2;
    } catch {
      // Not yet synchronised: report null rather than an unbounded interval.
    }
    return { hlc: this.hlc.now(), truetime, epsilonMs, skew: { state: this.skew.state, offsetMs: this.skew.offsetMs, allowsStrong: this.skew.allowsStrong() } };
  }
}
