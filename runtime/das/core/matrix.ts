/**
 * Small dense matrices over GF(2^8), rows of Uint8Array: the Vandermonde construction, products, and inversion by
 * Gauss–Jordan elimination. Sizes are at most 256×256, so clarity wins over blocking tricks.
 */
import { inv, mul, pow } from "./gf256.js";

export type Matrix = Uint8Array[];

function zeros(rows: number, cols: number): Matrix {
  return Array.from({ length: rows }, () => new Uint8Array(cols));
}

function identity(size: number): Matrix {
  const m = zeros(size, size);
  for (let i = 0; i < size; i++) m[i]![i] = 1;
  return m;
}

/** V[r][c] = r^c: any `cols` of its rows form a square Vandermonde matrix on distinct points, hence invertible. */
export function vandermonde(rows: number, cols: number): Matrix {
  const m = zeros(rows, cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) m[r]![c] = pow(r, c);
  return m;
}

export function multiply(a: Matrix, b: Matrix): Matrix {
  const cols = b[0]?.length ?? 0;
  const inner = b.length;
  return a.map((row) => {
    if (row.length !== inner) throw new RangeError(`matrix shapes do not match: ${row.length} columns × ${inner} rows`);
    const out = new Uint8Array(cols);
    for (let c = 0; c < cols; c++) {
      let acc = 0;
      for (let k = 0; k < inner; k++) acc ^= mul(row[k]!, b[k]![c]!);
      out[c] = acc;
    }
    return out;
  });
}

class SingularMatrixError extends Error {
  override name = "SingularMatrixError";
}

/** The inverse of a square matrix (Gauss–Jordan on [M | I]); throws SingularMatrixError if there is none. */
export function invert(m: Matrix): Matrix {
  const n = m.length;
  const a = m.map((row) => {
    if (row.length !== n) throw new RangeError(`cannot invert a ${n}×${row.length} matrix`);
    return Uint8Array.from(row);
  });
  const out = identity(n);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    while (pivot < n && a[pivot]![col] === 0) pivot++;
    if (pivot === n) throw new SingularMatrixError(`matrix is singular (no pivot in column ${col})`);
    if (pivot !== col) {
      [a[col], a[pivot]] = [a[pivot]!, a[col]!];
      [out[col], out[pivot]] = [out[pivot]!, out[col]!];
    }
    const scale = inv(a[col]![col]!);
    scaleRow(a[col]!, scale);
    scaleRow(out[col]!, scale);
    for (let r = 0; r < n; r++) {
      const f = a[r]![col]!;
      if (r === col || f === 0) continue;
      addScaledRow(a[r]!, a[col]!, f);
      addScaledRow(out[r]!, out[col]!, f);
    }
  }
  return out;
}

function scaleRow(row: Uint8Array, s: number): void {
  for (let i = 0; i < row.length; i++) row[i] = mul(row[i]!, s);
}

/** row ^= f·src */
function addScaledRow(row: Uint8Array, src: Uint8Array, f: number): void {
  for (let i = 0; i < row.length; i++) row[i]! ^= mul(src[i]!, f);
}
