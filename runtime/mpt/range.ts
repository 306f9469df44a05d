/**
 * Ordered key-range proofs, as snap sync uses them: every entry whose trie key lies in [lo, hi], plus the proof
 * nodes of the two boundary paths (lo's and hi's, which need not be present keys), and proof that nothing else
 * lies in the range.
 *
 * Verification rebuilds the root. From the boundary nodes it keeps every subtree wholly outside the range as the
 * reference the proof gives, drops everything inside the range (subtrees between the two paths, in-range leaves
 * and branch values on them), inserts the claimed entries, and hashes. An entry dropped, added or altered
 * changes the map under the root, so the hash differs. The only nodes that must be opened are those whose path
 * is a prefix of lo or of hi: any other subtree is wholly inside or wholly outside the range.
 */
import { bytesToHex } from "@noble/hashes/utils.js";
import { MptError, MptProofError } from "./errors.js";
import { insert, rootHashOf, type TrieNode } from "./node.js";
import { compareNibbles, concatNibbles, isPrefixOf, toNibbles, type Nibbles } from "./nibbles.js";
import { ProofNodes } from "./proof.js";
import type { MerklePatriciaTrie, TrieEntry } from "./trie.js";

export interface RangeProof {
  /** Inclusive bounds, as trie keys (keccak-256 of the caller's keys in a secure trie). */
  lo: Uint8Array;
  hi: Uint8Array;
  /** Every entry with lo ≤ key ≤ hi, ascending by key. */
  entries: TrieEntry[];
  /** RLP nodes on the paths of lo and hi, each once. */
  proof: Uint8Array[];
}

const hex = (b: Uint8Array) => `0x${bytesToHex(b)}`;

function checkBounds(lo: Uint8Array, hi: Uint8Array): void {
  if (compareNibbles(lo, hi) > 0) throw new MptProofError(`range lower bound ${hex(lo)} is above its upper bound ${hex(hi)}`);
}

export function proveRange(trie: MerklePatriciaTrie, lo: Uint8Array, hi: Uint8Array): RangeProof {
  checkBounds(lo, hi);
  const entries = [...trie.entries()].filter((e) => compareNibbles(e.key, lo) >= 0 && compareNibbles(e.key, hi) <= 0);
  const seen = new Set<string>();
  const proof: Uint8Array[] = [];
  for (const n of [...trie.provePath(toNibbles(lo)), ...trie.provePath(toNibbles(hi))]) {
    const id = bytesToHex(n);
    if (!seen.has(id)) proof.push(n);
    seen.add(id);
  }
  return { lo, hi, entries, proof };
}

type Where = "inside" | "outside" | "boundary";

/**
 * Check that `proof.entries` are exactly the trie's entries in [lo, hi] under `root`; throws MptProofError naming
 * the problem otherwise.
 */
export function checkRangeProof(root: Uint8Array, proof: RangeProof): void {
  if (root.length !== 32) throw new MptProofError(`root is ${root.length} bytes; expected 32`);
  const { lo: loKey, hi: hiKey, entries } = proof;
  checkBounds(loKey, hiKey);
  const lo = toNibbles(loKey);
  const hi = toNibbles(hiKey);
  entries.forEach((e, i) => {
    if (compareNibbles(e.key, loKey) < 0 || compareNibbles(e.key, hiKey) > 0) throw new MptProofError(`entry ${i} (key ${hex(e.key)}) lies outside the range`);
    if (i > 0 && compareNibbles(entries[i - 1]!.key, e.key) >= 0) throw new MptProofError(`entry ${i} (key ${hex(e.key)}) is not above the entry before it`);
    if (e.value.length === 0) throw new MptProofError(`entry ${i} (key ${hex(e.key)}) has an empty value; a trie holds none`);
  });

  /** Where the keys starting with `prefix` lie relative to [lo, hi]. */
  const classify = (prefix: Nibbles): Where => {
    if (isPrefixOf(prefix, lo) || isPrefixOf(prefix, hi)) return "boundary";
    return compareNibbles(prefix, lo) < 0 || compareNibbles(prefix, hi) > 0 ? "outside" : "inside";
  };
  const inRange = (key: Nibbles) => compareNibbles(key, lo) >= 0 && compareNibbles(key, hi) <= 0;
  const nodes = new ProofNodes(proof.proof);

  /** The subtree at `prefix` with everything in the range removed, outside parts kept as given. */
  const prune = (ref: TrieNode, prefix: Nibbles): TrieNode | null => {
    const where = classify(prefix);
    if (where === "outside") return ref;
    if (where === "inside") return null;
    const node = nodes.resolve(ref, `on a boundary path at nibble ${prefix.length}`);
    if (node === null) return null;
    switch (node.kind) {
      case "leaf":
        return inRange(concatNibbles(prefix, node.path)) ? null : node;
      case "extension": {
        const below = concatNibbles(prefix, node.path);
        const child = prune(node.child, below);
        if (child === null) return null;
        return child === node.child ? node : { kind: "extension", path: node.path, child };
      }
      case "branch":
        return {
          kind: "branch",
          children: node.children.map((c, i) => (c === null ? null : prune(c, concatNibbles(prefix, Uint8Array.of(i))))),
          value: inRange(prefix) ? null : node.value,
        };
      case "opaque":
        throw new MptProofError("proof resolved to an opaque node");
    }
  };

  let rebuilt = prune({ kind: "opaque", ref: root }, new Uint8Array(0));
  for (const e of entries) {
    try {
      rebuilt = insert(rebuilt, toNibbles(e.key), e.value);
    } catch (err) {
      if (err instanceof MptError) throw new MptProofError(`entry ${hex(e.key)} falls under a subtree the proof does not open: ${err.message}`);
      throw err;
    }
  }
  nodes.checkAllUsed();
  const got = rootHashOf(rebuilt);
  if (bytesToHex(got) !== bytesToHex(root))
    throw new MptProofError(`the entries and boundary nodes give root ${hex(got)}, not the trusted ${hex(root)}: an entry in the range was dropped, added or altered`);
}

/** True only if `proof.entries` are exactly the trie's entries in [lo, hi] under `root`. */
export function verifyRangeProof(root: Uint8Array, proof: RangeProof): boolean {
  try {
    checkRangeProof(root, proof);
    return true;
  } catch (e) {
    if (e instanceof MptProofError) return false;
    throw e;
  }
}
