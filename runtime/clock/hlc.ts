/**
 * Hybrid logical clock with CockroachDB `pkg/util/hlc` semantics, over an injected physical Clock.
 *
 * Invariants (Kulkarni et al., "Logical Physical Clocks"), with pt the physical reading:
 *  - `now()` is strictly monotonic: every value it returns is greater than every value it returned or
 *    was forwarded to before, even when the physical clock jumps backwards.
 *  - l ≥ pt: the wall component never falls behind the physical clock at the moment it is read.
 *  - l − pt ≤ maxOffset: `updateAndCheckMaxOffset` rejects remote timestamps whose wall time is more than
 *    max offset ahead of our physical clock, so no peer can drag us arbitrarily far into the future.
 *  - the logical counter is bounded by the events sharing one wall time (≤ N·(ε+1) across N nodes).
 *
 * Physical clock health is watched the way CockroachDB does: a backward jump larger than maxOffset/10
 * counts a monotonicity error; a forward jump of at least the tolerated forward jump (maxOffset/2 by
 * default) is fatal when forward-jump checking is enabled — the caller supplies what "fatal" means.
 */
import type { Clock } from "../common/clock.js";
import { type Timestamp, compare, microsFromMs } from "./timestamp.js";

export interface HybridClockOptions {
  /** The physical clock (milliseconds; read as integer microseconds). */
  clock: Clock;
  /** CockroachDB "max offset" in milliseconds: the largest clock offset the cluster tolerates. */
  maxOffsetMs: number;
  /** Forward jumps at least this large are fatal when checking is enabled; default maxOffset/2. */
  toleratedForwardJumpMs?: number;
  /** Forward-jump checking starts disabled, as in CockroachDB, until `setForwardJumpCheck(true)`. */
  forwardJumpCheck?: boolean;
  /** What a fatal forward jump does; default: throw the error out of `now()`. */
  onFatal?: (error: ForwardClockJumpError) => void;
  /** Called for every physical backward jump beyond maxOffset/10. */
  onMonotonicityError?: (jumpMicros: number) => void;
}

/** A remote timestamp too far ahead of our physical clock to trust (CockroachDB's UntrustworthyRemoteWallTimeError). */
export class UntrustworthyRemoteWallTimeError extends Error {
  override name = "UntrustworthyRemoteWallTimeError";
  constructor(
    readonly remote: Timestamp,
    readonly offsetMicros: number,
    readonly maxOffsetMicros: number,
  ) {
    super(`remote wall time ${remote.wall} is ${offsetMicros}µs ahead of the local clock, beyond the max offset of ${maxOffsetMicros}µs`);
  }
}

export class ForwardClockJumpError extends Error {
  override name = "ForwardClockJumpError";
  constructor(
    readonly jumpMicros: number,
    readonly toleratedMicros: number,
  ) {
    super(`detected forward time jump of ${jumpMicros}µs, not allowed with a tolerance of ${toleratedMicros}µs`);
  }
}

export class HybridClock {
  readonly maxOffsetMicros: number;
  readonly toleratedForwardJumpMicros: number;
  private readonly clock: Clock;
  private timestamp: Timestamp = { wall: 0, logical: 0 };
  /** The last physical reading (0 before the first), for jump detection. */
  private lastPhysical = 0;
  private forwardJumpCheck: boolean;
  private monotonicityErrors = 0;
  private readonly onFatal: (error: ForwardClockJumpError) => void;
  private readonly onMonotonicityError: (jumpMicros: number) => void;

  constructor(options: HybridClockOptions) {
    if (!(options.maxOffsetMs >= 0)) throw new RangeError(`maxOffsetMs must be ≥ 0, got ${options.maxOffsetMs}`);
    this.clock = options.clock;
    this.maxOffsetMicros = microsFromMs(options.maxOffsetMs);
    this.toleratedForwardJumpMicros = microsFromMs(options.toleratedForwardJumpMs ?? options.maxOffsetMs / 2);
    this.forwardJumpCheck = options.forwardJumpCheck ?? false;
    this.onFatal =
      options.onFatal ??
      ((e) => {
        throw e;
      });
    this.onMonotonicityError = options.onMonotonicityError ?? (() => {});
  }

  /** The physical clock now, in integer microseconds, with jump detection (CockroachDB's PhysicalNow + check). */
  physicalNow(): number {
    const now = microsFromMs(this.clock.now());
    const old = this.lastPhysical;
    this.lastPhysical = now;
    if (old !== 0) {
      const backward = old - now;
      if (backward > this.maxOffsetMicros / 10) {
        this.monotonicityErrors++;
        this.onMonotonicityError(backward);
      }
      const forward = now - old;
      if (this.forwardJumpCheck && this.toleratedForwardJumpMicros > 0 && forward >= this.toleratedForwardJumpMicros) {
        this.onFatal(new ForwardClockJumpError(forward, this.toleratedForwardJumpMicros));
      }
    }
    return now;
  }

  /**
   * Refresh the last physical reading without checking it (CockroachDB's forward-jump ticker): a process
   * that calls this more often than the tolerated jump never mistakes idle time for a jump.
   */
  tick(): void {
    this.lastPhysical = microsFromMs(this.clock.now());
  }

  /** A timestamp greater than any this clock issued or was forwarded to; ticks logical while wall ≥ physical. */
  now(): Timestamp {
    const physical = this.physicalNow();
    const t = this.timestamp;
    this.timestamp = t.wall >= physical ? { wall: t.wall, logical: t.logical + 1 } : { wall: physical, logical: 0 };
    return this.timestamp;
  }

  /** The latest timestamp without ticking (not unique: use `now()` to order events). */
  peek(): Timestamp {
    return this.timestamp;
  }

  /**
   * Forward the clock to a remote timestamp (CockroachDB `Update`): takes the max, never ticks, never
   * moves backwards. Use `updateAndCheckMaxOffset` for timestamps from the network.
   */
  update(remote: Timestamp): void {
    if (compare(remote, this.timestamp) > 0) this.timestamp = { wall: remote.wall, logical: remote.logical };
  }

  /** `update`, but first reject a remote wall time more than max offset ahead of our physical clock. */
  updateAndCheckMaxOffset(remote: Timestamp): void {
    const offset = remote.wall - this.physicalNow();
    if (this.maxOffsetMicros > 0 && offset > this.maxOffsetMicros) throw new UntrustworthyRemoteWallTimeError(remote, offset, this.maxOffsetMicros);
    this.update(remote);
  }

  setForwardJumpCheck(enabled: boolean): void {
    this.forwardJumpCheck = enabled;
    // Re-arm from the current reading so the gap while disabled is not mistaken for a jump.
    if (enabled) this.tick();
  }

  get monotonicityErrorCount(): number {
    return this.monotonicityErrors;
  }

  /**
   * How far the HLC's wall time runs ahead of the physical clock (µs, ≥ 0). The HLC never steps back —
   * there is no unsafe reset: after a bad remote or a clock fix, this lead drains as physical time
   * catches up, and `SkewMonitor` holds the strong path frozen until it has.
   */
  leadMicros(): number {
    return Math.max(0, this.timestamp.wall - microsFromMs(this.clock.now()));
  }
}
