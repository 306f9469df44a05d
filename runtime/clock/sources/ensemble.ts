/**
 * The time ensemble a grandmaster serves (§12.2): GPS receivers and atomic oscillators voted by
 * Marzullo's intersection. Invariant: only truechimers shape the time, and only a truechimer GPS steers
 * the oscillators — a spoofed receiver is outvoted, never obeyed. Without a truechimer GPS the ensemble
 * is in holdover and ε grows at the oscillators' specified drift; when GPS returns ε collapses again.
 *
 * The injected clock is the simulation's true (atomic, continuous) time. `inflate` runs an ε-inflation
 * drill: a planned uncertainty increase that consumers must absorb gracefully (§12.2.2).
 */
import type { Clock } from "../../common/clock.js";
import { GpsReceiver } from "./gps.js";
import { leapIndicator, posix, smear, type LeapSecond } from "./leap.js";
import { marzullo } from "./marzullo.js";
import { Oscillator } from "./oscillator.js";
import { interval, type SourceReading } from "./reading.js";

export type SourceStatus = "truechimer" | "falseticker" | "unavailable";

export interface EnsembleSample {
  /** True time of the sample (simulation ground truth). */
  trueMs: number;
  /** The time served: smeared or POSIX UTC of the ensemble's estimate. */
  timeMs: number;
  /** The estimate's offset from the injected clock (in simulation: its error from true time). */
  offsetMs: number;
  /** Half-width of the agreed interval plus any drill inflation. */
  epsilonMs: number;
  sources: { id: string; kind: SourceReading["kind"]; status: SourceStatus; uncertaintyMs: number | null }[];
  falsetickers: string[];
  /** No truechimer GPS: the oscillators free-run. */
  holdover: boolean;
  /** A majority of sources agree; without it the time must not be served as synchronised. */
  synchronized: boolean;
  leapIndicator: 0 | 1 | 2;
  inflationMs: number;
  /** True time at which the oscillators were last steered by GPS. */
  lastSteerMs: number;
}

export interface EnsembleOptions {
  clock: Clock;
  gps: GpsReceiver[];
  oscillators: Oscillator[];
  leap?: LeapSecond | null;
  /** Serve smeared time (Google-style) instead of POSIX UTC with a leap indicator. */
  smear?: boolean;
}

export class Ensemble {
  private leap: LeapSecond | null;
  private readonly smearing: boolean;
  private inflation: { extraMs: number; untilMs: number } | null = null;
  private lastSteerMs: number;

  constructor(private readonly options: EnsembleOptions) {
    if (options.gps.length + options.oscillators.length === 0) throw new RangeError("an ensemble needs at least one source");
    this.leap = options.leap ?? null;
    this.smearing = options.smear ?? false;
    this.lastSteerMs = options.clock.now();
  }

  get smeared(): boolean {
    return this.smearing;
  }

  /** A GPS receiver by id (the first when no id is given), for fault injection. */
  gps(id?: string): GpsReceiver {
    const found = id === undefined ? this.options.gps[0] : this.options.gps.find((g) => g.id === id);
    if (found === undefined) {
      throw new RangeError(`no GPS receiver ${id ?? ""} in this ensemble; it has ${this.options.gps.map((g) => g.id).join(", ") || "none"}`);
    }
    return found;
  }

  setLeap(leap: LeapSecond | null): void {
    this.leap = leap;
  }

  /** The served time scale (smeared, or POSIX UTC with its leap step) for an atomic-timeline instant. */
  serve(atomicMs: number): number {
    return this.smearing ? smear(atomicMs, this.leap) : posix(atomicMs, this.leap);
  }

  /** ε-inflation drill: add `extraMs` to ε until true time `untilMs`. */
  inflate(extraMs: number, untilMs: number): void {
    if (!(extraMs >= 0)) throw new RangeError(`inflation must be ≥ 0 ms, got ${extraMs}`);
    this.inflation = { extraMs, untilMs };
  }

  sample(): EnsembleSample {
    const trueMs = this.options.clock.now();
    const gpsReadings = this.options.gps.map((g) => ({ id: g.id, reading: g.read(trueMs) }));
    const readings: SourceReading[] = [...gpsReadings.flatMap((g) => (g.reading ? [g.reading] : [])), ...this.options.oscillators.map((o) => o.read(trueMs))];
    const agreement = marzullo(readings.map(interval))!;
    const falsetickers = new Set(agreement.falsetickers.map((i) => readings[i]!.id));
    const goodGps = readings.filter((r) => r.kind === "gps" && !falsetickers.has(r.id)).sort((a, b) => a.uncertaintyMs - b.uncertaintyMs);
    const steer = agreement.majority ? goodGps[0] : undefined;
    if (steer !== undefined) {
      for (const o of this.options.oscillators) o.steer(steer, trueMs);
      this.lastSteerMs = trueMs;
    }
    if (this.inflation !== null && trueMs >= this.inflation.untilMs) this.inflation = null;
    const inflationMs = this.inflation?.extraMs ?? 0;
    const offsetMs = (agreement.low + agreement.high) / 2;
    const estimate = trueMs + offsetMs;
    const byId = new Map(readings.map((r) => [r.id, r]));
    const ids = [...gpsReadings.map((g) => ({ id: g.id, kind: "gps" as const })), ...this.options.oscillators.map((o) => ({ id: o.id, kind: o.spec.kind }))];
    return {
      trueMs,
      timeMs: this.serve(estimate),
      offsetMs,
      epsilonMs: Math.max((agreement.high - agreement.low) / 2, 1e-6) + inflationMs,
      sources: ids.map(({ id, kind }) => {
        const r = byId.get(id);
        return { id, kind, status: r === undefined ? "unavailable" : falsetickers.has(id) ? "falseticker" : "truechimer", uncertaintyMs: r?.uncertaintyMs ?? null };
      }),
      falsetickers: [...falsetickers],
      holdover: goodGps.length === 0,
      synchronized: agreement.majority,
      leapIndicator: this.smearing ? 0 : leapIndicator(estimate, this.leap),
      inflationMs,
      lastSteerMs: this.lastSteerMs,
    };
  }
}

/**
 * The ensemble a grandmaster runs for a configured primary source: "gps" is a GPS-disciplined pair of
 * rubidium and cesium standards (three voters, so one liar is outvoted); "rubidium"/"cesium" is that
 * standard alone, free-running from a start assumed synchronised.
 */
export function buildEnsemble(options: { clock: Clock; primary: "gps" | "rubidium" | "cesium"; smear?: boolean; leap?: LeapSecond | null; seed?: number }): Ensemble {
  const seed = options.seed ?? 1;
  const start = options.clock.now();
  const gps = options.primary === "gps" ? [new GpsReceiver("gps-a", { seed })] : [];
  const oscillators =
    options.primary === "gps"
      ? [new Oscillator("rubidium-a", "rubidium", start, seed + 1), new Oscillator("cesium-a", "cesium", start, seed + 2)]
      : [new Oscillator(`${options.primary}-a`, options.primary, start, seed + 1)];
  return new Ensemble({ clock: options.clock, gps, oscillators, leap: options.leap ?? null, smear: options.smear ?? false });
}
