/**
 * A coarse clock for the fast path: reading the system clock costs more than the O(1) reservation it
 * timestamps, so this clock caches the time and refreshes it on a timer every `resolutionMs` (as nginx
 * caches its time per event-loop turn). Reservation TTLs are seconds to minutes; a timestamp a
 * millisecond or two old changes nothing. The timer is unref'd and never keeps a process alive.
 */
import type { Clock } from "../common/clock.js";

export interface CoarseClock extends Clock {
  stop(): void;
}

export function coarseClock(base: Clock, resolutionMs = 1): CoarseClock {
  let now = base.now();
  const timer = setInterval(() => (now = base.now()), resolutionMs);
  timer.unref();
  return {
    // Never behind the base by more than the resolution, and never running backwards.
    now: () => now,
    stop: () => clearInterval(timer),
  };
}
