/**
 * Batch proofs for the compact sparse Merkle tree (csmt.ts): (key, value | absent) pairs and the rest of the tree
 * around their paths, from which a verifier recomputes the root — and, with new values for the same keys, the root
 * after writing them (the rest is unchanged), which is how a fraud proof re-executes a transition.
 *
 * A proof is the tree walked from the root, pre-order, one item per subtree visited:
 *   "down"           the subtree holds batch keys and is split: its two children follow (left first)
 *   null             the subtree holds nothing but the batch's own keys (those present); none at all if none lie in it
 *   leaf(key, H(v))  the subtree holds one other key besides the batch's: an absence proof by another key's leaf on
 *                    the path, or a sibling subtree holding one key
 *   node(l, r)       a subtree with no batch key and two or more keys: its children's hashes (a bare hash would not
 *                    say whether it holds one key or more, and a write that empties its sibling lifts a one-key subtree
 *                    up — so a prover could pass a leaf off as a branch and change the post root)
 * The verifier hashes what each item claims by the tree's definition (one key: its leaf hash; none: EMPTY; else the
 * node hash), never as the prover places it: an item's key must lie under the item's subtree (its prefix) and be no
 * batch key, so a key's leaf cannot be shown off its path (e.g. as the sibling of its own empty path, which lifts to
 * the same root and would prove it absent and present under one root). Under a root of a canonical tree, a proof that
 * hashes to it shows every batch key's true value or absence, and each node(l, r) is truly a subtree of ≥ 2 keys.
 */
import { type Hash, nodeHash } from "../rfc6962.js";
import { bit, KEY_SIZE, SmtError } from "../smt/hashing.js";
import { isShortcut, samePrefix, type TrieNode } from "../smt/trie.js";
import { checkKey, CSMT_EMPTY, csmtLeafHash, hashOf, valueHashOf, type CompactMerkleTree, type Held } from "./csmt.js";

export type CsmtItem = null | "down" | { key: Uint8Array; valueHash: Hash } | { left: Hash; right: Hash };
export type CsmtProof = CsmtItem[];

const DEPTH = 8 * KEY_SIZE;

/** The proof for `keys` (each's value or absence) under the tree's current root. */
export function proveCsmt(tree: CompactMerkleTree, keys: readonly Uint8Array[]): CsmtProof {
  keys.forEach(checkKey);
  const out: CsmtProof = [];
  const walk = (n: TrieNode | undefined, depth: number, ks: readonly Buffer[]): void => {
    if (n === undefined) out.push(null);
    else if (isShortcut(n)) out.push(ks.some((k) => k.equals(n.key)) ? null : { key: n.key, valueHash: valueHashOf((n as Held).value) });
    else if (ks.length === 0) out.push({ left: hashOf(n.children[0]), right: hashOf(n.children[1]) });
    else {
      out.push("down");
      walk(
        n.children[0],
        depth + 1,
        ks.filter((k) => bit(k, depth) === 0),
      );
      walk(
        n.children[1],
        depth + 1,
        ks.filter((k) => bit(k, depth) === 1),
      );
    }
  };
  walk(tree.trie, 0, unique(keys));
  return out;
}

function unique(keys: readonly Uint8Array[]): Buffer[] {
  const ks = keys.map((k) => Buffer.from(k)).sort(Buffer.compare);
  for (let i = 1; i < ks.length; i++) if (ks[i]!.equals(ks[i - 1]!)) throw new SmtError("batch has a key twice");
  return ks;
}

/** A subtree's hash and how many keys it holds (2: two or more), which decides whether its parent lifts it. */
interface Sub {
  hash: Hash;
  keys: 0 | 1 | 2;
}

function join(l: Sub, r: Sub): Sub {
  if (l.keys + r.keys === 0) return { hash: CSMT_EMPTY, keys: 0 };
  if (l.keys + r.keys === 1) return l.keys === 1 ? l : r; // one key below: its leaf, lifted
  return { hash: nodeHash(l.hash, r.hash), keys: 2 };
}

/** The subtree at `depth` holding exactly these leaves (all under its prefix), by the definition. */
function subtree(leaves: readonly { key: Uint8Array; hash: Hash }[], depth: number): Sub {
  if (leaves.length === 0) return { hash: CSMT_EMPTY, keys: 0 };
  if (leaves.length === 1) return { hash: leaves[0]!.hash, keys: 1 };
  return join(
    subtree(
      leaves.filter((x) => bit(x.key, depth) === 0),
      depth + 1,
    ),
    subtree(
      leaves.filter((x) => bit(x.key, depth) === 1),
      depth + 1,
    ),
  );
}

const is32 = (h: unknown): h is Uint8Array => h instanceof Uint8Array && h.length === 32;

/**
 * The root these (key, value | undefined) pairs and `proof` make. Throws SmtError for a proof that does not fit the
 * keys (too few or too many items, an item where it cannot be, a key off its subtree, a batch key twice).
 */
