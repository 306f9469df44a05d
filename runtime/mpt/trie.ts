/**
 * An in-memory Merkle Patricia trie (Ethereum's state and storage trie) with inclusion/exclusion proofs in
 * eth_getProof's form: the RLP of every node on the key's path that its parent references by hash, root first.
 * The secure variant (Ethereum's state trie) keys the trie by keccak-256(key), which bounds every path to 64
 * nibbles whatever the keys. Putting an empty value deletes, as in go-ethereum.
 */
import { keccak_256 } from "@noble/hashes/sha3.js";
import { MptError } from "./errors.js";
import { encodeNode, insert, remove, rootHashOf, type TrieNode } from "./node.js";
import { commonPrefixLength, concatNibbles, fromNibbles, toNibbles, type Nibbles } from "./nibbles.js";

export interface TrieOptions {
  /** Key the trie by keccak-256(key) (Ethereum's "secure trie"). */
  secure?: boolean;
}

export interface TrieEntry {
  /** The key as the trie holds it: keccak-256 of the caller's key in a secure trie. */
  key: Uint8Array;
  value: Uint8Array;
}

export class MerklePatriciaTrie {
  private root: TrieNode | null = null;
  readonly secure: boolean;

  constructor(options: TrieOptions = {}) {
    this.secure = options.secure ?? false;
  }

  /**
   * A trie holding `entries` as `entries()` yields them: keys as the trie holds them (hashed in a secure trie), so
   * a stored secure trie comes back without the keys' preimages.
   */
  static fromEntries(entries: Iterable<TrieEntry>, options: TrieOptions = {}): MerklePatriciaTrie {
    const trie = new MerklePatriciaTrie(options);
    for (const e of entries) trie.putAtTrieKey(e.key, e.value);
    return trie;
  }

  /** An independent trie with the same contents, in O(1): nodes are immutable, so the two share them. */
  clone(): MerklePatriciaTrie {
    const c = new MerklePatriciaTrie({ secure: this.secure });
    c.root = this.root;
    return c;
  }

  /** Set the value at a trie key (as `entries()` yields it); an empty value deletes. */
  putAtTrieKey(trieKey: Uint8Array, value: Uint8Array): void {
    this.root = value.length === 0 ? remove(this.root, toNibbles(trieKey)) : insert(this.root, toNibbles(trieKey), value);
  }

  /** The key as the trie holds it: keccak-256(key) in a secure trie, else the key. */
  trieKeyOf(key: Uint8Array): Uint8Array {
    return this.secure ? keccak_256(key) : key;
  }

  /** The path the trie files `key` under. */
  pathOf(key: Uint8Array): Nibbles {
    return toNibbles(this.trieKeyOf(key));
  }

  /** Set `key` to `value`; an empty value deletes the key. */
  put(key: Uint8Array, value: Uint8Array): void {
    if (value.length === 0) this.delete(key);
    else this.root = insert(this.root, this.pathOf(key), value);
  }

  delete(key: Uint8Array): void {
    this.root = remove(this.root, this.pathOf(key));
  }

  get(key: Uint8Array): Uint8Array | null {
    let node = this.root;
    let path = this.pathOf(key);
    for (;;) {
      if (node === null) return null;
      switch (node.kind) {
        case "leaf":
          return node.path.length === path.length && commonPrefixLength(node.path, path) === path.length ? node.value : null;
        case "extension":
          if (commonPrefixLength(node.path, path) < node.path.length) return null;
          path = path.subarray(node.path.length);
          node = node.child;
          break;
        case "branch":
          if (path.length === 0) return node.value;
          node = node.children[path[0]!] ?? null;
          path = path.subarray(1);
          break;
        case "opaque":
          throw new MptError("trie holds an opaque subtree");
      }
    }
  }

  /** keccak-256 of the root node's RLP; EMPTY_ROOT for the empty trie. */
  rootHash(): Uint8Array {
    return rootHashOf(this.root);
  }

  /** Proof for `key`, present or absent: the RLP of each node on its path that is referenced by hash, root first. */
  prove(key: Uint8Array): Uint8Array[] {
    return this.provePath(this.pathOf(key));
  }

  /** Proof along a trie path (for range proofs, whose bounds are trie keys). */
  provePath(path: Nibbles): Uint8Array[] {
    const proof: Uint8Array[] = [];
    let node = this.root;
    if (node === null) return [Uint8Array.of(0x80)]; // RLP(""): the empty root's preimage
    for (;;) {
      const rlp = encodeNode(node);
      // Nodes under 32 bytes are embedded in their parent; only the root is listed whatever its size.
      if (proof.length === 0 || rlp.length >= 32) proof.push(rlp);
      let next: TrieNode | null = null;
      if (node.kind === "extension" && commonPrefixLength(node.path, path) === node.path.length) {
        next = node.child;
        path = path.subarray(node.path.length);
      } else if (node.kind === "branch" && path.length > 0) {
        next = node.children[path[0]!] ?? null;
        path = path.subarray(1);
      }
      if (next === null) return proof;
      node = next;
    }
  }

  /** Every entry in trie-key order (hashed-key order in a secure trie). */
  *entries(): Generator<TrieEntry> {
    function* walk(node: TrieNode | null, prefix: Nibbles): Generator<TrieEntry> {
      if (node === null) return;
      switch (node.kind) {
        case "leaf":
          yield { key: fromNibbles(concatNibbles(prefix, node.path)), value: node.value };
          return;
        case "extension":
          yield* walk(node.child, concatNibbles(prefix, node.path));
          return;
        case "branch":
          if (node.value) yield { key: fromNibbles(prefix), value: node.value };
          for (let i = 0; i < 16; i++) yield* walk(node.children[i] ?? null, concatNibbles(prefix, Uint8Array.of(i)));
          return;
        case "opaque":
          throw new MptError("trie holds an opaque subtree");
      }
    }
    yield* walk(this.root, new Uint8Array(0));
  }
}
