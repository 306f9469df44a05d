/**
 * The sparse Merkle tree's stored form (smt.ts): a binary trie whose branches sit where two present keys' paths part,
 * with a shortcut leaf at the top of each subtree holding a single key; the hashes of the 256-level tree it stands
 * for (`hashOf`, a lone key's chain `lone`), and the writes (`insert`, `remove`) — in place on the live trie, or by
 * path copying for a staged batch (`Owner`).
 */
import { type Hash, nodeHash, nodeHashWords } from "../rfc6962.js";
import { bit, DEFAULT_WORDS, DEFAULTS, DEPTH } from "./hashing.js";

/**
 * The only key of its subtree: its leaf hash, the subtree's hash at the height it was last asked for, and its chain's
 * hash at height MID (below every shortcut but in a tree of ~2^32 keys sharing a prefix), so a key that another key's
 * insert pushes down a level is hashed up from MID (~20 hashes in a tree of thousands), not from its leaf (~240).
 */
export interface Shortcut {
  key: Buffer;
  leaf: Hash;
  top?: { height: number; hash: Hash };
  mid?: Hash;
}
const MID = DEPTH - 32;

/** Where two or more keys' paths part; `hash` is cached until a write below clears it. */
interface Branch {
  children: [TrieNode | undefined, TrieNode | undefined];
  hash?: Hash;
}

export type TrieNode = Shortcut | Branch;
export const isShortcut = (n: TrieNode): n is Shortcut => "key" in n;

/** Hash of the subtree at `height` whose only key is the shortcut's: its leaf hashed up past default siblings. */
export function lone(s: Shortcut, height: number): Hash {
  if (s.top?.height === height) return s.top.hash;
  const h = height < MID ? chain(s.key, s.leaf, 0, height) : chain(s.key, (s.mid ??= chain(s.key, s.leaf, 0, MID)), MID, height);
  s.top = { height, hash: h };
  return h;
}

const chainWords = new Int32Array(8);
/** `h`, the hash at height `from` of a subtree holding only `key`, hashed up to height `to` — as words, nothing allocated per level. */
function chain(key: Uint8Array, h: Hash, from: number, to: number): Hash {
  const w = chainWords;
  new Uint8Array(w.buffer).set(h);
  for (let i = from; i < to; i++) {
    if (bit(key, DEPTH - 1 - i) === 0) nodeHashWords(w, 0, DEFAULT_WORDS, i * 8, w, 0);
    else nodeHashWords(DEFAULT_WORDS, i * 8, w, 0, w, 0);
  }
  return new Uint8Array(w.slice().buffer);
}

export function hashOf(node: TrieNode | undefined, height: number): Hash {
  if (node === undefined) return DEFAULTS[height]!;
  if (isShortcut(node)) return lone(node, height);
  return (node.hash ??= nodeHash(hashOf(node.children[0], height - 1), hashOf(node.children[1], height - 1)));
}

/** Whether a and b agree on their first `bits` bits. */
export function samePrefix(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  const whole = bits >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const rest = bits & 7;
  return rest === 0 || ((a[whole]! ^ b[whole]!) & (0xff << (8 - rest)) & 0xff) === 0;
}

/** The first bit at or after `from` where a and b differ (DEPTH when they are equal from there). */
export function firstDifference(a: Uint8Array, b: Uint8Array, from: number): number {
  for (let i = from; i < DEPTH; i++) if (bit(a, i) !== bit(b, i)) return i;
  return DEPTH;
}

/**
 * Which trie nodes a write may change in place. The live tree owns all of its nodes; a staged write (`stage`) owns
 * only the nodes it made, and copies any other node on its path before changing it — path copying, so the live trie,
 * and every hash cached in it, stays as it was while the staged trie shares its untouched subtrees.
 */
export interface Owner {
  has(n: TrieNode): boolean;
  add(n: TrieNode): void;
}
export const LIVE: Owner = { has: () => true, add: () => undefined };

/** `node`, or (not owned) a copy of it to change: a branch's children, a shortcut moved to another height (its `top` is per height; `mid` is not). */
function owned<N extends TrieNode>(node: N, own: Owner): N {
  if (own.has(node)) return node;
  const copy = (isShortcut(node) ? { key: node.key, leaf: node.leaf, mid: node.mid } : { children: [node.children[0], node.children[1]] }) as N;
  own.add(copy);
  return copy;
}

export function insert(node: TrieNode | undefined, depth: number, s: Shortcut, own: Owner): TrieNode {
  if (node === undefined) return s;
  if (isShortcut(node)) {
    if (node.key.equals(s.key)) return s;
    // Two keys share this subtree: a branch here, each key going down its own side (again, if they still agree).
    const branch: Branch = { children: [undefined, undefined] };
    own.add(branch);
    branch.children[bit(node.key, depth)] = owned(node, own); // the shortcut moves down a level
    return insert(branch, depth, s, own);
  }
  const b = owned(node, own);
  const side = bit(s.key, depth);
  b.children[side] = insert(b.children[side], depth + 1, s, own);
  b.hash = undefined;
  return b;
}

/** Remove `key` below `node`; a branch left with a single shortcut below it becomes that shortcut. */
export function remove(node: TrieNode | undefined, depth: number, key: Buffer, own: Owner): TrieNode | undefined {
  if (node === undefined) return undefined;
  if (isShortcut(node)) return node.key.equals(key) ? undefined : node;
  const side = bit(key, depth);
  const child = remove(node.children[side], depth + 1, key, own);
  const b = owned(node, own);
  b.children[side] = child;
  b.hash = undefined;
  const [l, r] = b.children;
  if (l === undefined && r === undefined) return undefined;
  const only = l === undefined ? r! : r === undefined ? l : undefined;
  return only !== undefined && isShortcut(only) ? owned(only, own) : b; // the shortcut moves up to this branch's place
}
