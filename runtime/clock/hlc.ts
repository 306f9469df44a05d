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
 * Every reading is checked, the forward-jump ticker's (`tick()`) included: a jump it reads first is
 * reported, not silently absorbed.
 *
 * Restarts (CockroachDB's persisted HLC upper bound): with `upperBound`, no timestamp whose wall time
 * exceeds the durably persisted bound is returned until a new bound (wall + leadMs) has been persisted —
 * written ahead, synchronously. A restarted process waits until its physical clock passes the last bound
 * (runtime/clock/upper-bound.ts) before issuing, so every timestamp after a restart is above every one
 * before it. The logical counter is int32 as in CockroachDB: at its maximum the wall time advances 1 µs.
 */
import type { Clock } from "../common/clock.js";
import { type Timestamp, MAX_LOGICAL, compare, microsFromMs } from "./timestamp.js";

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
  /**
   * A monotonic clock (ms, e.g. performance.now): jumps are then measured against elapsed time, so a
   * stalled process is not mistaken for a jumping clock. Without it, the gap between readings counts.
   */
  monotonic?: () => number;
  /** Called for every forward jump at or beyond the tolerance while checking is on (before `onFatal`). */
  onForwardJump?: (jumpMicros: number) => void;
  /** Persist a wall-time upper bound before issuing timestamps beyond it (see the file comment). */
  upperBound?: { store: UpperBoundStore; leadMs: number };
}

/** Durable storage for the HLC's wall-time upper bound: `persist` returns only once the bound is on disk. */
export interface UpperBoundStore {
  persist(boundMicros: number): void;
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
  private lastMonotonic = 0;
  private readonly monotonic: (() => number) | null;
  private forwardJumpCheck: boolean;
  private monotonicityErrors = 0;
  private readonly onFatal: (error: ForwardClockJumpError) => void;
  private readonly onMonotonicityError: (jumpMicros: number) => void;
  private readonly onForwardJump: (jumpMicros: number) => void;
  private readonly upperBoundStore: UpperBoundStore | null;
  private readonly upperBoundLeadMicros: number;
  /** The last bound persisted (µs); 0 = none yet, so the first timestamp persists one. */
  private persistedUpperBound = 0;

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
    this.onForwardJump = options.onForwardJump ?? (() => {});
    this.monotonic = options.monotonic ?? null;
    this.upperBoundStore = options.upperBound?.store ?? null;
    this.upperBoundLeadMicros = microsFromMs(options.upperBound?.leadMs ?? 0);
    if (this.upperBoundStore !== null && !(this.upperBoundLeadMicros > 0)) throw new RangeError(`upperBound.leadMs must be > 0, got ${options.upperBound?.leadMs}`);
  }

  /** The physical clock now, in integer microseconds, with jump detection (CockroachDB's PhysicalNow + check). */
  physicalNow(): number {
    const now = microsFromMs(this.clock.now());
    const mono = this.monotonic === null ? 0 : microsFromMs(this.monotonic());
    const old = this.lastPhysical;
    // With a monotonic clock, only what the wall clock moved beyond elapsed time is a jump: a stalled event
    // loop or a GC pause between two readings is not.
    const elapsed = this.monotonic === null ? 0 : mono - this.lastMonotonic;
    this.lastPhysical = now;
    this.lastMonotonic = mono;
    if (old !== 0) {
      const backward = old - now + elapsed;
      if (backward > this.maxOffsetMicros / 10) {
        this.monotonicityErrors++;
        this.onMonotonicityError(backward);
      }
      const forward = now - old - elapsed;
      if (this.forwardJumpCheck && this.toleratedForwardJumpMicros > 0 && forward >= this.toleratedForwardJumpMicros) {
        this.onForwardJump(forward);
        this.onFatal(new ForwardClockJumpError(forward, this.toleratedForwardJumpMicros));
      }
    }
    return now;
  }

  /**
   * The forward-jump ticker's reading (CockroachDB's monitor): read the physical clock *with* the jump
   * checks, so a process that calls this more often than the tolerated jump never mistakes idle time for
   * a jump, and a jump the ticker reads first is still reported.
   */
  tick(): void {
    this.physicalNow();
  }

  /** A timestamp greater than any this clock issued or was forwarded to; ticks logical while wall ≥ physical. */
  now(): Timestamp {
    const physical = this.physicalNow();
    const t = this.timestamp;
    let next: Timestamp;
    if (t.wall < physical) next = { wall: physical, logical: 0 };
    else if (t.logical >= MAX_LOGICAL) next = { wall: t.wall + 1, logical: 0 };
    else next = { wall: t.wall, logical: t.logical + 1 };
    // Write-ahead: a timestamp beyond the persisted bound is issued only once a higher bound is durable.
    if (this.upperBoundStore !== null && next.wall > this.persistedUpperBound) this.persistUpperBound(Math.max(next.wall, physical));
    this.timestamp = next;
    return next;
  }

  /**
   * Persist physical now + lead when that raises the bound (the service's refresh timer), so `now()`
   * seldom has to write on the request path. Returns the bound in force (µs; 0 without a store).
   */
  refreshUpperBound(): number {
    if (this.upperBoundStore === null) return 0;
    const physical = this.physicalNow();
    if (physical + this.upperBoundLeadMicros / 2 > this.persistedUpperBound) this.persistUpperBound(Math.max(physical, this.timestamp.wall));
    return this.persistedUpperBound;
  }

  get upperBoundMicros(): number {
    return this.persistedUpperBound;
  }

  private persistUpperBound(fromMicros: number): void {
    const bound = fromMicros + this.upperBoundLeadMicros;
    this.upperBoundStore!.persist(bound); // throws: the timestamp is not issued
    this.persistedUpperBound = bound;
  }

  /**
   * Step the HLC back to the physical clock (the HLC reset protocol, runtime/clock/epoch.ts): the only way
   * this clock ever moves backwards, so the caller must have begun a new epoch that tells every holder of an
   * older timestamp not to compare it with newer ones. With an upper-bound store the new (lower) bound is
   * persisted first — with the store's new epoch — and a failed write changes nothing.
   */
  reset(): { from: Timestamp; to: Timestamp } {
    const physical = this.physicalNow();
    const from = this.timestamp;
    if (this.upperBoundStore !== null) this.persistUpperBound(physical);
    this.timestamp = { wall: physical, logical: 0 };
    return { from, to: this.timestamp };
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
    if (enabled) {
      this.lastPhysical = microsFromMs(this.clock.now());
      if (this.monotonic !== null) this.lastMonotonic = microsFromMs(this.monotonic());
    }
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
