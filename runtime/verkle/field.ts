/**
 * The scalar field Fr of BLS12-381 and what the tree maps into it: evaluation domains of roots of unity (the
 * consensus specs' primitive root 7), and hashing of bytes into Fr with a domain tag per use so that a value, an
 * inner node and a leaf can never stand for one another.
 */
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { bytesToNumberBE } from "@noble/curves/utils.js";

export const Fr = bls12_381.fields.Fr;
const PRIMITIVE_ROOT = 7n;

/** The n-th roots of unity ω^0 … ω^(n-1) in natural order (n a power of two dividing 2^32). */
export function rootsOfUnity(n: number): bigint[] {
  const w = Fr.pow(PRIMITIVE_ROOT, (Fr.ORDER - 1n) / BigInt(n));
  const out: bigint[] = [Fr.ONE];
  for (let i = 1; i < n; i++) out.push(Fr.mul(out[i - 1]!, w));
  return out;
}

/** The bit-reversal permutation of a power-of-two-length array (EIP-4844 orders its domain this way). */
export function bitReversed<T>(xs: readonly T[]): T[] {
  const bits = Math.log2(xs.length);
  return xs.map((_, i) => xs[parseInt(i.toString(2).padStart(bits, "0").split("").reverse().join(""), 2)]!);
}

const encoder = new TextEncoder();

/** sha512(tag ‖ parts) reduced mod r: near-uniform in Fr, separated by tag. */
export function hashToField(tag: string, ...parts: Uint8Array[]): bigint {
  const h = sha512.create().update(encoder.encode(`meridian/verkle/${tag}\0`));
  for (const p of parts) h.update(p);
  return Fr.create(bytesToNumberBE(h.digest()));
}

/** A 32-byte big-endian scalar, refusing values ≥ r (the specs' bytes_to_bls_field). */
export function scalarFromBytes(b: Uint8Array, what: string): bigint {
  if (b.length !== 32) throw new RangeError(`${what} is ${b.length} bytes; expected 32`);
  const x = bytesToNumberBE(b);
  if (x >= Fr.ORDER) throw new RangeError(`${what} is not below the BLS12-381 scalar modulus`);
  return x;
}

export function scalarToBytes(x: bigint): Uint8Array {
  return Uint8Array.from(Buffer.from(x.toString(16).padStart(64, "0"), "hex"));
}
