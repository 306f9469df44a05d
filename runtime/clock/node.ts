/**
 * ClockNode: one service instance's view of time, wiring the pieces every Meridian service shares —
 * an HLC, TrueTime, the skew monitor and the metrics — to one injected clock. `measure(offset, bound)`
 * is the single entry for a reference measurement (from `ntpQuery` against the grandmaster, or a drill's
 * simulated region clock): it syncs TrueTime, feeds the skew state machine and records the offset.
 * `meridian local` gives each region a ClockNode over its own skewed clock.
 */
import type { Clock } from "../common/clock.js";
import { HybridClock, type HybridClockOptions, UntrustworthyRemoteWallTimeError } from "./hlc.js";
import type { ClockStatusKind } from "./chrony-tracking.js";
import { TimeMetrics } from "./metrics.js";
import { SkewMonitor, type SkewEvent } from "./skew.js";
import type { Timestamp } from "./timestamp.js";
import { TrueTime, type TTInterval } from "./truetime.js";
import { EPOCH_ZERO, type EpochState } from "./upper-bound.js";

export interface ClockNodeOptions {
  clock: Clock;
  maxOffsetMs: number;
  driftPpm?: number;
  skew?: { degradeFraction?: number; freezeFraction?: number; recoveryHoldMs?: number; syncLossMs?: number };
  metrics?: TimeMetrics;
  onSkewEvent?: (event: SkewEvent) => void;
  sleep?: (ms: number) => Promise<void>;
  /** HLC lifecycle: forward-jump checking and its tolerance, what a fatal jump does, the persisted upper bound. */
  /**
   * The largest TrueTime ε (ms) strong operations accept: beyond it the node is not ready and
   * `allowsStrong()` is false (ClockBound's "error bound too large"). Default: no bound.
   */
  maxEpsilonMs?: number;
  /**
   * Refuse HLC timestamps that name no epoch (HTTP header, NATS message) instead of applying them under the
   * max-offset check alone: turn on once every caller sends epochs (MERIDIAN_HLC_REQUIRE_EPOCH, env.ts).
   */
  requireEpoch?: boolean;
  hlc?: Pick<HybridClockOptions, "forwardJumpCheck" | "toleratedForwardJumpMs" | "onFatal" | "upperBound" | "monotonic">;
}

/** What the node's reference last said of itself (ClockBound's status), when it reports one. */
export interface ReferenceStatus {
  source: string;
  status: ClockStatusKind;
  reason: string;
  /** When the reference last updated (chrony's ref time), ISO 8601; absent when it never did. */
  updatedAt?: string;
}

export interface ClockStatus {
  hlc: Timestamp;
  truetime: TTInterval | null;
  epsilonMs: number | null;
  skew: { state: SkewEvent["to"]; offsetMs: number | null; errorBoundMs: number | null; allowsStrong: boolean };
  /** Whether strong operations (linearizable reads, commit-wait writes) are allowed, and if not why. */
  allowsStrong: boolean;
  refusal: string | null;
  reference: ReferenceStatus | null;
}

export class ClockNode {
  readonly hlc: HybridClock;
  readonly truetime: TrueTime;
  readonly skew: SkewMonitor;
  readonly metrics: TimeMetrics;
  readonly maxEpsilonMs: number | null;
  readonly requireEpoch: boolean;
  private fault: string | null = null;
  private reference: ReferenceStatus | null = null;
  private epochState: EpochState = EPOCH_ZERO;

  constructor(options: ClockNodeOptions) {
    this.metrics = options.metrics ?? new TimeMetrics();
    if (options.maxEpsilonMs !== undefined && !(options.maxEpsilonMs > 0)) throw new RangeError(`maxEpsilonMs must be > 0, got ${options.maxEpsilonMs}`);
    this.maxEpsilonMs = options.maxEpsilonMs ?? null;
    this.requireEpoch = options.requireEpoch ?? false;
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

  /**
   * A reference measurement: our clock is `offsetMs` behind the reference, known to ±`errorBoundMs`.
   * TrueTime's ε is that bound unless the reference states a wider one (ClockBound's covers the uncorrected clock);
   * `asOfMs` is the local instant the bound held at (TrueTime.sync), when earlier than now.
   */
  measure(offsetMs: number, errorBoundMs: number, o: { epsilonMs?: number; growthPpm?: number; asOfMs?: number } = {}): void {
    this.truetime.sync(offsetMs, o.epsilonMs ?? errorBoundMs, o.growthPpm, o.asOfMs);
    this.metrics.observeOffset(offsetMs);
    // The skew monitor reasons about how wrong *our* clock is: the negated offset to the reference, ± its bound.
    this.skew.observe(-offsetMs, errorBoundMs);
  }

  /** Record the reference's own status; a DISRUPTED reference gives no error bound, so strong operations stop. */
  reportReference(reference: ReferenceStatus): void {
    this.reference = reference;
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

  /**
   * The HLC epoch (the reset protocol, runtime/clock/epoch.ts): 0 until the first reset. Every response
   * carries it; values from an older epoch are refused, not compared.
   */
  get epoch(): EpochState {
    return this.epochState;
  }

  /** Adopt the persisted epoch at start-up, or a new one after a reset (epochs never go back). */
  setEpoch(state: EpochState): void {
    if (state.epoch < this.epochState.epoch) throw new RangeError(`HLC epoch ${state.epoch} is below the current epoch ${this.epochState.epoch}`);
    this.epochState = state;
    this.metrics.hlcEpoch(state.epoch);
  }

  /** Take the node out of strong service until restart (a fatal clock event such as a forward jump). */
  failStrong(reason: string): void {
    this.fault ??= reason;
  }

  /**
   * Why strong operations must be refused now, or null when they may run: a fatal clock event, the skew
   * monitor's frozen/recovering state, or a TrueTime ε beyond `maxEpsilonMs`. An unsynchronised node has
   * no ε yet: the skew monitor's sync-loss state covers it, and commit-wait refuses it by itself.
   */
  strongRefusal(): string | null {
    if (this.fault !== null) return this.fault;
    if (this.reference?.status === "DISRUPTED") return `time reference ${this.reference.source} is DISRUPTED (${this.reference.reason}): no error bound, the strong-consistency path is closed`;
    this.skew.evaluate();
    if (!this.skew.allowsStrong()) return `skew state ${this.skew.state}: the strong-consistency path is closed`;
    if (this.maxEpsilonMs !== null) {
      let epsilonMs: number;
      try {
        epsilonMs = this.truetime.epsilonMs();
      } catch {
        return null;
      }
      if (epsilonMs > this.maxEpsilonMs) return `TrueTime ε ${fmtMs(epsilonMs)} is beyond the bound of ${fmtMs(this.maxEpsilonMs)}: the strong-consistency path is closed`;
    }
    return null;
  }

  allowsStrong(): boolean {
    return this.strongRefusal() === null;
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
    const refusal = this.strongRefusal();
    return {
      hlc: this.hlc.now(),
      truetime,
      epsilonMs,
      skew: { state: this.skew.state, offsetMs: this.skew.offsetMs, errorBoundMs: this.skew.errorBoundMs, allowsStrong: this.skew.allowsStrong() },
      allowsStrong: refusal === null,
      refusal,
      reference: this.reference,
    };
  }
}

const fmtMs = (ms: number) => `${Number(ms.toFixed(3))} ms`;
