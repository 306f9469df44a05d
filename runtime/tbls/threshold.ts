/**
 * (t, n) threshold BLS signatures on BLS12-381 in noble's short-signature mode (48-byte G1 signatures, 96-byte G2
 * public keys, the standard BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_ hash). A dealer shares a secret with
 * Feldman's verifiable secret sharing: it publishes commitments C_j = a_j·G2 to its polynomial's coefficients, so
 * C_0 is the group public key and each participant checks its share f(i) against f(i)·G2 = Σ_j i^j·C_j without
 * learning anything else. Participant i signs with f(i); any t partial signatures combine with Lagrange
 * coefficients at 0 into f(0)·H(m) — exactly the ordinary BLS signature of the group secret, so an unmodified BLS
 * verifier accepts it under the group key. t − 1 partials cannot: the combination lands on another point.
 *
 * Trust: the dealer knows the group secret (it is one party's key split for robustness). A dealer-free group key
 * comes from the DKG in dkg.ts (every participant deals, shares add up) — the same verification.
 */
import { createHash, randomBytes } from "node:crypto";
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { evaluate, Fr, lagrangeAtZero, randomScalar, scalarFromBytes, scalarToBytes } from "./shamir.js";

const bls = bls12_381.shortSignatures;
const G2 = bls12_381.G2.Point;
const G1 = bls12_381.G1.Point;

export class ThresholdError extends Error {
  override name = "ThresholdError";
}

export interface Share {
  /** 1..n */
  index: number;
  /** f(index) as a 32-byte big-endian scalar: this participant's BLS secret key. */
  secretKey: Uint8Array;
}

export interface Dealing {
  t: number;
  n: number;
  /** Feldman commitments a_j·G2 (96-byte compressed points), j = 0..t−1; the first is the group public key. */
  commitments: Uint8Array[];
  shares: Share[];
}

export interface PartialSignature {
  index: number;
  /** 48-byte G1 signature under the participant's share. */
  signature: Uint8Array;
}

function checkShape(t: number, n: number): void {
  if (!Number.isInteger(t) || t < 1) throw new ThresholdError(`threshold t must be an integer ≥ 1, got ${t}`);
  if (!Number.isInteger(n) || n < t || n > 1024) throw new ThresholdError(`n must be an integer in t..1024 (t = ${t}), got ${n}`);
}

/** Deal a fresh (or the given) group secret to n participants, any t of whom can sign. */
export function deal(t: number, n: number, groupSecret: bigint = randomScalar()): Dealing {
  checkShape(t, n);
  if (Fr.create(groupSecret) === 0n) throw new ThresholdError("the group secret must be non-zero");
  const coefficients = [Fr.create(groupSecret), ...Array.from({ length: t - 1 }, randomScalar)];
  return {
    t,
    n,
    commitments: coefficients.map((a) => G2.BASE.multiply(a).toBytes()),
    shares: Array.from({ length: n }, (_, k) => ({ index: k + 1, secretKey: scalarToBytes(evaluate(coefficients, BigInt(k + 1))) })),
  };
}

export function groupPublicKey(commitments: readonly Uint8Array[]): Uint8Array {
  if (commitments.length === 0) throw new ThresholdError("no commitments");
  return commitments[0]!;
}

type G2Point = ReturnType<typeof G2.fromBytes>;
type G1Point = ReturnType<typeof bls.hash>;

/**
 * Decoded G2 points and public key shares by their encoding: decoding a G2 point checks its subgroup, and a share's
 * key sums t of them — milliseconds each, for the same group keys every checkpoint (a pure function of the bytes, so
 * remembering the answer changes none). Bounded: the oldest entry goes first.
 */
const MEMO_MAX = 1024;
function memo<V>(cache: Map<string, V>, key: string, make: () => V): V {
  let v = cache.get(key);
  if (v === undefined) {
    v = make();
    if (cache.size >= MEMO_MAX) cache.delete(cache.keys().next().value!);
    cache.set(key, v);
  }
  return v;
}
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const g2Points = new Map<string, G2Point>();
const g2Point = (bytes: Uint8Array): G2Point => memo(g2Points, hex(bytes), () => G2.fromBytes(bytes));
const keyShares = new Map<string, G2Point>();

function publicKeySharePoint(commitments: readonly Uint8Array[], index: number): G2Point {
  return memo(keyShares, `${index}:${commitments.map(hex).join(":")}`, () => {
    let acc = G2.ZERO;
    let power = 1n;
    for (const c of commitments) {
      acc = acc.add(g2Point(c).multiplyUnsafe(power));
      power = Fr.mul(power, BigInt(index));
    }
    return acc;
  });
}

/** Participant i's public key share f(i)·G2 = Σ_j i^j·C_j, computed from the public commitments alone. */
export function publicKeyShare(commitments: readonly Uint8Array[], index: number): Uint8Array {
  return publicKeySharePoint(commitments, index).toBytes();
}

