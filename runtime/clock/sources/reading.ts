/**
 * What every reference source reports: its offset from the observer's own clock and the uncertainty it
 * claims, as the interval [offset − uncertainty, offset + uncertainty] that should contain the true
 * offset. Offsets, not absolute times: a Unix-ms double near 1.8e12 resolves only ~0.24 µs, too coarse
 * for nanosecond sources. In the simulator the observer's clock is true time, so `offsetMs` is also the
 * source's error — ground truth that tests and drills read.
 */
export interface SourceReading {
  id: string;
  kind: "gps" | "rubidium" | "cesium" | "quartz";
  offsetMs: number;
  uncertaintyMs: number;
}

export const interval = (r: SourceReading): [number, number] => [r.offsetMs - r.uncertaintyMs, r.offsetMs + r.uncertaintyMs];
