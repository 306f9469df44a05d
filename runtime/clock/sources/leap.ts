/**
 * Leap seconds (§12.2.2): the NTP leap indicator for the day before a leap, and the 24-hour linear smear
 * (Google's public NTP: noon UTC the day before to noon UTC the day after) that hides the leap by
 * running every clock 11.6 ppm slow (or fast). Smeared and unsmeared time differ by up to a second
 * during the window — which is why a client must never mix smeared and unsmeared sources.
 */
export interface LeapSecond {
  /** Unix ms of the UTC midnight at which the leap takes effect (end of 23:59:59 or :60). */
  atMs: number;
  kind: "insert" | "delete";
}

export const SMEAR_WINDOW_MS = 86_400_000;

/** NTP leap indicator: 0 none, 1 last minute of the day has 61 s, 2 has 59 s (set during the whole day before). */
export function leapIndicator(trueMs: number, leap: LeapSecond | null): 0 | 1 | 2 {
  if (leap === null || trueMs >= leap.atMs || trueMs < leap.atMs - 86_400_000) return 0;
  return leap.kind === "insert" ? 1 : 2;
}

/**
 * The simulator's true time is a continuous atomic timeline on the Unix-ms scale of before the leap.
 * Unsmeared (POSIX) UTC steps at the leap: back a second for an insertion (23:59:59 repeats), forward
 * for a deletion.
 */
export function posix(trueMs: number, leap: LeapSecond | null): number {
  if (leap === null || trueMs < leap.atMs) return trueMs;
  return trueMs - (leap.kind === "insert" ? 1000 : -1000);
}

/**
 * Smeared UTC: over [at − 12 h, at + 12 h] of true time the leap is absorbed linearly, so smeared time
 * is continuous, never repeats, and equals POSIX UTC again once the window closes.
 */
export function smear(trueMs: number, leap: LeapSecond | null): number {
  if (leap === null) return trueMs;
  const start = leap.atMs - SMEAR_WINDOW_MS / 2;
  const progress = Math.min(1, Math.max(0, (trueMs - start) / SMEAR_WINDOW_MS));
  return trueMs - (leap.kind === "insert" ? 1 : -1) * progress * 1000;
}
