/**
 * The trie's nodes and their RLP encoding (Yellow Paper Appendix D):
 *   leaf      [HP(path, leaf=1), value]
 *   extension [HP(path, leaf=0), ref(child)]            child is always a branch in a canonical trie
 *   branch    [ref(c0) … ref(c15), value or ""]
 * ref(node) is keccak-256(RLP(node)) when RLP(node) is 32 bytes or longer, and the node's RLP structure itself
 * embedded in its parent when shorter (the inlining rule); an empty slot is the empty string. The root is
 * always referenced by hash. Nodes are immutable: an update builds new nodes along one path, so a node's
 * encoding is computed once and cached.
 */
import { decode as rlpDecode, encode as rlpEncode, type NestedUint8Array } from "@ethereumjs/rlp";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { MptError } from "./errors.js";
import { commonPrefixLength, concatNibbles, hexPrefixDecode, hexPrefixEncode, type Nibbles } from "./nibbles.js";

/** An RLP item as the codec sees it: a byte string or a list of items. */
export type RlpItem = Uint8Array | NestedUint8Array;

export interface LeafNode {
  readonly kind: "leaf";
  readonly path: Nibbles;
  readonly value: Uint8Array;
}
export interface ExtensionNode {
  readonly kind: "extension";
  readonly path: Nibbles;
  readonly child: TrieNode;
}
export interface BranchNode {
  readonly kind: "branch";
  readonly children: readonly (TrieNode | null)[];
  readonly value: Uint8Array | null;
}
/** A subtree known only by its reference (a 32-byte hash or an embedded node), as a proof carries it. */
export interface OpaqueNode {
  readonly kind: "opaque";
  readonly ref: RlpItem;
}
export type TrieNode = LeafNode | ExtensionNode | BranchNode | OpaqueNode;

const EMPTY = new Uint8Array(0);
/** keccak-256(RLP("")): the root of the empty trie. */
export const EMPTY_ROOT = keccak_256(rlpEncode(EMPTY));

const encodings = new WeakMap<TrieNode, { raw: RlpItem; rlp: Uint8Array }>();

function rawOf(node: TrieNode): RlpItem {
  switch (node.kind) {
    case "leaf":
      return [hexPrefixEncode(node.path, true), node.value];
    case "extension":
      return [hexPrefixEncode(node.path, false), refOf(node.child)];
    case "branch":
      return [...node.children.map((c) => (c ? refOf(c) : EMPTY)), node.value ?? EMPTY];
    case "opaque":
      throw new MptError("an opaque subtree has no encoding of its own, only a reference");
  }
}

/** RLP of a node (cached). */
export function encodeNode(node: TrieNode): Uint8Array {
  return encoded(node).rlp;
}

function encoded(node: TrieNode): { raw: RlpItem; rlp: Uint8Array } {
  let e = encodings.get(node);
  if (!e) {
    const raw = rawOf(node);
    e = { raw, rlp: rlpEncode(raw) };
    encodings.set(node, e);
  }
  return e;
}

/** How a parent refers to `node`: its hash, or the node itself when its RLP is under 32 bytes. */
function refOf(node: TrieNode): RlpItem {
  if (node.kind === "opaque") return node.ref;
  const e = encoded(node);
  return e.rlp.length < 32 ? e.raw : keccak_256(e.rlp);
}

/** The root hash of a (sub)trie: keccak-256 of the root node's RLP, whatever its length. */
export function rootHashOf(node: TrieNode | null): Uint8Array {
  if (node === null) return EMPTY_ROOT;
  if (node.kind === "opaque") {
    if (node.ref instanceof Uint8Array && node.ref.length === 32) return node.ref;
    return keccak_256(rlpEncode(node.ref));
  }
  return keccak_256(encodeNode(node));
}

const emptyChildren = (): (TrieNode | null)[] => new Array<TrieNode | null>(16).fill(null);

/** A trie holding `value` at `path` and everything `node` holds elsewhere. */
export function insert(node: TrieNode | null, path: Nibbles, value: Uint8Array): TrieNode {
  if (node === null) return { kind: "leaf", path, value };
  switch (node.kind) {
    case "opaque":
      throw new MptError("cannot insert below a subtree known only by its hash");
    case "branch": {
      if (path.length === 0) return { kind: "branch", children: node.children, value };
      const children = [...node.children];
      children[path[0]!] = insert(children[path[0]!] ?? null, path.subarray(1), value);
      return { kind: "branch", children, value: node.value };
    }
    case "leaf":
    case "extension": {
      const p = commonPrefixLength(node.path, path);
      if (node.kind === "leaf" && p === node.path.length && p === path.length) return { kind: "leaf", path, value };
      if (node.kind === "extension" && p === node.path.length) return { kind: "extension", path: node.path, child: insert(node.child, path.subarray(p), value) };
      // The paths part at nibble p: a branch there holds both.
      const children = emptyChildren();
      let branchValue: Uint8Array | null = null;
      if (node.kind === "leaf") {
        if (p === node.path.length) branchValue = node.value;
        else children[node.path[p]!] = { kind: "leaf", path: node.path.subarray(p + 1), value: node.value };
      } else {
        const rest = node.path.subarray(p + 1);
        children[node.path[p]!] = rest.length === 0 ? node.child : { kind: "extension", path: rest, child: node.child };
      }
      if (p === path.length) branchValue = value;
      else children[path[p]!] = { kind: "leaf", path: path.subarray(p + 1), value };
      const branch: BranchNode = { kind: "branch", children, value: branchValue };
      return p === 0 ? branch : { kind: "extension", path: path.subarray(0, p), child: branch };
    }
  }
}

