/**
 * KZG commitments to vectors in evaluation form (the form EIP-4844 and Verkle trees use): a vector v over a domain
 * of roots of unity is the polynomial p with p(ω_i) = v_i, committed as [p(τ)]G1 = Σ v_i·[L_i(τ)]G1. An opening
 * at z is y = p(z) and the quotient commitment π = [(p(τ) − y)/(τ − z)]G1, checked with one pairing equation.
 */
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { pippenger } from "@noble/curves/abstract/curve.js";
import { Fr, scalarFromBytes } from "./field.js";
import { basisPrecomputed, G1, G2, tauG2, WIDTH, type Domain, type G1Point } from "./setup.js";
import { VerkleError } from "./errors.js";

/**
 * Up to this many terms, multiply point by point: cheaper than Pippenger's buckets, and with the basis's window
 * tables cheaper at any count up to the width (measured: 256 terms ~140 ms against ~170 ms for Pippenger).
 */
const fewTerms = (domain: Domain) => (domain.n === WIDTH && basisPrecomputed() ? WIDTH : 2);

/** Σ v_i·[L_i(τ)] over the non-zero entries (Pippenger when there are many). */
export function commit(domain: Domain, evals: readonly bigint[]): G1Point {
  const terms: [number, bigint][] = [];
  evals.forEach((v, i) => v !== 0n && terms.push([i, v]));
  return commitSparse(domain, terms);
}

/** Σ v·[L_i(τ)] over the given [i, v] terms: a vector given by its non-zero entries only. */
export function commitSparse(domain: Domain, terms: readonly (readonly [number, bigint])[]): G1Point {
  const live = terms.filter(([, v]) => v !== 0n);
  if (live.length <= fewTerms(domain)) return live.reduce((acc, [i, v]) => acc.add(domain.lagrange[i]!.multiplyUnsafe(v)), G1.ZERO);
  return pippenger(
    G1,
    live.map(([i]) => domain.lagrange[i]!),
    live.map(([, v]) => v),
  );
}

/** p(z) for the polynomial with p(ω_i) = evals[i]: a lookup inside the domain, the barycentric formula outside. */
function evaluate(domain: Domain, evals: readonly bigint[], z: bigint): bigint {
  const at = domain.indexOf.get(z);
  if (at !== undefined) return evals[at]!;
  const inv = Fr.invertBatch(domain.roots.map((w) => Fr.sub(z, w)));
  let sum = Fr.ZERO;
  for (let i = 0; i < domain.n; i++) if (evals[i] !== 0n) sum = Fr.add(sum, Fr.mul(Fr.mul(evals[i]!, domain.roots[i]!), inv[i]!));
  const n = BigInt(domain.n);
  return Fr.mul(sum, Fr.div(Fr.sub(Fr.pow(z, n), Fr.ONE), n));
}

/** The evaluations of q(X) = (p(X) − y)/(X − z); inside the domain the one undefined entry uses L'Hôpital's form. */
export function quotient(domain: Domain, evals: readonly bigint[], z: bigint, y: bigint): bigint[] {
  const at = domain.indexOf.get(z);
  const inv = Fr.invertBatch(domain.roots.map((w, i) => (i === at ? Fr.ONE : Fr.sub(w, z))));
  const q = evals.map((v, i) => (i === at ? Fr.ZERO : Fr.mul(Fr.sub(v, y), inv[i]!)));
  if (at !== undefined) {
    // q(z) = Σ_{i≠m} (v_i − y)·ω_i / (z·(z − ω_i)) = Σ_{i≠m} −q_i·ω_i / z
    let sum = Fr.ZERO;
    for (let i = 0; i < domain.n; i++) if (i !== at) sum = Fr.sub(sum, Fr.mul(q[i]!, domain.roots[i]!));
    q[at] = Fr.div(sum, z);
  }
  return q;
}

export interface Opening {
  y: bigint;
  proof: G1Point;
}

/** Open the committed vector at z (any field element). */
export function open(domain: Domain, evals: readonly bigint[], z: bigint): Opening {
  const y = evaluate(domain, evals, z);
  return { y, proof: commit(domain, quotient(domain, evals, z, y)) };
}

const Fp12 = bls12_381.fields.Fp12;

/** e(C − [y]G1, −G2) · e(π, [τ − z]G2) = 1, i.e. p(τ) − y = q(τ)·(τ − z). Identity points contribute 1. */
export function verifyOpening(commitment: G1Point, z: bigint, y: bigint, proof: G1Point): boolean {
  const lhs = commitment.subtract(G1.BASE.multiplyUnsafe(y));
  const rhs = tauG2().subtract(G2.BASE.multiplyUnsafe(z));
  const pairs = [
    { g1: lhs, g2: G2.BASE.negate() },
    { g1: proof, g2: rhs },
  ].filter((p) => !p.g1.is0() && !p.g2.is0());
  return Fp12.eql(bls12_381.pairingBatch(pairs), Fp12.ONE);
}

/** A compressed G1 point (48 bytes), validated: on the curve and in the prime-order subgroup. */
export function g1FromBytes(b: Uint8Array, what: string): G1Point {
  if (b.length !== 48) throw new VerkleError(`${what} is ${b.length} bytes; expected a 48-byte compressed G1 point`);
  try {
    return G1.fromBytes(b);
  } catch (e) {
    throw new VerkleError(`${what} is not a valid G1 point (${(e as Error).message})`);
  }
}

function scalar(b: Uint8Array, what: string): bigint {
  try {
    return scalarFromBytes(b, what);
  } catch (e) {
    throw new VerkleError((e as Error).message);
  }
}

/**
 * The consensus specs' verify_kzg_proof on bytes: true/false for well-formed input, VerkleError when a point or
 * scalar is malformed (the reference vectors' `output: null`).
 */
export function verifyKzgProof(commitment: Uint8Array, z: Uint8Array, y: Uint8Array, proof: Uint8Array): boolean {
  return verifyOpening(g1FromBytes(commitment, "commitment"), scalar(z, "z"), scalar(y, "y"), g1FromBytes(proof, "proof"));
}
