/**
 * Arithmetic in GF(2^8) with the field polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11d) and generator 2 — the field of
 * Backblaze's JavaReedSolomon and klauspost/reedsolomon, so our parity bytes equal theirs. Addition is XOR;
 * multiplication goes through log/exp tables, and a full 256×256 product table serves the byte loops, where one
 * coefficient's row turns `out ^= c·in` into one lookup per byte.
 */

const FIELD_POLYNOMIAL = 0x11d;

/** EXP[i] = 2^i for i in 0..509 (doubled so EXP[LOG[a] + LOG[b]] needs no reduction mod 255). */
export const EXP = new Uint8Array(510);
/** LOG[a] = i with 2^i = a, for a ≠ 0; LOG[0] is unused (0 has no logarithm). */
export const LOG = new Uint8Array(256);

{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    EXP[i + 255] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= FIELD_POLYNOMIAL;
  }
}

export function mul(a: number, b: number): number {
  return a === 0 || b === 0 ? 0 : EXP[LOG[a]! + LOG[b]!]!;
}

export function inv(a: number): number {
  if (a === 0) throw new RangeError("0 has no inverse in GF(2^8)");
  return EXP[255 - LOG[a]!]!;
}

/** a^n, with 0^0 = 1 (the convention the Vandermonde matrix needs for its first column). */
export function pow(a: number, n: number): number {
  if (n === 0) return 1;
  if (a === 0) return 0;
  return EXP[(LOG[a]! * n) % 255]!;
}

/** MUL_TABLE[c·256 + x] = c·x: row c is the multiply-by-c table of the coding loops. */
export const MUL_TABLE = new Uint8Array(256 * 256);
for (let c = 1; c < 256; c++) for (let x = 1; x < 256; x++) MUL_TABLE[c * 256 + x] = mul(c, x);

/** out ^= c·input, byte by byte (the inner loop of encoding and decoding). */
export function mulAddSlice(c: number, input: Uint8Array, out: Uint8Array): void {
  if (c === 0) return;
  const n = Math.min(input.length, out.length);
  if (c === 1) {
    for (let i = 0; i < n; i++) out[i]! ^= input[i]!;
    return;
  }
  const row = MUL_TABLE.subarray(c * 256, c * 256 + 256);
  for (let i = 0; i < n; i++) out[i]! ^= row[input[i]!]!;
}
