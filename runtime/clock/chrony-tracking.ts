/**
 * chrony's tracking report (`chronyc -c tracking`) and a ClockBound-style status from it. Pure.
 *
 * The CSV has the 13 lines of `chronyc tracking` as 14 fields (the reference ID splits into the hex ID and
 * the name), in chronyc's order (chronyc(1), "tracking"): reference ID, reference name, stratum, ref time
 * (Unix seconds), system time (seconds; CSV keeps the sign: positive = the system clock is slow of NTP
 * time), last offset, RMS offset, frequency (ppm; positive = fast), residual frequency, skew (ppm), root
 * delay, root dispersion (seconds), update interval (seconds), leap status (Normal, Insert second,
 * Delete second, Not synchronised).
 *
 * The error bound is AWS ClockBound's: |system time| + root delay / 2 + root dispersion, growing by the
 * maximum drift rate for the time since the last update. Status:
 *  - SYNCHRONIZED: chrony is synchronised (leap status not "Not synchronised", stratum 1–15) and its last
 *    update is recent (younger than `staleAfterS`);
 *  - FREE_RUNNING: it was synchronised (a ref time exists) but is no longer, or its last update is stale —
 *    the bound keeps growing with drift;
 *  - DISRUPTED: never synchronised, or a ref time in the future (the clock stepped back, e.g. a VM restore):
 *    no bound can be given.
 */
const LEAP_STATUSES = ["Normal", "Insert second", "Delete second", "Not synchronised"] as const;
export type LeapStatus = (typeof LEAP_STATUSES)[number];

export interface Tracking {
  referenceId: string;
  referenceName: string;
  stratum: number;
  refTimeS: number;
  /** Positive: the system clock is slow of (behind) NTP time. */
  systemTimeS: number;
  lastOffsetS: number;
  rmsOffsetS: number;
  frequencyPpm: number;
  residualFrequencyPpm: number;
  skewPpm: number;
  rootDelayS: number;
  rootDispersionS: number;
  updateIntervalS: number;
  leapStatus: LeapStatus;
}

export class TrackingParseError extends Error {
  override name = "TrackingParseError";
}

const NUMERIC: [keyof Tracking, number][] = [
  ["stratum", 2],
  ["refTimeS", 3],
  ["systemTimeS", 4],
  ["lastOffsetS", 5],
  ["rmsOffsetS", 6],
  ["frequencyPpm", 7],
  ["residualFrequencyPpm", 8],
  ["skewPpm", 9],
  ["rootDelayS", 10],
  ["rootDispersionS", 11],
  ["updateIntervalS", 12],
];

export function parseTracking(csv: string): Tracking {
  const line = csv.trim();
  if (line.includes("\n")) throw new TrackingParseError("chronyc -c tracking: expected one line");
  const f = line.split(",");
  if (f.length !== 14) throw new TrackingParseError(`chronyc -c tracking: expected 14 fields, got ${f.length}`);
  if (!/^[0-9A-F]{8}$/.test(f[0]!)) throw new TrackingParseError(`chronyc -c tracking: reference ID "${f[0]!.slice(0, 32)}" is not 8 hex digits`);
  const out: Record<string, unknown> = { referenceId: f[0], referenceName: f[1] };
  for (const [key, i] of NUMERIC) {
    const v = f[i]!;
    const n = /^[+-]?\d+(\.\d+)?$/.test(v) ? Number(v) : Number.NaN;
    if (!Number.isFinite(n)) throw new TrackingParseError(`chronyc -c tracking: ${key} "${v.slice(0, 32)}" is not a number`);
    out[key] = n;
  }
  const stratum = out["stratum"] as number;
  if (!Number.isInteger(stratum) || stratum < 0 || stratum > 16) throw new TrackingParseError(`chronyc -c tracking: stratum ${stratum} is not 0–16`);
  for (const k of ["rmsOffsetS", "skewPpm", "rootDelayS", "rootDispersionS", "updateIntervalS", "refTimeS"] as const) {
    if ((out[k] as number) < 0) throw new TrackingParseError(`chronyc -c tracking: ${k} ${out[k] as number} is negative`);
  }
  const leap = f[13]!;
  if (!(LEAP_STATUSES as readonly string[]).includes(leap)) throw new TrackingParseError(`chronyc -c tracking: leap status "${leap.slice(0, 32)}" is not one of ${LEAP_STATUSES.join(", ")}`);
  out["leapStatus"] = leap;
  return out as unknown as Tracking;
}