/** Prefix `path` onto `node`, merging paths so the trie stays canonical (no extension above a leaf or extension). */
function prefixed(path: Nibbles, node: TrieNode): TrieNode {
  if (path.length === 0) return node;
  if (node.kind === "leaf") return { kind: "leaf", path: concatNibbles(path, node.path), value: node.value };
  if (node.kind === "extension") return { kind: "extension", path: concatNibbles(path, node.path), child: node.child };
  return { kind: "extension", path, child: node };
}

/** A trie without the value at `path` (the same node when there was none). */
export function remove(node: TrieNode | null, path: Nibbles): TrieNode | null {
  if (node === null) return null;
  switch (node.kind) {
    case "opaque":
      throw new MptError("cannot delete below a subtree known only by its hash");
    case "leaf":
      return commonPrefixLength(node.path, path) === path.length && path.length === node.path.length ? null : node;
    case "extension": {
      if (commonPrefixLength(node.path, path) < node.path.length) return node;
      const child = remove(node.child, path.subarray(node.path.length));
      if (child === node.child) return node;
      return child === null ? null : prefixed(node.path, child);
    }
    case "branch": {
      let children = node.children;
      let value = node.value;
      if (path.length === 0) {
        if (value === null) return node;
        value = null;
      } else {
        const before = children[path[0]!] ?? null;
        const after = remove(before, path.subarray(1));
        if (after === before) return node;
        children = [...children];
        (children as (TrieNode | null)[])[path[0]!] = after;
      }
      const used = children.flatMap((c, i) => (c ? [i] : []));
      if (used.length + (value ? 1 : 0) >= 2) return { kind: "branch", children, value };
      // One thing left: the branch collapses into it.
      if (value) return { kind: "leaf", path: new Uint8Array(0), value };
      if (used.length === 0) return null;
      const only = children[used[0]!]!;
      if (only.kind === "opaque") throw new MptError("cannot collapse a branch onto a subtree known only by its hash");
      return prefixed(Uint8Array.of(used[0]!), only);
    }
  }
}

/** A node decoded from its RLP, child references left opaque. Throws MptError naming what is malformed. */
export function decodeNode(item: RlpItem): TrieNode | null {
  if (item instanceof Uint8Array) {
    if (item.length === 0) return null; // the empty trie's root node, RLP("")
    throw new MptError(`a trie node is an RLP list; got a ${item.length}-byte string`);
  }
  if (item.length === 17) {
    const children = item.slice(0, 16).map((c, i) => childRef(c, `branch child ${i}`));
    const v = item[16]!;
    if (!(v instanceof Uint8Array)) throw new MptError("branch value is a list; expected a byte string");
    return { kind: "branch", children, value: v.length === 0 ? null : v };
  }
  if (item.length === 2) {
    const [hp, second] = item as [RlpItem, RlpItem];
    if (!(hp instanceof Uint8Array)) throw new MptError("leaf/extension path is a list; expected a hex-prefix byte string");
    const { path, leaf } = hexPrefixDecode(hp);
    if (leaf) {
      if (!(second instanceof Uint8Array)) throw new MptError("leaf value is a list; expected a byte string");
      return { kind: "leaf", path, value: second };
    }
    const child = childRef(second, "extension child");
    if (child === null) throw new MptError("extension node has an empty child");
    return { kind: "extension", path, child };
  }
  throw new MptError(`a trie node is a list of 2 (leaf/extension) or 17 (branch) items; got ${item.length}`);
}

function childRef(item: RlpItem, what: string): OpaqueNode | null {
  if (item instanceof Uint8Array) {
    if (item.length === 0) return null;
    if (item.length !== 32) throw new MptError(`${what} is a ${item.length}-byte string; expected a 32-byte hash or an embedded node`);
  } else if (rlpEncode(item).length >= 32) {
    throw new MptError(`${what} is embedded but its RLP is 32 bytes or longer; it must be referenced by hash`);
  }
  return { kind: "opaque", ref: item };
}

/** Decode RLP bytes into a node; MptError when they are not RLP. */
export function decodeNodeBytes(bytes: Uint8Array): TrieNode | null {
  let item: RlpItem;
  try {
    item = rlpDecode(bytes);
  } catch (e) {
    throw new MptError(`not RLP: ${(e as Error).message}`);
  }
  return decodeNode(item);
}
