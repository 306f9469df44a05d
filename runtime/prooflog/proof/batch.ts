/**
 * Multi-leaf (batch) inclusion proofs for the RFC 6962 / RFC 9162 tree, with shared-path compression. A batch
 * proof for a set of leaf indices carries only the hashes a verifier cannot rebuild from the batch itself: the
 * hash of every maximal subtree (in the RFC's own recursion, splitting n at the largest power of two below it)
 * that holds none of the batch's leaves, in left-to-right order. Where single proofs of two leaves meet, each
 * would carry the other's side of their common ancestor — the batch carries neither, and carries the path above
 * it once. For one leaf the set of hashes is exactly its RFC 9162 inclusion proof (in a different order).
 *
 * The verifier walks the same recursion: subtrees holding batch leaves are rebuilt from the leaf hashes, the
 * others take the next proof hash, and the root must come out as trusted. The shape (sorted indices below the
 * tree size, one leaf hash per index, exactly the expected number of proof hashes) is checked before any hashing.
 */
import { type Hash, HASH_SIZE, hashEquals, nodeHash, toBase64 } from "../rfc6962.js";
import { rangeHash, split, type NodeReader } from "./generate.js";
import { ProofError } from "./verify.js";

function checkBatch(indices: readonly number[], size: number, fail: (m: string) => Error): void {
  if (!Number.isSafeInteger(size) || size < 1) throw fail(`tree size ${size} must be a positive integer`);
  if (indices.length === 0) throw fail("a batch proof needs at least one leaf index");
  indices.forEach((i, k) => {
    if (!Number.isSafeInteger(i) || i < 0 || i >= size) throw fail(`index ${i} must be an integer below tree size ${size}`);
    if (k > 0 && i <= indices[k - 1]!) throw fail(`indices must be strictly ascending: ${indices[k - 1]} then ${i}`);
  });
}

/**
 * Walk the RFC recursion over the subtrees that hold batch leaves, calling `empty` for each maximal subtree
 * holding none and `leaf` for each batch leaf, left to right; returns what `join` makes of the two halves.
 */
function walk<T>(indices: readonly number[], size: number, empty: (lo: number, n: number) => T, leaf: (k: number) => T, join: (l: T, r: T) => T): T {
  const rec = (lo: number, n: number, from: number, to: number): T => {
    if (from === to) return empty(lo, n);
    if (n === 1) return leaf(from);
    const k = split(n);
    let mid = from;
    while (mid < to && indices[mid]! < lo + k) mid++;
    return join(rec(lo, k, from, mid), rec(lo + k, n - k, mid, to));
  };
  return rec(0, size, 0, indices.length);
}

/** How many hashes the batch proof for these (sorted, distinct) indices in a tree of `size` holds. */
export function batchProofLength(indices: readonly number[], size: number): number {
  checkBatch(indices, size, (m) => new RangeError(m));
  return walk(
    indices,
    size,
    () => 1,
    () => 0,
    (l, r) => l + r,
  );
}

/** The batch inclusion proof for `indices` (strictly ascending) in the tree of `size` leaves. */
export function batchInclusionProof(indices: readonly number[], size: number, read: NodeReader): Hash[] {
  checkBatch(indices, size, (m) => new RangeError(m));
  const out: Hash[] = [];
  walk(
    indices,
    size,
    (lo, n) => void out.push(rangeHash(lo, lo + n, read)),
    () => undefined,
    () => undefined,
  );
  return out;
}

/** The root implied by a batch proof; throws ProofError on any shape error. */
function rootFromBatchProof(size: number, indices: readonly number[], leafHashes: readonly Hash[], proof: readonly Hash[]): Hash {
  checkBatch(indices, size, (m) => new ProofError(m));
  if (leafHashes.length !== indices.length) throw new ProofError(`${leafHashes.length} leaf hashes for ${indices.length} indices`);
  leafHashes.forEach((h, k) => {
    if (h.length !== HASH_SIZE) throw new ProofError(`leaf hash of index ${indices[k]} is ${h.length} bytes, expected ${HASH_SIZE}`);
  });
  const want = batchProofLength(indices, size);
  if (proof.length !== want) throw new ProofError(`wrong batch proof size ${proof.length}, expected ${want}`);
  proof.forEach((h, i) => {
    if (h.length !== HASH_SIZE) throw new ProofError(`proof hash ${i} is ${h.length} bytes, expected ${HASH_SIZE}`);
  });
  let next = 0;
  return walk(
    indices,
    size,
    () => proof[next++]!,
    (k) => leafHashes[k]!,
    nodeHash,
  );
}

/** Check that every leaf hash sits at its index in the tree of `size` leaves whose root is `root`. */
export function verifyBatchInclusion(size: number, indices: readonly number[], leafHashes: readonly Hash[], proof: readonly Hash[], root: Hash): void {
  const calculated = rootFromBatchProof(size, indices, leafHashes, proof);
  if (!hashEquals(calculated, root)) throw new ProofError(`root mismatch: batch proof yields ${toBase64(calculated)}, expected ${toBase64(root)}`);
}
