/**
 * Proof verification (RFC 9162 §2.1.3.2 and §2.1.4.2, plus the subtree inclusion and subtree consistency proofs
 * of the Merkle Tree Certificates draft). Every function either returns normally or throws a ProofError saying
 * what is wrong; the shape checks (index bounds, exact proof length, subtree alignment) run before any hashing,
 * so a truncated, padded or reordered proof is rejected however its hashes look.
 *
 * Inclusion proofs are ordered bottom-up: first the "inner" siblings below the level where the paths to the leaf
 * and to the last leaf diverge (left or right depending on the index bit), then the "border" siblings, which are
 * always on the left.
 */
import { bitLen, onesCount, toU64, trailingZeros } from "../bits.js";
import { type Hash, HASH_SIZE, EMPTY_ROOT, hashEquals, nodeHash, toBase64 } from "../rfc6962.js";

export class ProofError extends Error {
  override name = "ProofError";
}

type Index = number | bigint;

function rootMismatch(what: string, calculated: Hash, expected: Hash): ProofError {
  return new ProofError(`${what} mismatch: proof yields ${toBase64(calculated)}, expected ${toBase64(expected)}`);
}

function checkHashes(proof: readonly Hash[]): void {
  proof.forEach((h, i) => {
    if (h.length !== HASH_SIZE) throw new ProofError(`proof hash ${i} is ${h.length} bytes, expected ${HASH_SIZE}`);
  });
}

/** Lengths of the inner and border parts of the inclusion proof for `index` in a tree of `size`. */
function decompInclProof(index: bigint, size: bigint): [inner: number, border: number] {
  const inner = bitLen(index ^ (size - 1n));
  return [inner, onesCount(index >> BigInt(inner))];
}

function chainInner(seed: Hash, proof: readonly Hash[], index: bigint): Hash {
  proof.forEach((h, i) => {
    seed = ((index >> BigInt(i)) & 1n) === 0n ? nodeHash(seed, h) : nodeHash(h, seed);
  });
  return seed;
}

/** Like chainInner but skips right siblings: rebuilds the earlier (smaller) version of the subtree. */
function chainInnerRight(seed: Hash, proof: readonly Hash[], index: bigint): Hash {
  proof.forEach((h, i) => {
    if (((index >> BigInt(i)) & 1n) === 1n) seed = nodeHash(h, seed);
  });
  return seed;
}

function chainBorderRight(seed: Hash, proof: readonly Hash[]): Hash {
  for (const h of proof) seed = nodeHash(h, seed);
  return seed;
}

/** The root implied by an inclusion proof; requires 0 ≤ index < size. */
function rootFromInclusionProof(index: Index, size: Index, leafHash: Hash, proof: readonly Hash[]): Hash {
  const i = toU64(index, "index");
  const n = toU64(size, "tree size");
  if (i >= n) throw new ProofError(`index ${i} is beyond tree size ${n}`);
  if (leafHash.length !== HASH_SIZE) throw new ProofError(`leaf hash is ${leafHash.length} bytes, expected ${HASH_SIZE}`);
  const [inner, border] = decompInclProof(i, n);
  if (proof.length !== inner + border) throw new ProofError(`wrong proof size ${proof.length}, expected ${inner + border}`);
  checkHashes(proof);
  return chainBorderRight(chainInner(leafHash, proof.slice(0, inner), i), proof.slice(inner));
}

export function verifyInclusion(index: Index, size: Index, leafHash: Hash, proof: readonly Hash[], root: Hash): void {
  const calculated = rootFromInclusionProof(index, size, leafHash, proof);
  if (!hashEquals(calculated, root)) throw rootMismatch("root", calculated, root);
}

/**
 * A subtree [start, end) is valid when it is a node of some Merkle tree: start is a multiple of the smallest power
 * of two ≥ end - start (start = 0 always qualifies). The empty subtree start = end is allowed where `allowEmpty`.
 */
export function checkSubtree(start: bigint, end: bigint, allowEmpty = false): void {
  if (start > end || (start === end && !allowEmpty)) throw new ProofError(`subtree [${start}, ${end}) is empty or reversed`);
  if (start === 0n || start === end) return;
  const width = end - start;
  const ceil = width <= 1n ? 1n : 1n << BigInt(bitLen(width - 1n));
  if (start % ceil !== 0n) throw new ProofError(`subtree [${start}, ${end}): start is not a multiple of ${ceil}`);
}

/** Inclusion of a leaf in the subtree [start, end) whose hash is `subtreeRoot`. */
export function verifySubtreeInclusion(index: Index, start: Index, end: Index, leafHash: Hash, proof: readonly Hash[], subtreeRoot: Hash): void {
  const i = toU64(index, "index");
  const s = toU64(start, "subtree start");
  const e = toU64(end, "subtree end");
  checkSubtree(s, e);
  if (i < s || i >= e) throw new ProofError(`index ${i} is outside subtree [${s}, ${e})`);
  const calculated = rootFromInclusionProof(i - s, e - s, leafHash, proof);
  if (!hashEquals(calculated, subtreeRoot)) throw rootMismatch("subtree root", calculated, subtreeRoot);
}