export function csmtRootFromProof(entries: readonly (readonly [Uint8Array, Uint8Array | undefined])[], proof: readonly CsmtItem[]): Hash {
  const ks = unique(entries.map(([k]) => k));
  ks.forEach(checkKey);
  const leafOf = new Map(entries.map(([k, v]) => [Buffer.from(k).toString("hex"), v === undefined ? undefined : csmtLeafHash(k, valueHashOf(v))]));
  let next = 0;
  // `prefix`: a key whose first `depth` bits are the subtree's path; `batch`: the batch keys under it.
  const walk = (prefix: Buffer, depth: number, batch: readonly Buffer[]): Sub => {
    if (next >= proof.length) throw new SmtError(`the proof ends at item ${next}: too few items for these keys`);
    const item = proof[next++];
    if (item === "down") {
      if (batch.length === 0) throw new SmtError(`item ${next - 1}: "down" into a subtree with no batch key (give its children's hashes)`);
      if (depth === DEPTH) throw new SmtError(`item ${next - 1}: "down" below the leaves`);
      const right = Buffer.from(prefix);
      right[depth >> 3]! |= 1 << (7 - (depth & 7));
      const left = Buffer.from(prefix);
      left[depth >> 3]! &= ~(1 << (7 - (depth & 7)));
      const l = walk(
        left,
        depth + 1,
        batch.filter((k) => bit(k, depth) === 0),
      );
      return join(
        l,
        walk(
          right,
          depth + 1,
          batch.filter((k) => bit(k, depth) === 1),
        ),
      );
    }
    const leaves = batch.flatMap((k) => {
      const h = leafOf.get(k.toString("hex"));
      return h === undefined ? [] : [{ key: k, hash: h }];
    });
    if (item === null) return subtree(leaves, depth);
    if (typeof item !== "object") throw new SmtError(`item ${next - 1} is not a proof item`);
    if ("key" in item) {
      if (!is32(item.key) || !is32(item.valueHash)) throw new SmtError(`item ${next - 1}: a leaf's key and value hash are 32 bytes`);
      if (!samePrefix(item.key, prefix, depth)) throw new SmtError(`item ${next - 1}: key ${Buffer.from(item.key).toString("hex")} is not under its subtree`);
      if (batch.some((k) => k.equals(item.key))) throw new SmtError(`item ${next - 1}: a batch key's own leaf given as another key's`);
      return subtree([...leaves, { key: item.key, hash: csmtLeafHash(item.key, item.valueHash) }], depth);
    }
    if (!is32(item.left) || !is32(item.right)) throw new SmtError(`item ${next - 1}: a node's children are 32-byte hashes`);
    if (batch.length > 0) throw new SmtError(`item ${next - 1}: a node's hashes in place of a subtree holding batch keys`);
    if (item.left.every((b) => b === 0) && item.right.every((b) => b === 0)) throw new SmtError(`item ${next - 1}: a node of two empty subtrees`);
    return { hash: nodeHash(item.left, item.right), keys: 2 };
  };
  const root = walk(Buffer.alloc(KEY_SIZE), 0, ks).hash;
  if (next !== proof.length) throw new SmtError(`the proof has ${proof.length - next} items more than these keys use`);
  return root;
}

/** Whether the pairs hold under `root` (false also for a proof that does not fit them). */
export function verifyCsmtBatch(root: Hash, entries: readonly (readonly [Uint8Array, Uint8Array | undefined])[], proof: readonly CsmtItem[]): boolean {
  try {
    return Buffer.from(csmtRootFromProof(entries, proof)).equals(root);
  } catch (e) {
    if (e instanceof SmtError) return false;
    throw e;
  }
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** A proof as JSON: null, "down", "leaf:<key><value hash>", "node:<left><right>" (hex). */
export function encodeCsmtProof(p: readonly CsmtItem[]): (string | null)[] {
  return p.map((i) => (i === null || i === "down" ? i : "key" in i ? `leaf:${hex(i.key)}${hex(i.valueHash)}` : `node:${hex(i.left)}${hex(i.right)}`));
}

/** The proof `encodeCsmtProof` wrote; SmtError for anything else. */
export function decodeCsmtProof(items: unknown): CsmtProof {
  if (!Array.isArray(items)) throw new SmtError("the proof is not a list");
  return items.map((s: unknown, i) => {
    if (s === null || s === "down") return s;
    const m = typeof s === "string" ? /^(leaf|node):([0-9a-f]{64})([0-9a-f]{64})$/.exec(s) : null;
    if (!m) throw new SmtError(`proof item ${i} is not null, "down", "leaf:<128 hex>" or "node:<128 hex>"`);
    const [a, b] = [Buffer.from(m[2]!, "hex"), Buffer.from(m[3]!, "hex")];
    return m[1] === "leaf" ? { key: a, valueHash: b } : { left: a, right: b };
  });
}
