/**
 * Bit arithmetic on tree indices and sizes as bigint. Proof shapes are defined on uint64 (RFC 9162 and the
 * conformance vectors use sizes up to 2^64 - 1), which JavaScript numbers cannot hold exactly past 2^53, and
 * the bitwise operators on numbers truncate to 32 bits. Proof code therefore does its index math here.
 */
const U64_MAX = (1n << 64n) - 1n;

/** Number of bits needed to represent x (Go's bits.Len64). */
export function bitLen(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

/** Number of set bits (Go's bits.OnesCount64). */
export function onesCount(x: bigint): number {
  let n = 0;
  for (const c of x.toString(2)) if (c === "1") n++;
  return n;
}

/** Number of trailing zero bits; 64 for zero (Go's bits.TrailingZeros64). */
export function trailingZeros(x: bigint): number {
  if (x === 0n) return 64;
  let n = 0;
  while ((x & 1n) === 0n) {
    x >>= 1n;
    n++;
  }
  return n;
}

/** Accept a tree index or size as number or bigint; reject what no uint64 can be. */
export function toU64(x: number | bigint, what: string): bigint {
  if (typeof x === "number" && !Number.isSafeInteger(x)) throw new RangeError(`${what} ${x} is not an exact integer`);
  const v = BigInt(x);
  if (v < 0n || v > U64_MAX) throw new RangeError(`${what} ${v} is outside 0..2^64-1`);
  return v;
}
