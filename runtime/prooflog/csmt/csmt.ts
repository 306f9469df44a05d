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
import { type Hash, leafHashWords, nodeHashWords, sha256Into } from "../rfc6962.js";
import { bit, KEY_SIZE, SmtError } from "../smt/hashing.js";
import { isShortcut, LIVE, remove, type Shortcut, type TrieNode } from "../smt/trie.js";

/** The hash of an empty subtree (and the root of the empty tree). */
export const CSMT_EMPTY: Hash = new Uint8Array(32);

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/**
 * 8 words as the 32 bytes they hold (a copy, on the heap: a view of an Int32Array's `buffer` would first move its
 * store off the heap, which costs more than the hash).
 */
function bytesOf(w: Int32Array): Hash {
  if (!LITTLE_ENDIAN) return new Uint8Array(w.slice().buffer);
  const out = new Uint8Array(32);
  for (let i = 0, o = 0; i < 8; i++, o += 4) {
    const v = w[i]!;
    out[o] = v;
    out[o + 1] = v >>> 8;
    out[o + 2] = v >>> 16;
    out[o + 3] = v >>> 24;
  }
  return out;
}

const leafInput = new Uint8Array(64);
/** The hash of a subtree holding only `key` with a value whose SHA-256 is `valueHash`. */
export function csmtLeafHash(key: Uint8Array, valueHash: Uint8Array): Hash {
  return bytesOf(leafWords(key, valueHash));
}

/** `csmtLeafHash` of a value (hashed straight into the leaf's input). */
function valueLeafWords(key: Uint8Array, value: Uint8Array): Int32Array {
  const out = new Int32Array(8);
  leafInput.set(key); // a key of 32 bytes (checked); hashing is synchronous: the input buffer is reused
  sha256Into(value, leafInput, 32);
  leafHashWords(leafInput, out, 0);
  return out;
}

/** `csmtLeafHash` as 8 words (its bytes in order): SHA-256(0x00 ‖ key ‖ H(value)), 65 bytes, the fast path. */
function leafWords(key: Uint8Array, valueHash: Uint8Array): Int32Array {
  const out = new Int32Array(8);
  if (key.length !== 32 || valueHash.length !== 32)
    leafHashWords(Buffer.concat([key, valueHash]), out, 0); // hashed as given (a verifier then fails on the root)
  else {
    leafInput.set(key); // hashing is synchronous: the input buffer is reused
    leafInput.set(valueHash, 32);
    leafHashWords(leafInput, out, 0);
  }
  return out;
}

export function valueHashOf(value: Uint8Array): Buffer {
  const h = Buffer.allocUnsafe(32);
  sha256Into(value, h, 0);
  return h;
}

/** A shortcut that also holds its value (the trie is the store: no second map keyed by hex); `words`: its leaf hash's. */
export interface Held extends Shortcut {
  value: Buffer;
  words: Int32Array;
}

/** A trie's shortcut here: its leaf hash kept as words (what the branches above hash), as bytes only when asked. */
class HeldLeaf implements Held {
  constructor(
    readonly key: Buffer,
    readonly value: Buffer,
    readonly words: Int32Array,
  ) {}

  get leaf(): Hash {
    return bytesOf(this.words);
  }
}

/**
 * A branch as this tree hashes it: into words of its own (on the heap: no ArrayBuffer of its own, whose backing store
 * costs more than the hash), rewritten in place when a write below clears the trie's mark, `hash`; here the mark is
 * CURRENT (no bytes: `hashOf` copies the words out), so nothing else may read a branch's `hash` as its hash.
 */
interface Hashed {
  children: [TrieNode | undefined, TrieNode | undefined];
  hash?: Hash;
  words?: Int32Array;
}
const CURRENT: Hash = new Uint8Array(0);

const EMPTY_WORDS = new Int32Array(8);

export function checkKey(key: Uint8Array): void {
  if (key.length !== KEY_SIZE) throw new SmtError(`key is ${key.length} bytes; sparse Merkle keys are ${KEY_SIZE} bytes`);
}

/** A trie node's hash as words (a branch's computed once per write below it; the live words, not a copy). */
function wordsOf(node: TrieNode | undefined): Int32Array {
  if (node === undefined) return EMPTY_WORDS;
  if (isShortcut(node)) return (node as Held).words;
  const b = node as Hashed;
  let w = b.words;
  if (b.hash !== CURRENT || w === undefined) {
    w ??= b.words = new Int32Array(8);
    nodeHashWords(wordsOf(b.children[0]), 0, wordsOf(b.children[1]), 0, w, 0);
    b.hash = CURRENT;
  }
  return w;
}

/** A trie node's hash (a copy). */
export function hashOf(node: TrieNode | undefined): Hash {
  if (node === undefined) return CSMT_EMPTY;
  return bytesOf(wordsOf(node));
}

/**
 * ../smt/trie.ts's `insert` on the live trie (the same trie: a branch down every prefix two keys share, the shortcut
 * at the top of each one-key subtree), without its recursion and ownership checks: the hot path of every write.
 */
function put(root: TrieNode | undefined, s: Held): TrieNode {
  let parent: Hashed | undefined;
  let side = 0;
  let node = root;
  let depth = 0;
  while (node !== undefined && !isShortcut(node)) {
    node.hash = undefined; // a write below: hashed again when asked
    parent = node as Hashed;
    side = bit(s.key, depth++);
    node = parent.children[side];
  }
  let here: TrieNode = s;
  if (node !== undefined && !node.key.equals(s.key)) {
    // Two keys share this subtree: branches down to where their paths part, each key below on its own side.
    const top: Hashed = { children: [undefined, undefined], hash: undefined };
    let b = top;
    for (let d = depth; ; d++) {
      const a = bit(node.key, d);
      if (a !== bit(s.key, d)) {
        b.children[a] = node;
        b.children[a ^ 1] = s;
        break;
      }
      const next: Hashed = { children: [undefined, undefined], hash: undefined };
      b.children[a] = next;
      b = next;
    }
    here = top;
  }
  if (parent === undefined) return here;
  parent.children[side] = here;
  return root!;
}

export class CompactMerkleTree {
  /** The trie; read by proof.ts's prover. */
  trie: TrieNode | undefined;
  /** Calls of `setMany` and `setManyOwned` so far (a reader caching values learns the tree was written). */
  writes = 0;

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
    const own: [Buffer, Buffer | undefined][] = [];
    for (const [key, value] of writes) {
      checkKey(key);
      own.push([Buffer.from(key), value === undefined ? undefined : Buffer.from(value)]);
    }
    return this.setManyOwned(own);
  }

  /** `setMany` of keys and values this tree may keep as they are: the caller never changes them (no copies). */
  setManyOwned(writes: readonly (readonly [Buffer, Buffer | undefined])[]): Hash {
    this.writes++;
    for (const [k, v] of writes) {
      checkKey(k);
      if (v === undefined) this.trie = remove(this.trie, 0, k, LIVE);
      else {
        this.trie = put(this.trie, new HeldLeaf(k, v, valueLeafWords(k, v)));
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
