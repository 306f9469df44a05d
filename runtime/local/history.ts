/**
 * The dashboard's memory: one sample per push of what an SRE watches over time, per region — health, the
 * DNS answers the resolver drew, the checkers' probe round trip, sales and rate-limit decisions per
 * second, clock offset and ε — kept for the last `capacity` samples (ten minutes at one a second).
 *
 * Rates come from cumulative counters (answers drawn, sales, admitted, limited) divided by the time
 * between samples; a counter that went down was reset (a region restarted), so its whole value counts
 * as new, as Prometheus' rate() treats a reset. Nothing is ever negative or infinite.
 */
import type { HealthState } from "../../model/traffic/health.js";

export interface RegionReading {
  health?: HealthState;
  running: boolean;
  /** Cumulative counters; undefined when the region did not answer. */
  dnsAnswers: number;
  sales?: number;
  admitted?: number;
  limited?: number;
  rttMs: number | null;
  offsetMs?: number;
  epsilonMs?: number;
}

export interface RegionPoint {
  /** 2 healthy, 1 degraded, 0 unhealthy or not running. */
  health: number;
  dnsPerS: number;
  rttMs: number | null;
  salesPerS: number | null;
  admittedPerS: number | null;
  limitedPerS: number | null;
  offsetMs: number | null;
  epsilonMs: number | null;
}

export interface Sample {
  /** Seconds since the epoch (uPlot's x unit). */
  t: number;
  regions: Record<string, RegionPoint>;
}

const HEALTH_LEVEL: Record<HealthState, number> = { healthy: 2, degraded: 1, unhealthy: 0 };

/** Per-second rate between two readings of a cumulative counter (a drop is a reset). */
function counterRate(previous: number | undefined, current: number | undefined, seconds: number): number | null {
  if (current === undefined || !(seconds > 0)) return null;
  if (previous === undefined) return null;
  const delta = current >= previous ? current - previous : current;
  return delta / seconds;
}

export class History {
  private readonly samples: Sample[] = [];
  private previous: { atMs: number; readings: Record<string, RegionReading> } | undefined;

  constructor(private readonly capacity = 600) {}

  add(atMs: number, readings: Record<string, RegionReading>): Sample {
    const prev = this.previous;
    const seconds = prev ? (atMs - prev.atMs) / 1000 : 0;
    const regions: Record<string, RegionPoint> = {};
    for (const [id, r] of Object.entries(readings)) {
      const p = prev?.readings[id];
      regions[id] = {
        health: r.running && r.health ? HEALTH_LEVEL[r.health] : 0,
        dnsPerS: counterRate(p?.dnsAnswers, r.dnsAnswers, seconds) ?? 0,
        rttMs: r.rttMs,
        salesPerS: counterRate(p?.sales, r.sales, seconds),
        admittedPerS: counterRate(p?.admitted, r.admitted, seconds),
        limitedPerS: counterRate(p?.limited, r.limited, seconds),
        offsetMs: r.offsetMs ?? null,
        epsilonMs: r.epsilonMs ?? null,
      };
    }
    // A region that did not answer keeps its last counters, so its next answer is not a reset.
    const kept: Record<string, RegionReading> = {};
    for (const [id, r] of Object.entries(readings)) kept[id] = { ...prev?.readings[id], ...Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) } as RegionReading;
    this.previous = { atMs, readings: kept };
    const sample = { t: atMs / 1000, regions };
    this.samples.push(sample);
    if (this.samples.length > this.capacity) this.samples.splice(0, this.samples.length - this.capacity);
    return sample;
  }

  /** The latest sample, if any. */
  last(): Sample | undefined {
    return this.samples.at(-1);
  }

  all(): Sample[] {
    return [...this.samples];
  }
}
