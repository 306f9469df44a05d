/**
 * Shamir secret sharing over the BLS12-381 scalar field Fr: a secret is f(0) of a random polynomial of degree t − 1,
 * participant i (1-based) holds f(i), and any t shares give f(0) back by Lagrange interpolation at 0 while t − 1
 * shares say nothing about it. Indices are field elements 1..n; 0 is the secret's own point and never a share.
 */
import { bls12_381 } from "@noble/curves/bls12-381.js";

export const Fr = bls12_381.fields.Fr;

/** A uniformly random non-zero scalar (noble's secret-key generator: hash-to-field reduction of 48 random bytes). */
export function randomScalar(): bigint {
  return scalarFromBytes(bls12_381.utils.randomSecretKey());
}

export function scalarFromBytes(b: Uint8Array): bigint {
  return Fr.create(BigInt(`0x${Buffer.from(b).toString("hex") || "0"}`));
}

/** A scalar as the 32-byte big-endian secret key noble's BLS functions take. */
export function scalarToBytes(x: bigint): Uint8Array {
  return Buffer.from(Fr.create(x).toString(16).padStart(64, "0"), "hex");
}

/** f(x) for coefficients [a0, a1, …] (Horner). */
export function evaluate(coefficients: readonly bigint[], x: bigint): bigint {
  let acc = 0n;
  for (let j = coefficients.length - 1; j >= 0; j--) acc = Fr.add(Fr.mul(acc, x), coefficients[j]!);
  return acc;
}

/** Lagrange basis coefficients at x = 0 for the given distinct non-zero indices: f(0) = Σ λ_i · f(i). */
export function lagrangeAtZero(indices: readonly number[]): bigint[] {
  if (new Set(indices).size !== indices.length) throw new RangeError(`share indices must be distinct, got ${indices.join(", ")}`);
  return indices.map((i) => {
    let num = 1n;
    let den = 1n;
    for (const j of indices) {
      if (j === i) continue;
      num = Fr.mul(num, BigInt(j)); // (0 − j) / (i − j) = j / (j − i)
      den = Fr.mul(den, Fr.sub(BigInt(j), BigInt(i)));
    }
    return Fr.div(num, den);
  });
}
