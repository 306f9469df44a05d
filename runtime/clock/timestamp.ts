/**
 * HLC timestamps: a wall time in integer microseconds since the Unix epoch plus a logical counter, ordered
 * lexicographically (wall, then logical) as CockroachDB's `hlc.Timestamp`. Microseconds keep every wall
 * time an exact JavaScript integer (< 2^53) while staying finer than any clock Meridian reads.
 * Text form `<wall>.<logical>` (e.g. `1732412345123456.3`) is what every propagation helper carries.
 */
export interface Timestamp {
  /** Integer microseconds since the Unix epoch. */
  readonly wall: number;
  /** Logical counter: orders events that share a wall time. */
  readonly logical: number;
}

/** CockroachDB's logical counter is an int32; the HLC advances the wall time instead of passing it. */
export const MAX_LOGICAL = 2 ** 31 - 1;

export const ZERO: Timestamp = Object.freeze({ wall: 0, logical: 0 });

export function compare(a: Timestamp, b: Timestamp): number {
  return a.wall !== b.wall ? a.wall - b.wall : a.logical - b.logical;
}
export const less = (a: Timestamp, b: Timestamp): boolean => compare(a, b) < 0;
export const lessEq = (a: Timestamp, b: Timestamp): boolean => compare(a, b) <= 0;
export const max = (a: Timestamp, b: Timestamp): Timestamp => (compare(a, b) >= 0 ? a : b);

/** The next timestamp after `t` (same wall, logical + 1). */
export const next = (t: Timestamp): Timestamp => ({ wall: t.wall, logical: t.logical + 1 });

/** `t` moved by `micros` of wall time with the logical counter reset (used for staleness bounds). */
export const addMicros = (t: Timestamp, micros: number): Timestamp => ({ wall: t.wall + micros, logical: 0 });

/** Microseconds from a millisecond reading, as every Meridian Clock reports. */
export const microsFromMs = (ms: number): number => Math.round(ms * 1000);

export function format(t: Timestamp): string {
  return `${t.wall}.${t.logical}`;
}

const TEXT = /^(\d{1,16})\.(\d{1,10})$/;

export class TimestampParseError extends Error {
  override name = "TimestampParseError";
}

/** Parse `<wall>.<logical>`; anything else is rejected with a message naming the input. */
export function parse(text: string): Timestamp {
  const m = TEXT.exec(text.trim());
  if (m === null) throw new TimestampParseError(`invalid HLC timestamp "${text.slice(0, 64)}"; expected <wall micros>.<logical>, e.g. 1732412345123456.0`);
  const wall = Number(m[1]);
  const logical = Number(m[2]);
  if (!Number.isSafeInteger(wall) || !Number.isSafeInteger(logical)) throw new TimestampParseError(`HLC timestamp "${text}" is out of range`);
  if (logical > MAX_LOGICAL) throw new TimestampParseError(`HLC timestamp "${text}": logical ${logical} is above the int32 maximum ${MAX_LOGICAL}`);
  return { wall, logical };
}
