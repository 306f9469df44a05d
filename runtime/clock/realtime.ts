/**
 * A sub-millisecond wall clock for serving NTP. Date.now() resolves only 1 ms; performance.timeOrigin +
 * performance.now() resolves µs but its anchor to wall time is taken once at process start, and a start
 * under CPU contention (or a later slew of the system clock) leaves it off by a millisecond or more.
 * So anchor it ourselves: spin until Date.now() ticks over to a new millisecond and read the monotonic
 * clock at that edge; the tightest of several edges gives the offset to ~µs. Recalibrating periodically
 * follows the system clock if chrony slews it.
 */
import type { Clock } from "../common/clock.js";

export interface CalibratedClock extends Clock {
  /** Re-anchor to the system clock now (spins up to ~1 ms per attempt). */
  calibrate(): void;
  /** Stop the periodic recalibration timer. */
  stop(): void;
}

/** Offset (ms) to add to performance.now() to get Unix time, from the tightest of `attempts` Date.now() edges. */
export function measureAnchor(attempts = 5): number {
  let best = { window: Number.POSITIVE_INFINITY, anchor: performance.timeOrigin };
  for (let i = 0; i < attempts; i++) {
    const start = Date.now();
    let before = performance.now();
    let wall = Date.now();
    while (wall === start) {
      before = performance.now();
      wall = Date.now();
    }
    const after = performance.now();
    // The tick from `start` to `wall` (= wall ms exactly) happened between `before` and `after`.
    const window = after - before;
    if (window < best.window) best = { window, anchor: wall - (before + after) / 2 };
  }
  return best.anchor;
}

export function calibratedRealtimeClock(options: { recalibrateMs?: number } = {}): CalibratedClock {
  let anchor = measureAnchor();
  const timer = setInterval(() => (anchor = measureAnchor()), options.recalibrateMs ?? 10_000);
  timer.unref();
  return {
    now: () => anchor + performance.now(),
    calibrate: () => {
      anchor = measureAnchor();
    },
    stop: () => clearInterval(timer),
  };
}
