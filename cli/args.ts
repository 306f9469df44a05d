/** Option parsers shared by the commands: a bad value is a UserError naming the flag (exit 2). */
import { UserError } from "./errors.js";

/** A number in [min, max] (an integer when `integer`), for commander's option parser argument. */
export function numberArg(flag: string, min: number, max: number, integer = false): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new UserError(`${flag} ${value}: expected ${integer ? "an integer" : "a number"} from ${min} to ${max}`);
    }
    return n;
  };
}

/** A decimal integer ≥ min given as an option's string (no sign, no exponent). */
export function intArg(value: string, what: string, min = 0): number {
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < min) throw new UserError(`${what} "${value}" must be an integer ≥ ${min}`);
  return Number(value);
}
