/**
 * Key-range proofs for the sparse Merkle tree: every entry whose 32-byte key lies in [lo, hi], and proof that
 * there are no others. The proof is the entries themselves plus the hash of each maximal subtree lying outside
 * the range along the two boundary paths (≤ 2·256 hashes, `null` for empty ones). The verifier walks the same
 * shape from the root: subtrees outside the range take the next given hash, subtrees inside are rebuilt from the
 * given entries alone (an entry left out changes the root), and the root must come out as trusted.
 */
import { type Hash, hashEquals, nodeHash } from "../rfc6962.js";
import { DEFAULTS, DEPTH, KEY_SIZE, smtLeafHash, SmtError } from "./hashing.js";

export interface RangeProof {
  /** Entries in the range, ascending by key. */
  entries: { key: Uint8Array; value: Uint8Array }[];
  /** Hashes of the subtrees outside the range, in walk order (left before right); null = empty subtree. */
  outside: (Hash | null)[];
}

/** Key bounds of the subtree whose path is the first `depth` bits of `prefix` (inclusive). */
function bounds(prefix: Uint8Array, depth: number): [Buffer, Buffer] {
  const lo = Buffer.from(prefix);
  const hi = Buffer.from(prefix);
  for (let i = depth; i < DEPTH; i++) {
    lo[i >> 3]! &= ~(1 << (7 - (i & 7)));
    hi[i >> 3]! |= 1 << (7 - (i & 7));
  }
  return [lo, hi];
}

function withBit(prefix: Uint8Array, depth: number, bit: number): Buffer {
  const b = Buffer.from(prefix);
  if (bit) b[depth >> 3]! |= 1 << (7 - (depth & 7));
  else b[depth >> 3]! &= ~(1 << (7 - (depth & 7)));
  return b;
}

/** Hash of the subtree at `depth` (from the root) whose leaves are exactly `entries` (all under `prefix`). */
function subtreeHashOf(entries: readonly { key: Uint8Array; value: Uint8Array }[], prefix: Uint8Array, depth: number): Hash {
  const height = DEPTH - depth;
  if (entries.length === 0) return DEFAULTS[height]!;
  if (height === 0) return smtLeafHash(entries[0]!.key, entries[0]!.value);
  const bitOf = (k: Uint8Array) => (k[depth >> 3]! >> (7 - (depth & 7))) & 1;
  const left = entries.filter((e) => bitOf(e.key) === 0);
  const right = entries.filter((e) => bitOf(e.key) === 1);
  return nodeHash(subtreeHashOf(left, withBit(prefix, depth, 0), depth + 1), subtreeHashOf(right, withBit(prefix, depth, 1), depth + 1));
}

function checkBounds(lo: Uint8Array, hi: Uint8Array): void {
  if (lo.length !== KEY_SIZE || hi.length !== KEY_SIZE) throw new SmtError(`range bounds must be ${KEY_SIZE}-byte keys`);
  if (Buffer.compare(Buffer.from(lo), Buffer.from(hi)) > 0) throw new SmtError("range lower bound is above its upper bound");
}

/**
 * Walk the range shape. `outside(prefix, depth)` supplies the hash of a subtree disjoint from the range;
 * `inside(prefix, depth)` the hash of one contained in it.
 */
export function walkRange(lo: Uint8Array, hi: Uint8Array, outside: (prefix: Buffer, depth: number) => Hash, inside: (prefix: Buffer, depth: number) => Hash): Hash {
  checkBounds(lo, hi);
  const L = Buffer.from(lo);
  const H = Buffer.from(hi);
  const rec = (prefix: Buffer, depth: number): Hash => {
    const [a, b] = bounds(prefix, depth);
    if (Buffer.compare(b, L) < 0 || Buffer.compare(a, H) > 0) return outside(prefix, depth);
    if (Buffer.compare(a, L) >= 0 && Buffer.compare(b, H) <= 0) return inside(prefix, depth);
    return nodeHash(rec(withBit(prefix, depth, 0), depth + 1), rec(withBit(prefix, depth, 1), depth + 1));
  };
  return rec(Buffer.alloc(KEY_SIZE), 0);
}

/** Verify a range proof against a trusted root: true only if `entries` are exactly the range's contents. */
export function verifyRangeProof(root: Hash, lo: Uint8Array, hi: Uint8Array, proof: RangeProof): boolean {
  const keys = proof.entries.map((e) => Buffer.from(e.key));
  for (let i = 0; i < keys.length; i++) {
    if (keys[i]!.length !== KEY_SIZE || Buffer.compare(keys[i]!, Buffer.from(lo)) < 0 || Buffer.compare(keys[i]!, Buffer.from(hi)) > 0) return false;
    if (i > 0 && Buffer.compare(keys[i - 1]!, keys[i]!) >= 0) return false; // ascending, no duplicates
  }
  let next = 0;
  let ok = true;
  const got = walkRange(
    lo,
    hi,
    (_p, depth) => {
      if (next >= proof.outside.length) {
        ok = false;
        return DEFAULTS[DEPTH - depth]!;
      }
      const h = proof.outside[next++];
      return h ?? DEFAULTS[DEPTH - depth]!;
    },
    (prefix, depth) => {
      const [a, b] = bounds(prefix, depth);
      return subtreeHashOf(
        proof.entries.filter((e) => Buffer.compare(Buffer.from(e.key), a) >= 0 && Buffer.compare(Buffer.from(e.key), b) <= 0),
        prefix,
        depth,
      );
    },
  );
  return ok && next === proof.outside.length && hashEquals(got, root);
}
