/**
 * Clock domain gateway (§12.1.1, §12.1.3): translation between physical, HLC and legacy timestamps at the
 * edge, with the uncertainty each carries.
 *
 * Into HLC. A timestamp of resolution r stands for the interval [t, t + r) — clocks truncate — widened by
 * the uncertainty its sender states (±u): [t − u, t + r + u]. It maps to the HLC timestamp of the interval's
 * latest end (logical 0): anything the gateway orders after it is then after every instant the event may
 * have happened at. Domains:
 *   physical   RFC 3339 with up to 9 fractional digits (`2026-12-02T17:19:04.123456Z`, any offset) — r from
 *              the digits given (1 s without any) — or Unix milliseconds (a number; r = 1 ms, 1 µs if fractional)
 *   legacy     HTTP-date (IMF-fixdate, `Wed, 02 Dec 2026 17:19:04 GMT`) or Unix seconds: r = 1 s
 *   hlc        `<wall>.<logical>` (optionally `@<epoch>`): exact, checked against the clock's epoch
 * Refused, never clamped: a latest end more than max offset ahead of this clock (it would drag every HLC past
 * it, as `updateAndCheckMaxOffset` refuses), an interval wider than ±maxUncertaintyMs (it cannot be ordered
 * against HLC timestamps), a value before 1970 or beyond what microseconds hold exactly, a leap second 60.
 *
 * Out of HLC (legacy clients): the wall time as Unix µs/ms/s, RFC 3339 with microseconds and HTTP-date; the
 * logical counter and epoch have no legacy form, so they are given beside it.
 */
import { isoRenderer } from "./iso-render.js";
import { format, type Timestamp } from "./timestamp.js";

/** Inbound: a physical or legacy timestamp a request carries (RFC 3339 or HTTP-date). Outbound: the response's HLC as RFC 3339. */
export const TIME_HEADER = "x-meridian-time";
/** Inbound: the sender's own uncertainty (± ms) for `x-meridian-time`. */
export const TIME_UNCERTAINTY_HEADER = "x-meridian-time-uncertainty-ms";

/** The input does not parse as a timestamp of its domain (answered 400). */
export class TimeInputError extends Error {
  override name = "TimeInputError";
}

/** A well-formed timestamp outside the gateway's bound (answered 409). */
export class TimeOutOfBoundError extends Error {
  override name = "TimeOutOfBoundError";
}

export interface Interval {
  earliestMicros: number;
  latestMicros: number;
}

export interface GatewayBounds {
  /** This clock's physical reading (µs). */
  nowMicros: number;
  maxOffsetMicros: number;
  /** The widest half-interval accepted (µs). */
  maxUncertaintyMicros: number;
}

export interface IntoHlc {
  hlc: Timestamp;
  earliest: Timestamp;
  latest: Timestamp;
  /** Half the interval's width (ms). */
  uncertaintyMs: number;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;
const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
/** The largest wall time (µs) kept exact; ≈ year 2255. */
const MAX_WALL = Number.MAX_SAFE_INTEGER;
const MAX_STATED_UNCERTAINTY_MS = 86_400_000;

const quote = (v: unknown) => JSON.stringify(typeof v === "string" ? v.slice(0, 64) : v);

function utcMicros(year: number, month: number, day: number, h: number, m: number, s: number, what: string): number {
  if (s === 60) throw new TimeInputError(`${what}: leap second :60 has no HLC wall time (smeared and stepped clocks disagree on it); send :59.999999 or the next second`);
  const ms = Date.UTC(year, month - 1, day, h, m, s);
  const d = new Date(ms);
  if (month < 1 || month > 12 || h > 23 || m > 59 || s > 59 || d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day)
    throw new TimeInputError(`${what}: no such date or time`);
  return ms * 1000;
}

function checkWall(micros: number, what: string): number {
  if (!Number.isSafeInteger(micros)) throw new TimeInputError(`${what}: beyond the range an HLC wall time holds exactly (µs below 2^53)`);
  if (micros < 0) throw new TimeInputError(`${what}: before 1970-01-01, which HLC wall times cannot express`);
  return micros;
}

/** RFC 3339 text → [t, t + resolution] in µs. */
export function parseRfc3339(text: string): { micros: number; resolutionMicros: number } {
  const what = `RFC 3339 timestamp ${quote(text)}`;
  const m = RFC3339.exec(text.trim());
  if (m === null) throw new TimeInputError(`${what}: expected YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM), e.g. 2026-12-02T17:19:04.123456Z`);
  let micros = utcMicros(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), what);
  const fraction = m[7] ?? "";
  micros += Number(fraction.slice(0, 6).padEnd(6, "0"));
  const zone = m[8]!;
  if (zone !== "Z" && zone !== "z") {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) throw new TimeInputError(`${what}: offset ${zone} is not a UTC offset`);
    micros -= (zone[0] === "-" ? -1 : 1) * (oh * 60 + om) * 60_000_000;
  }
  const resolutionMicros = fraction.length >= 6 ? 1 : 10 ** (6 - fraction.length);
  return { micros: checkWall(micros, what), resolutionMicros };
}

