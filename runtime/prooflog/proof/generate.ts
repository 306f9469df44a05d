/**
 * Proof generation (RFC 9162 §2.1.3.1 PATH, §2.1.4.1 SUBPROOF, and the MTC draft's subtree proofs) over a
 * `NodeReader`: any store that can return the hash of a perfect subtree, i.e. the node at (level, index) covering
 * leaves [index·2^level, (index+1)·2^level). The functions only read hashes of ranges the tree already covers,
 * so they work unchanged over the in-memory levels, tiles fetched over HTTP, or a database.
 *
 * Sizes here are numbers: stored trees never approach 2^53 leaves, and every division below is exact.
 */
import { type Hash, EMPTY_ROOT, nodeHash } from "../rfc6962.js";

export type NodeReader = (level: number, index: number) => Hash;

/** Largest power of two strictly below n (n ≥ 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** Merkle Tree Hash of leaves [lo, hi), where lo is aligned to a power of two ≥ hi - lo (as in every RFC recursion). */
export function rangeHash(lo: number, hi: number, read: NodeReader): Hash {
  if (hi <= lo) return EMPTY_ROOT;
  const parts: Hash[] = [];
  let at = lo;
  // Peel perfect subtrees left to right, largest first.
  while (at < hi) {
    let level = 0;
    while (at % 2 ** (level + 1) === 0 && at + 2 ** (level + 1) <= hi) level++;
    parts.push(read(level, at / 2 ** level));
    at += 2 ** level;
  }
  let h = parts[parts.length - 1]!;
  for (let i = parts.length - 2; i >= 0; i--) h = nodeHash(parts[i]!, h);
  return h;
}

/** PATH(m, D[base : base+n]) with hashes appended bottom-up. */
function path(m: number, base: number, n: number, read: NodeReader, out: Hash[]): void {
  if (n <= 1) return;
  const k = split(n);
  if (m < k) {
    path(m, base, k, read, out);
    out.push(rangeHash(base + k, base + n, read));
  } else {
    path(m - k, base + k, n - k, read, out);
    out.push(rangeHash(base, base + k, read));
  }
}

function checkRange(what: string, ok: boolean): void {
  if (!ok) throw new RangeError(what);
}

/** Inclusion proof for leaf `index` in the tree of `size` leaves. */
export function inclusionProof(index: number, size: number, read: NodeReader): Hash[] {
  checkRange(`index ${index} must be below tree size ${size}`, Number.isSafeInteger(index) && index >= 0 && index < size);
  const out: Hash[] = [];
  path(index, 0, size, read, out);
  return out;
}

/** Inclusion proof for leaf `index` in the subtree [start, end). */
export function subtreeInclusionProof(index: number, start: number, end: number, read: NodeReader): Hash[] {
  checkRange(`index ${index} must lie in [${start}, ${end})`, index >= start && index < end);
  const out: Hash[] = [];
  path(index - start, start, end - start, read, out);
  return out;
}

/**
 * SUBTREE_PROOF(start, end, D[base : base+n]): generalises RFC SUBPROOF (start = 0, end = m) to any valid subtree.
 * `known` says whether the verifier already holds the hash of the current node.
 */
function subproof(start: number, end: number, base: number, n: number, known: boolean, read: NodeReader, out: Hash[]): void {
  if (start === 0 && end === n) {
    if (!known) out.push(rangeHash(base, base + n, read));
    return;
  }
  const k = split(n);
  if (end <= k) {
    subproof(start, end, base, k, known, read, out);
    out.push(rangeHash(base + k, base + n, read));
  } else if (k <= start) {
    subproof(start - k, end - k, base + k, n - k, known, read, out);
    out.push(rangeHash(base, base + k, read));
  } else {
    // start < k < end only happens for start = 0 in a valid subtree: the left half is entirely inside it.
    subproof(0, end - k, base + k, n - k, false, read, out);
    out.push(rangeHash(base, base + k, read));
  }
}

/** Consistency proof between tree sizes 0 < size1 ≤ size2. */
export function consistencyProof(size1: number, size2: number, read: NodeReader): Hash[] {
  checkRange(`need 0 < old size ${size1} ≤ new size ${size2}`, size1 > 0 && size1 <= size2);
  const out: Hash[] = [];
  if (size1 < size2) subproof(0, size1, 0, size2, true, read, out);
  return out;
}

/** Proof that the valid subtree [start, end) is part of the tree of `size` leaves. */
export function subtreeConsistencyProof(start: number, end: number, size: number, read: NodeReader): Hash[] {
  checkRange(`need start ${start} < end ${end} ≤ size ${size}`, start < end && end <= size);
  const out: Hash[] = [];
  subproof(start, end, 0, size, true, read, out);
  return out;
}
