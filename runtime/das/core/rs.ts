/**
 * Systematic Reed–Solomon erasure coding over GF(2^8): k data shards, n − k parity shards, and any k of the n
 * shards rebuild the rest. The encoding matrix is Backblaze's and klauspost/reedsolomon's: the n×k Vandermonde
 * matrix V[r][c] = r^c times the inverse of its top k×k square, so the top k rows are the identity (shard i < k is
 * data i verbatim) and every k×k choice of rows stays invertible (it is a Vandermonde square times an invertible
 * matrix) — the code is MDS. n ≤ 256 because the field has 256 distinct evaluation points.
 */
import { mulAddSlice } from "./gf256.js";
import { invert, multiply, vandermonde, type Matrix } from "./matrix.js";

export const MAX_SHARDS = 256;

export class ReedSolomon {
  /** The n×k encoding matrix; row i maps the k data shards to shard i. */
  readonly matrix: Matrix;

  constructor(
    readonly k: number,
    readonly n: number,
  ) {
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be an integer ≥ 1, got ${k}`);
    if (!Number.isInteger(n) || n < k) throw new RangeError(`n must be an integer ≥ k (${k}), got ${n}`);
    if (n > MAX_SHARDS) throw new RangeError(`n must be ≤ ${MAX_SHARDS} (GF(2^8) has 256 points), got ${n}`);
    const v = vandermonde(n, k);
    this.matrix = multiply(v, invert(v.slice(0, k)));
  }

  /** The n − k parity shards of k equal-length data shards. */
  encodeParity(data: readonly Uint8Array[]): Uint8Array[] {
    const size = this.checkData(data);
    return this.matrix.slice(this.k).map((row) => {
      const out = new Uint8Array(size);
      for (let c = 0; c < this.k; c++) mulAddSlice(row[c]!, data[c]!, out);
      return out;
    });
  }

  /** All n shards: the data shards themselves, then the parity. */
  encode(data: readonly Uint8Array[]): Uint8Array[] {
    return [...data, ...this.encodeParity(data)];
  }

  /**
   * The k data shards from any k present shards (`shards[i]` undefined = lost). Uses the first k present, so when
   * all data shards are there it only copies them.
   */
  reconstructData(shards: readonly (Uint8Array | undefined)[]): Uint8Array[] {
    if (shards.length !== this.n) throw new RangeError(`expected ${this.n} shard slots, got ${shards.length}`);
    const present: number[] = [];
    for (let i = 0; i < this.n && present.length < this.k; i++) if (shards[i]) present.push(i);
    if (present.length < this.k) throw new RangeError(`need ${this.k} shards to reconstruct, have ${present.length}`);
    const size = shards[present[0]!]!.length;
    for (const i of present) if (shards[i]!.length !== size) throw new RangeError(`shard ${i} is ${shards[i]!.length} bytes, expected ${size}`);
    if (present.every((idx, j) => idx === j)) return present.map((i) => shards[i]!);
    // Rows of the encoding matrix for the shards we have map data → those shards; the inverse maps them back.
    const decode = invert(present.map((i) => this.matrix[i]!));
    return decode.map((row) => {
      const out = new Uint8Array(size);
      present.forEach((idx, j) => mulAddSlice(row[j]!, shards[idx]!, out));
      return out;
    });
  }

  private checkData(data: readonly Uint8Array[]): number {
    if (data.length !== this.k) throw new RangeError(`expected ${this.k} data shards, got ${data.length}`);
    const size = data[0]!.length;
    data.forEach((d, i) => {
      if (d.length !== size) throw new RangeError(`data shard ${i} is ${d.length} bytes, expected ${size}`);
    });
    return size;
  }
}

/** Split a blob into k equal shards of ⌈len/k⌉ bytes (at least 1), zero-padding the last. */
export function splitIntoShards(blob: Uint8Array, k: number): Uint8Array[] {
  const size = Math.max(1, Math.ceil(blob.length / k));
  return Array.from({ length: k }, (_, i) => {
    const shard = new Uint8Array(size);
    shard.set(blob.subarray(Math.min(i * size, blob.length), Math.min((i + 1) * size, blob.length)));
    return shard;
  });
}

/** Concatenate data shards and drop the padding past the original length. */
export function joinShards(data: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const d of data) {
    if (at >= length) break;
    const take = d.subarray(0, Math.min(d.length, length - at));
    out.set(take, at);
    at += take.length;
  }
  if (at !== length) throw new RangeError(`shards hold ${at} bytes, expected ${length}`);
  return out;
}
