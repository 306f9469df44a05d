/**
 * A compact sparse Merkle tree over 32-byte keys (the Jellyfish / "compact SMT" shape), for state that is rewritten on
 * every event (the escrow's transition log, runtime/fraud/escrow-log.ts). The 256-level tree of ../smt stays what the
 * verifiable map serves; this one differs only where a subtree holds one key:
 *
 *   empty subtree            EMPTY = 32 zero bytes (no known preimage)
 *   subtree holding one key  leaf  = SHA-256(0x00 ‖ key ‖ SHA-256(value)), wherever the subtree sits
 *   any other subtree        node  = SHA-256(0x01 ‖ left ‖ right)   (RFC 6962's node hash; a child may be EMPTY)
 *
 * The key's bits, most significant first, choose the path. So a key alone in its subtree costs one leaf hash, not a
 * chain of ~240 default siblings, and a write costs ~log2(keys) node hashes. The hash is a function of the key set
 * alone (no history): the trie (../smt/trie.ts's shape — branches down every shared prefix, a shortcut at the top of
 * each one-key subtree) keeps no branch with fewer than two keys below it, removal included. Proofs: proof.ts.
 */
import { hash } from "node:crypto";
import { type Hash, leafHash, nodeHash } from "../rfc6962.js";
import { bit, KEY_SIZE, SmtError } from "../smt/hashing.js";
import { insert, isShortcut, LIVE, remove, type Shortcut, type TrieNode } from "../smt/trie.js";

/** The hash of an empty subtree (and the root of the empty tree). */
export const CSMT_EMPTY: Hash = new Uint8Array(32);

/** The hash of a subtree holding only `key` with a value whose SHA-256 is `valueHash`. */
export function csmtLeafHash(key: Uint8Array, valueHash: Uint8Array): Hash {
  return leafHash(Buffer.concat([key, valueHash])); // SHA-256(0x00 ‖ key ‖ H(value)): 65 bytes, the fast path
}

export const valueHashOf = (value: Uint8Array): Buffer => hash("sha256", value, "buffer");

/** A shortcut that also holds its value (the trie is the store: no second map keyed by hex). */
export interface Held extends Shortcut {
  value: Buffer;
}

export function checkKey(key: Uint8Array): void {
  if (key.length !== KEY_SIZE) throw new SmtError(`key is ${key.length} bytes; sparse Merkle keys are ${KEY_SIZE} bytes`);
}

/** A trie node's hash (a branch's is cached until a write below clears it). */
export function hashOf(node: TrieNode | undefined): Hash {
  if (node === undefined) return CSMT_EMPTY;
  if (isShortcut(node)) return node.leaf;
  return (node.hash ??= nodeHash(hashOf(node.children[0]), hashOf(node.children[1])));
}

export class CompactMerkleTree {
  /** The trie; read by proof.ts's prover. */
  trie: TrieNode | undefined;

  root(): Hash {
    return hashOf(this.trie);
  }

  get(key: Uint8Array): Uint8Array | undefined {
    checkKey(key);
    let n = this.trie;
    for (let d = 0; n !== undefined; d++) {
      if (isShortcut(n)) return n.key.equals(key) ? (n as Held).value : undefined;
      n = n.children[bit(key, d)];
    }
    return undefined;
  }

  /** Apply writes in order (`undefined` deletes); the root after all of them. */
  setMany(writes: Iterable<readonly [Uint8Array, Uint8Array | undefined]>): Hash {
    for (const [key, value] of writes) {
      checkKey(key);
      const k = Buffer.from(key);
      if (value === undefined) this.trie = remove(this.trie, 0, k, LIVE);
      else {
        const v = Buffer.from(value);
        const s: Held = { key: k, leaf: csmtLeafHash(k, valueHashOf(v)), value: v };
        this.trie = insert(this.trie, 0, s, LIVE);
      }
    }
    return this.root();
  }

  /** Every entry (key order). */
  *entries(): IterableIterator<{ key: Buffer; value: Buffer }> {
    const walk = function* (n: TrieNode | undefined): IterableIterator<{ key: Buffer; value: Buffer }> {
      if (n === undefined) return;
      if (isShortcut(n)) yield { key: n.key, value: (n as Held).value };
      else {
        yield* walk(n.children[0]);
        yield* walk(n.children[1]);
      }
    };
    yield* walk(this.trie);
  }
}
