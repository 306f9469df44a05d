/**
 * A simulated GPS timing receiver (§12.2.1–2): nanosecond-level noise while it has a fix, and failures
 * injected on command — an outage (no fix), jamming (no fix, flagged as interference so operators know
 * it is not the antenna), and spoofing (a confident but wrong time that only multi-source validation can
 * catch). Failures end at a given true time or on `restore()`.
 */
import { seededRandom, type Random } from "./random.js";
import type { SourceReading } from "./reading.js";

export type GpsFault = { kind: "outage" | "jamming"; untilMs: number } | { kind: "spoofing"; offsetMs: number; untilMs: number };

export interface GpsOptions {
  /** 1σ timing noise, ms (a timing receiver: ~20 ns). */
  noiseMs?: number;
  seed?: number;
}

export class GpsReceiver {
  private readonly random: Random;
  private readonly noiseMs: number;
  private fault: GpsFault | null = null;

  constructor(
    readonly id: string,
    options: GpsOptions = {},
  ) {
    this.noiseMs = options.noiseMs ?? 20e-6;
    this.random = seededRandom(options.seed ?? 7);
  }

  inject(fault: GpsFault): void {
    this.fault = fault;
  }

  restore(): void {
    this.fault = null;
  }

  /** The active fault at true time `trueMs` (expired faults clear themselves). */
  status(trueMs: number): GpsFault | null {
    if (this.fault !== null && trueMs >= this.fault.untilMs) this.fault = null;
    return this.fault;
  }

  /** A reading, or null without a fix. The claimed uncertainty is 5σ of the receiver's noise. */
  read(trueMs: number): SourceReading | null {
    const fault = this.status(trueMs);
    if (fault !== null && fault.kind !== "spoofing") return null;
    const errorMs = this.random.gaussian() * this.noiseMs + (fault?.kind === "spoofing" ? fault.offsetMs : 0);
    return { id: this.id, kind: "gps", offsetMs: errorMs, uncertaintyMs: 5 * this.noiseMs };
  }
}