/** The new root implied by a consistency proof from (size1, root1); requires 0 < size1 ≤ size2. */
function rootFromConsistencyProof(size1: Index, size2: Index, proof: readonly Hash[], root1: Hash): Hash {
  const m = toU64(size1, "old size");
  const n = toU64(size2, "new size");
  if (n < m) throw new ProofError(`new size ${n} is smaller than old size ${m}`);
  if (m === 0n) throw new ProofError("a consistency proof from the empty tree is meaningless");
  if (m === n) {
    if (proof.length > 0) throw new ProofError("sizes are equal but the proof is not empty");
    return root1;
  }
  if (proof.length === 0) throw new ProofError("empty consistency proof");
  return rootFromSubtreeProof(0n, m, n, proof, root1);
}

export function verifyConsistency(size1: Index, size2: Index, proof: readonly Hash[], root1: Hash, root2: Hash): void {
  const calculated = rootFromConsistencyProof(size1, size2, proof, root1);
  if (!hashEquals(calculated, root2)) throw rootMismatch("new root", calculated, root2);
}

/**
 * Subtree consistency: the subtree [start, end) with hash `subtreeRoot` sits at those positions in the tree of
 * `size` leaves with root `root`. The empty subtree is trivially consistent (its hash must be the empty root and
 * its proof empty); a subtree equal to the whole tree needs an empty proof.
 */
export function verifySubtreeConsistency(start: Index, end: Index, size: Index, proof: readonly Hash[], subtreeRoot: Hash, root: Hash): void {
  const s = toU64(start, "subtree start");
  const e = toU64(end, "subtree end");
  const n = toU64(size, "tree size");
  checkSubtree(s, e, true);
  if (e > n) throw new ProofError(`subtree end ${e} is beyond tree size ${n}`);
  if (s === e) {
    if (proof.length > 0) throw new ProofError("the subtree is empty but the proof is not");
    if (!hashEquals(subtreeRoot, EMPTY_ROOT)) throw new ProofError("an empty subtree must have the empty-tree hash");
    return;
  }
  let calculated: Hash;
  if (s === 0n && e === n) {
    if (proof.length > 0) throw new ProofError("the subtree is the whole tree but the proof is not empty");
    calculated = subtreeRoot;
  } else {
    if (proof.length === 0) throw new ProofError("empty subtree consistency proof");
    calculated = rootFromSubtreeProof(s, e, n, proof, subtreeRoot);
  }
  if (!hashEquals(calculated, root)) throw rootMismatch("tree root", calculated, root);
}

function rootFromSubtreeProof(start: bigint, end: bigint, size: bigint, proof: readonly Hash[], subRoot: Hash): Hash {
  checkHashes(proof);
  if (end === size) {
    // The subtree is on the right border: one left sibling per level where its ancestor is a right child.
    const level = bitLen((end - 1n) ^ start);
    const want = onesCount(start >> BigInt(level));
    if (proof.length !== want) throw new ProofError(`wrong proof size ${proof.length}, expected ${want}`);
    return chainBorderRight(subRoot, proof);
  }
  // Split where the paths to leaves end-1 and size-1 diverge. The proof starts at the level of the rightmost
  // perfect subtree inside [start, end) (its root is proof[0] unless that subtree is the whole argument subtree).
  const [forkLevel, border] = decompInclProof(end - 1n, size);
  const shift = trailingZeros(end - start);
  const inner = forkLevel - shift;
  const perfect = end - start === 1n << BigInt(shift);
  const seed = perfect ? subRoot : proof[0]!;
  const rest = perfect ? proof : proof.slice(1);
  if (rest.length !== inner + border) throw new ProofError(`wrong proof size ${proof.length}, expected ${(perfect ? 0 : 1) + inner + border}`);
  const mask = (end - 1n) >> BigInt(shift);
  if (!perfect) {
    // Nodes inside the subtree must rebuild subRoot: inner left siblings up to the subtree's height, then the
    // border siblings that still lie below the subtree root.
    const height = bitLen((end - 1n) ^ start);
    const subInner = Math.min(height, forkLevel) - shift;
    const subBorder = Math.max(0, border - onesCount((end - 1n) >> BigInt(height)));
    let h1 = chainInnerRight(seed, rest.slice(0, subInner), mask);
    h1 = chainBorderRight(h1, rest.slice(inner, inner + subBorder));
    if (!hashEquals(h1, subRoot)) throw rootMismatch("subtree root", h1, subRoot);
  }
  return chainBorderRight(chainInner(seed, rest.slice(0, inner), mask), rest.slice(inner));
}
