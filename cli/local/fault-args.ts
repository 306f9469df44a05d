/**
 * Option parsers for a chaos fault's values, shared by `meridian drill …` (on a fresh estate) and
 * `meridian chaos …` (on a running one): a bad value is a UserError naming the flag (exit 2), before
 * anything starts or is asked of an estate. The bounds are the chaos toolkit's (runtime/local/chaos.ts).
 */
import { UserError } from "../errors.js";

/** How long a fault lasts before it reverts by itself: (0, 600] s. */
export function faultSeconds(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || n <= 0 || n > 600) throw new UserError(`--duration: expected seconds (0-600], got "${value}"`);
  return n;
}

export function millis(flag: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new UserError(`${flag}: expected whole milliseconds ${min}-${max}, got "${value}"`);
    return n;
  };
}

/** A share of new connections to drop: (0, 1]. */
export function share(value: string): number {
  const n = Number(value);
  if (!/^(0(\.\d+)?|1(\.0+)?|\.\d+)$/.test(value) || n <= 0 || n > 1) throw new UserError(`--loss: expected a share of connections in (0, 1], got "${value}"`);
  return n;
}

/** A clock offset: whole ms, not 0, within ±1 h. */
export function skewMillis(value: string): number {
  const n = Number(value);
  if (!/^[+-]?\d+$/.test(value) || n === 0 || Math.abs(n) > 3_600_000) throw new UserError(`--skew-ms: expected whole milliseconds, not 0, within ±3600000, got "${value}"`);
  return n;
}
