/**
 * Verification of single-key proofs in eth_getProof's form (a list of RLP nodes, root first). The verifier
 * trusts only the root hash: each node is found by the hash its parent (or the root) names, so an altered node
 * is simply not found. It is strict: every node given must lie on the key's path.
 */
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { MptError, MptProofError } from "./errors.js";
import { decodeNode, decodeNodeBytes, type TrieNode } from "./node.js";
import { commonPrefixLength, toNibbles } from "./nibbles.js";

export interface VerifyOptions {
  /** The trie is a secure trie: the path is keccak-256(key). */
  secure?: boolean;
}

const hex = (b: Uint8Array) => `0x${bytesToHex(b)}`;

/** The proof's nodes by hash; resolve() turns a reference into a decoded node and remembers what was used. */
export class ProofNodes {
  private readonly byHash = new Map<string, Uint8Array>();
  private readonly used = new Set<string>();

  constructor(proof: readonly Uint8Array[]) {
    for (const n of proof) this.byHash.set(bytesToHex(keccak_256(n)), n);
  }

  resolve(ref: TrieNode, where: string): TrieNode | null {
    if (ref.kind !== "opaque") return ref;
    if (!(ref.ref instanceof Uint8Array)) return this.decode(() => decodeNode(ref.ref), `embedded node ${where}`);
    const id = bytesToHex(ref.ref);
    const bytes = this.byHash.get(id);
    if (!bytes) throw new MptProofError(`proof lacks the node with hash 0x${id} ${where}`);
    this.used.add(id);
    return this.decode(() => decodeNodeBytes(bytes), `node 0x${id}`);
  }

  private decode(f: () => TrieNode | null, what: string): TrieNode | null {
    try {
      return f();
    } catch (e) {
      if (e instanceof MptError) throw new MptProofError(`${what} is malformed: ${e.message}`);
      throw e;
    }
  }

  /** Refuse nodes the walk never needed: a proof carries exactly the path. */
  checkAllUsed(): void {
    const extra = this.byHash.size - this.used.size;
    if (extra > 0) throw new MptProofError(`proof holds ${extra} node(s) that are not on the proven path(s)`);
  }
}

/**
 * The value `key` maps to under `root` (null: a valid exclusion proof, the key is absent).
 * Throws MptProofError naming the problem when the proof does not prove either.
 */
export function verifyProof(root: Uint8Array, key: Uint8Array, proof: readonly Uint8Array[], options: VerifyOptions = {}): Uint8Array | null {
  if (root.length !== 32) throw new MptProofError(`root is ${root.length} bytes; expected 32`);
  const nodes = new ProofNodes(proof);
  let path = toNibbles(options.secure ? keccak_256(key) : key);
  let depth = 0;
  let node = nodes.resolve({ kind: "opaque", ref: root }, `for the root ${hex(root)}`);
  let value: Uint8Array | null = null;
  for (;;) {
    if (node === null) break;
    if (node.kind === "leaf") {
      if (node.path.length === path.length && commonPrefixLength(node.path, path) === path.length) value = node.value;
      break;
    }
    if (node.kind === "extension") {
      if (commonPrefixLength(node.path, path) < node.path.length) break;
      path = path.subarray(node.path.length);
      depth += node.path.length;
      node = nodes.resolve(node.child, `at nibble ${depth} of the key's path`);
      continue;
    }
    if (node.kind === "branch") {
      if (path.length === 0) {
        value = node.value;
        break;
      }
      const child = node.children[path[0]!] ?? null;
      if (child === null) break;
      path = path.subarray(1);
      depth += 1;
      node = nodes.resolve(child, `at nibble ${depth} of the key's path`);
      continue;
    }
    throw new MptProofError("proof walk reached an unresolved node");
  }
  nodes.checkAllUsed();
  return value;
}