/** HTTP-date (IMF-fixdate, RFC 9110 §5.6.7) → whole seconds in µs. */
export function parseHttpDate(text: string): number {
  const what = `HTTP-date ${quote(text)}`;
  const m = IMF_FIXDATE.exec(text.trim());
  if (m === null) throw new TimeInputError(`${what}: expected IMF-fixdate, e.g. Wed, 02 Dec 2026 17:19:04 GMT`);
  const micros = utcMicros(Number(m[4]), MONTHS.indexOf(m[3]!) + 1, Number(m[2]), Number(m[5]), Number(m[6]), Number(m[7]), what);
  if (DAYS[new Date(micros / 1000).getUTCDay()] !== m[1]) throw new TimeInputError(`${what}: ${m[2]} ${m[3]} ${m[4]} is not a ${m[1]}`);
  return checkWall(micros, what);
}

function statedUncertainty(ms: number | undefined): number {
  if (ms === undefined) return 0;
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_STATED_UNCERTAINTY_MS)
    throw new TimeInputError(`uncertainty ${quote(ms)} ms: expected a number of milliseconds from 0 to ${MAX_STATED_UNCERTAINTY_MS}`);
  return Math.round(ms * 1000);
}

/** A physical timestamp (RFC 3339 text, or Unix milliseconds) with the sender's stated ± uncertainty → its interval (µs). */
export function physicalInterval(value: string | number, uncertaintyMs?: number): Interval {
  const u = statedUncertainty(uncertaintyMs);
  let micros: number;
  let resolution: number;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TimeInputError(`Unix milliseconds ${quote(value)}: not a finite number`);
    micros = checkWall(Math.round(value * 1000), `Unix milliseconds ${value}`);
    resolution = Number.isInteger(value) ? 1000 : 1;
  } else {
    ({ micros, resolutionMicros: resolution } = parseRfc3339(value));
  }
  return { earliestMicros: Math.max(0, micros - u), latestMicros: micros + resolution + u };
}

/** A legacy timestamp (HTTP-date text, or Unix seconds) with the sender's stated ± uncertainty → its interval (µs). */
export function legacyInterval(value: string | number, uncertaintyMs?: number): Interval {
  const u = statedUncertainty(uncertaintyMs);
  let micros: number;
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new TimeInputError(`Unix seconds ${quote(value)}: legacy timestamps are whole seconds (send fractions as physical Unix milliseconds)`);
    micros = checkWall(value * 1_000_000, `Unix seconds ${value}`);
  } else {
    micros = parseHttpDate(value);
  }
  return { earliestMicros: Math.max(0, micros - u), latestMicros: micros + 1_000_000 + u };
}

/** What a request's `x-meridian-time` header holds: RFC 3339 (physical) or HTTP-date (legacy). */
export function headerInterval(text: string, uncertaintyText: string | undefined): Interval {
  let u: number | undefined;
  if (uncertaintyText !== undefined) {
    if (!/^\d{1,9}(\.\d{1,6})?$/.test(uncertaintyText.trim())) throw new TimeInputError(`${TIME_UNCERTAINTY_HEADER} ${quote(uncertaintyText)}: expected milliseconds, e.g. 12.5`);
    u = Number(uncertaintyText);
  }
  return IMF_FIXDATE.test(text.trim()) ? legacyInterval(text, u) : physicalInterval(text, u);
}

/** Map an interval into HLC, refusing it outside the bound (TimeOutOfBoundError naming which). */
export function intoHlc(interval: Interval, b: GatewayBounds, what: string): IntoHlc {
  const half = (interval.latestMicros - interval.earliestMicros) / 2;
  if (half > b.maxUncertaintyMicros) {
    throw new TimeOutOfBoundError(`${what}: uncertainty ±${ms(half)} exceeds the gateway's bound of ±${ms(b.maxUncertaintyMicros)}: it cannot be ordered against HLC timestamps`);
  }
  const ahead = interval.latestMicros - b.nowMicros;
  if (ahead > b.maxOffsetMicros) {
    throw new TimeOutOfBoundError(
      `${what}: its latest possible instant is ${ms(ahead)} ahead of this clock, beyond the max offset of ${ms(b.maxOffsetMicros)}: refused, it would drag every HLC past it`,
    );
  }
  if (interval.latestMicros > MAX_WALL) throw new TimeInputError(`${what}: beyond the range an HLC wall time holds exactly`);
  return {
    hlc: { wall: interval.latestMicros, logical: 0 },
    earliest: { wall: interval.earliestMicros, logical: 0 },
    latest: { wall: interval.latestMicros, logical: 0 },
    uncertaintyMs: half / 1000,
  };
}

/** RFC 3339 with microseconds, UTC, from wall-clock microseconds. */
export const rfc3339Micros = isoRenderer(6);

/** An HLC timestamp as legacy systems read time. */
export function renderHlc(t: Timestamp, epoch: number) {
  return {
    hlc: format(t),
    epoch,
    logical: t.logical,
    unixMicros: t.wall,
    unixMs: t.wall / 1000,
    unixSeconds: Math.floor(t.wall / 1_000_000),
    rfc3339: rfc3339Micros(t.wall),
    httpDate: new Date(Math.floor(t.wall / 1000)).toUTCString(),
  };
}

const ms = (micros: number) => `${Number((micros / 1000).toFixed(3))} ms`;
