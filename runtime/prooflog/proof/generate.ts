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

/** Largest power of two strictly below n (n ≥ 2): where RFC 6962 splits a tree of n leaves. */
export function split(n: number): number {
  return 2 ** (bitLen(n - 1) - 1);
}

/** Bits needed to represent x, for 0 ≤ x < 2^53 (no 32-bit truncation). */
function bitLen(x: number): number {
  return x < 2 ** 32 ? 32 - Math.clz32(x) : 32 + bitLen(Math.floor(x / 2 ** 32));
}

/** Merkle Tree Hash of leaves [lo, hi), where lo is aligned to a power of two ≥ hi - lo (as in every RFC recursion). */
export function rangeHash(lo: number, hi: number, read: NodeReader): Hash {
  if (hi <= lo) return EMPTY_ROOT;
  // Aligned start: the perfect subtrees are the binary digits of the width, largest (leftmost) first.
  const parts: Hash[] = [];
  let at = lo;
  for (let level = bitLen(hi - lo) - 1; level >= 0; level--) {
    const w = 2 ** level;
    if (hi - at >= w) {
      parts.push(read(level, at / w));
      at += w;
    }
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
export function inclusionProof(index: number, size: number, read: NodeReader, range: (lo: number, hi: number) => Hash = (lo, hi) => rangeHash(lo, hi, read)): Hash[] {
  checkRange(`index ${index} must be below tree size ${size}`, Number.isSafeInteger(index) && index >= 0 && index < size);
  // Direct form of PATH: below the level where the paths to `index` and `size - 1` diverge every sibling is a
  // perfect node except the one at the divergence level (clipped to the tree); above it, each left sibling is
  // perfect. Same output as path(), in O(log n) reads.
  const out: Hash[] = [];
  const inner = bitLen(xor(index, size - 1));
  for (let level = 0; level < inner - 1; level++) out.push(read(level, sibling(index, level)));
  if (inner > 0) {
    const w = 2 ** (inner - 1);
    const lo = sibling(index, inner - 1) * w;
    out.push(lo + w <= size ? read(inner - 1, lo / w) : range(lo, size));
  }
  for (let level = inner; 2 ** level <= index; level++) {
    const at = Math.floor(index / 2 ** level);
    if (at % 2 === 1) out.push(read(level, at - 1));
  }
  return out;
}

/** Index of the sibling of the level-`level` ancestor of leaf `index`. */
function sibling(index: number, level: number): number {
  const at = Math.floor(index / 2 ** level);
  return at % 2 === 0 ? at + 1 : at - 1;
}

/** x XOR y for 0 ≤ x, y < 2^53 (the operator truncates to 32 bits). */
function xor(x: number, y: number): number {
  const hi = (Math.floor(x / 2 ** 32) ^ Math.floor(y / 2 ** 32)) >>> 0;
  return hi * 2 ** 32 + ((x ^ y) >>> 0);
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
