/**
 * TrueTime-style interval clock (§12.2): `now()` returns [earliest, latest] guaranteed to contain true
 * time, with ε = the reference's uncertainty at the last sync + the worst-case drift of the local
 * oscillator since then (+ any drill inflation). Spanner assumes 200 ppm for commodity crystals, which
 * gives its 1→7 ms sawtooth with 30 s polling; that is the default here.
 *
 * `commitWait(ts)` waits until `earliest > ts`, so a transaction committed at ts is in the past for
 * every clock in the fleet before its result is visible (external consistency). Each sync also feeds a
 * CUSUM drift detector; alarms are reported through `onDriftAlarm`. Clock and sleep are injected.
 */
import type { Clock } from "../common/clock.js";
import { Cusum, type DriftAlarm } from "./drift.js";

export interface TTInterval {
  earliest: number;
  latest: number;
}

export interface TrueTimeObserver {
  epsilon?(epsilonMs: number): void;
  commitWait?(waitedMs: number): void;
  driftAlarm?(alarm: DriftAlarm, ppm: number): void;
}

export interface TrueTimeOptions {
  /** The local (uncorrected) clock. */
  clock: Clock;
  /** Worst-case local oscillator drift, ppm (Spanner: 200). */
  driftPpm?: number;
  /** How to wait during commit-wait; default a timer. */
  sleep?: (ms: number) => Promise<void>;
  /** CUSUM parameters on frequency error in ppm (default: detect a 10 ppm shift, h = 40 ppm). */
  drift?: { slack: number; threshold: number };
  observer?: TrueTimeObserver;
}

export class ClockUnsynchronizedError extends Error {
  override name = "ClockUnsynchronizedError";
  constructor() {
    super("TrueTime has no synchronisation yet: ε is unbounded");
  }
}

interface Sync {
  localMs: number;
  offsetMs: number;
  epsilonMs: number;
  /** How fast ε grows until the next sync: the local drift bound, or the reference's own rate if faster. */
  growthPpm: number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, Math.ceil(ms))));

export class TrueTime {
  readonly driftPpm: number;
  private last: Sync | null = null;
  private inflation: { extraMs: number; untilLocalMs: number } | null = null;
  private readonly cusum: Cusum;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: TrueTimeOptions) {
    this.driftPpm = options.driftPpm ?? 200;
    this.sleep = options.sleep ?? defaultSleep;
    this.cusum = new Cusum(options.drift ?? { slack: 5, threshold: 40 });
  }

  /**
   * Record a measurement against the reference: the local clock is `offsetMs` behind it (reference −
   * local) with the reference's own uncertainty `epsilonMs` (e.g. NTP root dispersion + delay/2).
   * `growthPpm` is the rate at which the reference says that uncertainty grows (chrony's dispersion grows at
   * its skew + residual frequency + max clock error); ε never grows slower than the reference's own bound.
   * `asOfMs` is the local instant `epsilonMs` held at (default: now): ε grows from there, not from when the
   * measurement reached us — a report that waited in a busy event loop is that much older than it looks.
   */
  sync(offsetMs: number, epsilonMs: number, growthPpm = 0, asOfMs?: number): void {
    if (!Number.isFinite(offsetMs) || !(epsilonMs >= 0)) throw new RangeError(`sync needs a finite offset and ε ≥ 0 (got ${offsetMs}, ${epsilonMs})`);
    if (asOfMs !== undefined && !Number.isFinite(asOfMs)) throw new RangeError(`sync needs a finite instant, got ${asOfMs}`);
    const nowMs = this.options.clock.now();
    const localMs = asOfMs === undefined ? nowMs : Math.min(asOfMs, nowMs);
    const prev = this.last;
    if (prev !== null && localMs > prev.localMs) {
      // Frequency error: how fast the local clock drifted from the reference between the two syncs.
      const ppm = ((offsetMs - prev.offsetMs) / (localMs - prev.localMs)) * 1e6;
      const alarm = this.cusum.observe(ppm);
      if (alarm !== null) this.options.observer?.driftAlarm?.(alarm, ppm);
    }
    this.last = { localMs, offsetMs, epsilonMs, growthPpm: Math.max(this.driftPpm, growthPpm) };
  }

  /** ε-inflation drill: add `extraMs` to ε for `durationMs` of local time. */
  inflate(extraMs: number, durationMs: number): void {
    this.inflation = { extraMs, untilLocalMs: this.options.clock.now() + durationMs };
  }

  epsilonMs(): number {
    return this.read().epsilonMs;
  }

  now(): TTInterval {
    const { centre, epsilonMs } = this.read();
    this.options.observer?.epsilon?.(epsilonMs);
    return { earliest: centre - epsilonMs, latest: centre + epsilonMs };
  }

  /** True time has definitely passed t. */
  after(t: number): boolean {
    return this.now().earliest > t;
  }

  /** True time has definitely not reached t. */
  before(t: number): boolean {
    return this.now().latest < t;
  }

  /** Wait until `ts` is definitely in the past everywhere; resolves with the time waited (ms, local clock). */
  async commitWait(ts: number): Promise<number> {
    const start = this.options.clock.now();
    for (;;) {
      const { earliest } = this.now();
      if (earliest > ts) break;
      await this.sleep(ts - earliest + 0.001);
    }
    const waited = this.options.clock.now() - start;
    this.options.observer?.commitWait?.(waited);
    return waited;
  }

  private read(): { centre: number; epsilonMs: number } {
    const s = this.last;
    if (s === null) throw new ClockUnsynchronizedError();
    const local = this.options.clock.now();
    const since = Math.max(0, local - s.localMs);
    if (this.inflation !== null && local >= this.inflation.untilLocalMs) this.inflation = null;
    const epsilonMs = s.epsilonMs + (since * s.growthPpm) / 1e6 + (this.inflation?.extraMs ?? 0);
    return { centre: local + s.offsetMs, epsilonMs };
  }
}