/** Feldman's check: does this share lie on the committed polynomial? */
export function verifyShare(commitments: readonly Uint8Array[], share: Share): boolean {
  const s = scalarFromBytes(share.secretKey);
  if (s === 0n) return false;
  return Buffer.from(G2.BASE.multiply(s).toBytes()).equals(Buffer.from(publicKeyShare(commitments, share.index)));
}

/** The message hashed to G1, the last one remembered: the combiner checks t or more partials of one message in a row. */
let lastHash: { message: Buffer; point: G1Point } | undefined;
function hashMessage(message: Uint8Array): G1Point {
  if (lastHash?.message.equals(message)) return lastHash.point;
  const point = bls.hash(message);
  lastHash = { message: Buffer.from(message), point };
  return point;
}

export function partialSign(message: Uint8Array, share: Share): PartialSignature {
  return { index: share.index, signature: bls.Signature.toBytes(bls.sign(hashMessage(message), share.secretKey)) };
}

/** A partial signature is an ordinary BLS signature under the participant's public key share. */
export function verifyPartial(message: Uint8Array, commitments: readonly Uint8Array[], partial: PartialSignature): boolean {
  try {
    return bls.verify(partial.signature, hashMessage(message), publicKeySharePoint(commitments, partial.index));
  } catch {
    return false;
  }
}

/**
 * verifyPartial for each of `partials`, as ONE pairing check when they all verify (the combiner's usual case): with
 * fresh random 128-bit r_k, e(Σ r_k·σ_k, G2) = e(H(m), Σ r_k·pk_k) holds when every σ_k is pk_k's signature, and, each
 * σ_k decoded into the prime-order subgroup, otherwise with probability at most 2^-128 (small-exponent batch
 * verification). A pairing check costs tens of ms in JavaScript; the rest here is cheap. When the batch fails, each
 * partial is checked alone, so the answer names exactly the ones that do not verify, as verifyPartial would.
 */
export function verifyPartials(message: Uint8Array, commitments: readonly Uint8Array[], partials: readonly PartialSignature[]): boolean[] {
  if (partials.length > 1) {
    try {
      let sig = G1.ZERO;
      let key = G2.ZERO;
      for (const p of partials) {
        const r = BigInt(`0x${randomBytes(16).toString("hex")}`) + 1n;
        sig = sig.add(bls.Signature.fromBytes(p.signature).multiply(r));
        key = key.add(publicKeySharePoint(commitments, p.index).multiply(r));
      }
      if (bls.verify(bls.Signature.toBytes(sig), hashMessage(message), key)) return partials.map(() => true);
    } catch {
      // A partial that does not decode (or an index with no key share): found below.
    }
  }
  return partials.map((p) => verifyPartial(message, commitments, p));
}

/** Combine exactly the given partials (at least t distinct indices) into the group signature: Σ λ_i·σ_i. */
export function combine(t: number, partials: readonly PartialSignature[]): Uint8Array {
  const indices = partials.map((p) => p.index);
  if (new Set(indices).size !== indices.length) throw new ThresholdError(`duplicate partial signatures from ${indices.join(", ")}`);
  if (partials.length < t) throw new ThresholdError(`need ${t} partial signatures, have ${partials.length} (${indices.join(", ") || "none"})`);
  return interpolate(partials.slice(0, t));
}

/** Lagrange combination at 0 of the partials given, with no threshold check (what t − 1 colluders could compute). */
export function interpolate(partials: readonly PartialSignature[]): Uint8Array {
  const lambdas = lagrangeAtZero(partials.map((p) => p.index));
  let acc = G1.ZERO;
  partials.forEach((p, k) => (acc = acc.add(bls.Signature.fromBytes(p.signature).multiply(lambdas[k]!))));
  return bls.Signature.toBytes(acc);
}

/**
 * Group signatures this process verified lately, by a hash of the key, signature and message: the same bytes verify
 * the same, and one process often checks one signature several times (meridian local's proof-log process: its three
 * witnesses, the monitor, the certificate issuer and follower each check every checkpoint's or certificate's group
 * signature, a pairing check of tens of ms each). Successes only (a refusal is checked again), the latest 1,024.
 */
const verifiedGroupSignatures = new Set<string>();
const VERIFIED_KEPT = 1024;
const verifiedKey = (message: Uint8Array, signature: Uint8Array, groupKey: Uint8Array) => {
  const h = createHash("sha256");
  for (const part of [groupKey, signature]) h.update(`${part.length}:`).update(part);
  return h.update(message).digest("base64");
};

/** Ordinary BLS verification of a (combined) signature under the group key. */
export function verifyGroupSignature(message: Uint8Array, signature: Uint8Array, groupKey: Uint8Array): boolean {
  const key = verifiedKey(message, signature, groupKey);
  if (verifiedGroupSignatures.has(key)) return true;
  let ok: boolean;
  try {
    ok = bls.verify(signature, hashMessage(message), g2Point(groupKey));
  } catch {
    ok = false;
  }
  if (ok) {
    verifiedGroupSignatures.add(key);
    if (verifiedGroupSignatures.size > VERIFIED_KEPT) verifiedGroupSignatures.delete(verifiedGroupSignatures.values().next().value!);
  }
  return ok;
}