export type ClockStatusKind = "SYNCHRONIZED" | "FREE_RUNNING" | "DISRUPTED";

export interface ClockBoundReading {
  status: ClockStatusKind;
  /** Reference − system clock (ms): positive when the system clock is behind. Null when DISRUPTED. */
  offsetMs: number | null;
  /** ClockBound's error bound (ms): how far the uncorrected system clock may be off; null when DISRUPTED. */
  errorBoundMs: number | null;
  /**
   * How far chrony's offset itself may be off (ms): root delay / 2 + root dispersion + drift since the last
   * update — the bound above without |system time|. What the skew monitor weighs the offset by; null when DISRUPTED.
   */
  offsetErrorMs: number | null;
  /**
   * How fast chrony's root dispersion grows from this report on (ppm): its skew + |residual frequency| + its
   * max clock error (chrony's `maxclockerror`, 1 ppm by default; reference.c get_root_dispersion), + chronyc's
   * rounding — what ε must grow by at least until the next read. The skew reaches 10⁶ ppm (1 ms per ms) while
   * chrony's samples disagree, e.g. just after a reference's dispersion jumps.
   */
  growthPpm: number;
  /** chrony's ref time (s since the epoch): which update this reading is from; 0 when never synchronised. */
  refTimeS: number;
  reason: string;
}

export interface ClockBoundOptions {
  /** Worst-case oscillator drift while not updated (ClockBound's max drift rate); default 15 ppm. */
  maxDriftPpm?: number;
  /** A last update older than this is stale (FREE_RUNNING); default 1024 s, chrony's maxpoll 10. */
  staleAfterS?: number;
}

/** chrony's `maxclockerror` default (ppm): the local oscillator's assumed error it adds to its skew. */
const CHRONY_MAX_CLOCK_ERROR_PPM = 1;
/** chronyc prints skew and residual frequency to 0.001 ppm: each may read up to half of that below chrony's value. */
const CHRONYC_ROUNDING_PPM = 0.001;

export function clockBound(t: Tracking, nowS: number, options: ClockBoundOptions = {}): ClockBoundReading {
  const maxDriftPpm = options.maxDriftPpm ?? 15;
  const staleAfterS = options.staleAfterS ?? 1024;
  const report = { growthPpm: t.skewPpm + Math.abs(t.residualFrequencyPpm) + CHRONY_MAX_CLOCK_ERROR_PPM + CHRONYC_ROUNDING_PPM, refTimeS: t.refTimeS };
  const disrupted = (reason: string): ClockBoundReading => ({ status: "DISRUPTED", offsetMs: null, errorBoundMs: null, offsetErrorMs: null, ...report, reason });
  if (t.refTimeS === 0) return disrupted("chrony has never synchronised (ref time 0)");
  const ageS = nowS - t.refTimeS;
  if (ageS < -1) return disrupted(`chrony's last update is ${(-ageS).toFixed(0)} s in the future: the clock stepped back`);
  const age = Math.max(0, ageS);
  const offsetErrorS = t.rootDelayS / 2 + t.rootDispersionS + (age * maxDriftPpm) / 1e6;
  const reading = { offsetMs: t.systemTimeS * 1000, errorBoundMs: (Math.abs(t.systemTimeS) + offsetErrorS) * 1000, offsetErrorMs: offsetErrorS * 1000, ...report };
  if (t.leapStatus === "Not synchronised" || t.stratum === 0 || t.stratum >= 16)
    return { status: "FREE_RUNNING", ...reading, reason: `chrony is not synchronised (last update ${age.toFixed(0)} s ago)` };
  if (age > staleAfterS) return { status: "FREE_RUNNING", ...reading, reason: `chrony's last update is ${age.toFixed(0)} s old, beyond ${staleAfterS} s` };
  return { status: "SYNCHRONIZED", ...reading, reason: `synchronised to ${t.referenceName || t.referenceId} at stratum ${t.stratum}` };
}
