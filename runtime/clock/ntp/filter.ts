/**
 * The NTP clock filter (RFC 5905 §10, ntpd's clock_filter; chrony likewise trusts its minimum-delay
 * samples): of the last N exchanges with a source, use the one with the smallest error bound. An exchange's
 * offset is wrong by at most half its round trip, so the exchange that sat in a busy machine's queue is the
 * one with a large apparent offset *and* a large delay — the filter passes its quiet neighbours instead.
 *
 * A sample's bound (delay/2 + the server's dispersion and root delay/2) grows with its age at the local
 * clock's worst-case drift (ntpd's PHI), which keeps it sound — the true offset now is still inside it —
 * and lets a fresh sample beat an old one of equal quality. A sample whose interval misses the newest
 * one's cannot hold the same offset: the clock was stepped since (a step is no drift), or its bound was
 * wrong. Either way only the newest exchange describes the clock as it is now, so the older one is dropped:
 * a real skew shows on the first exchange after it, not N exchanges later.
 */

export interface OffsetSample {
  /** When it was taken, local-clock ms (the reply's arrival, t4). */
  atMs: number;
  /** Reference − local, ms. */
  offsetMs: number;
  /** The true offset lies within offsetMs ± errorBoundMs at atMs. */
  errorBoundMs: number;
}

export interface FilteredOffset {
  offsetMs: number;
  /** The chosen sample's bound, aged to the latest sample's time. */
  errorBoundMs: number;
  /** The chosen sample (the newest one, or an older one with a tighter bound). */
  sample: OffsetSample;
}

/** ntpd's clock filter keeps the last eight samples (NTP_SHIFT). */
const DEFAULT_SIZE = 8;

export class ClockFilter {
  readonly size: number;
  readonly driftPpm: number;
  private samples: OffsetSample[] = [];

  constructor(options: { size?: number; driftPpm?: number } = {}) {
    this.size = options.size ?? DEFAULT_SIZE;
    this.driftPpm = options.driftPpm ?? 200;
    if (!(Number.isInteger(this.size) && this.size >= 1)) throw new RangeError(`clock filter size must be a whole number ≥ 1, got ${this.size}`);
    if (!(this.driftPpm >= 0 && this.driftPpm < Infinity)) throw new RangeError(`clock filter drift must be ≥ 0 ppm, got ${this.driftPpm}`);
  }

  /** Add the newest exchange; returns the offset to act on now. */
  add(sample: OffsetSample): FilteredOffset {
    if (!Number.isFinite(sample.offsetMs) || !Number.isFinite(sample.atMs) || !(sample.errorBoundMs >= 0 && sample.errorBoundMs < Infinity))
      throw new RangeError(`an offset sample needs a finite time, offset and bound ≥ 0 (got ${sample.atMs}, ${sample.offsetMs}, ${sample.errorBoundMs})`);
    // Exchanges may complete out of order: age everything to the latest one taken.
    const latest = (xs: OffsetSample[]) => Math.max(sample.atMs, ...xs.map((s) => s.atMs));
    let now = latest(this.samples);
    const consistent = this.samples.filter((s) => Math.abs(s.offsetMs - sample.offsetMs) <= this.aged(s, now) + this.aged(sample, now));
    this.samples = [...consistent, sample].slice(-this.size);
    now = latest(this.samples);
    let best = sample;
    for (const s of this.samples) if (this.aged(s, now) < this.aged(best, now)) best = s;
    return { offsetMs: best.offsetMs, errorBoundMs: this.aged(best, now), sample: best };
  }

  /** A sample's bound `now`: the clock may have drifted by driftPpm since (a clock stepped back ages nothing). */
  private aged(s: OffsetSample, now: number): number {
    return s.errorBoundMs + Math.max(0, now - s.atMs) * this.driftPpm * 1e-6;
  }
}
