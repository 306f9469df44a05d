/**
 * Atomic and crystal oscillators with drift and ageing, steered by GPS while it is good and in holdover
 * when it is not (§12.2.1). Time error after the last steer, t seconds ago, follows the standard model
 *   x(t) = x₀ + y₀·t + ½·a·t²
 * (x₀ residual phase error, y₀ fractional frequency offset, a ageing per second). The uncertainty the
 * oscillator *claims* grows at its specified worst-case drift — uncertainty(t) = u₀ + bound·t + ½·|a|·t² —
 * so a healthy oscillator's interval always contains true time: that is what makes holdover safe.
 *
 * Specs are typical datasheet orders of magnitude: a rubidium standard holds ~1e-11 with ageing of
 * ~5e-11/month; a cesium beam ~5e-13 with no measurable ageing; an OCXO ~1e-8 with ~1e-9/day.
 */
import { seededRandom, type Random } from "./random.js";
import type { SourceReading } from "./reading.js";

export interface OscillatorSpec {
  kind: "rubidium" | "cesium" | "quartz";
  /** Worst-case fractional frequency error the oscillator is specified to (dimensionless). */
  driftBound: number;
  /** Fractional frequency change per day (ageing). */
  ageingPerDay: number;
}

export const OSCILLATORS: Record<OscillatorSpec["kind"], OscillatorSpec> = {
  rubidium: { kind: "rubidium", driftBound: 1e-11, ageingPerDay: 5e-11 / 30 },
  cesium: { kind: "cesium", driftBound: 5e-13, ageingPerDay: 0 },
  quartz: { kind: "quartz", driftBound: 1e-8, ageingPerDay: 1e-9 },
};

const DAY_S = 86_400;

export class Oscillator {
  readonly spec: OscillatorSpec;
  private readonly random: Random;
  /** True time (ms) of the last steer, and the state it left. */
  private steeredAt: number;
  private phaseMs = 0;
  private baseUncertaintyMs = 0;
  /** Actual fractional frequency offset: random within the bound, fixed per unit (seeded). */
  private readonly frequency: number;

  constructor(
    readonly id: string,
    kind: OscillatorSpec["kind"] | OscillatorSpec,
    startTrueMs: number,
    seed = 1,
  ) {
    this.spec = typeof kind === "string" ? OSCILLATORS[kind] : kind;
    this.random = seededRandom(seed);
    this.frequency = (this.random.uniform() * 2 - 1) * this.spec.driftBound;
    this.steeredAt = startTrueMs;
  }

  /** Seconds in holdover (since the last steer) at true time `trueMs`. */
  holdoverSeconds(trueMs: number): number {
    return Math.max(0, (trueMs - this.steeredAt) / 1000);
  }

  read(trueMs: number): SourceReading {
    const t = this.holdoverSeconds(trueMs);
    const ageing = this.spec.ageingPerDay / DAY_S;
    const errorMs = this.phaseMs + (this.frequency * t + 0.5 * ageing * t * t) * 1000;
    const uncertaintyMs = this.baseUncertaintyMs + (this.spec.driftBound * t + 0.5 * ageing * t * t) * 1000;
    return { id: this.id, kind: this.spec.kind, offsetMs: errorMs, uncertaintyMs };
  }

  /** Steer to a reference reading (GPS): phase error becomes the reference's, uncertainty its claim. */
  steer(reference: SourceReading, trueMs: number): void {
    this.steeredAt = trueMs;
    this.phaseMs = reference.offsetMs;
    this.baseUncertaintyMs = reference.uncertaintyMs;
  }
}
