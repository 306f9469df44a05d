/** The Verkle tree: a width-256 trie of KZG vector commitments over 32-byte keys (see node.ts for the layout). */
import { VerkleError } from "./errors.js";
import { commitTree, KEY_BYTES, newInner, STEM_BYTES, type Inner, type Leaf, type TreeNode } from "./node.js";
import { proveKeys, type VerkleProof } from "./proof.js";
import { precomputeBasis, verkleDomain } from "./setup.js";

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) throw new VerkleError(`key is ${key?.length} bytes; a Verkle key is ${KEY_BYTES} (31-byte stem + 1-byte suffix)`);
}

/** Above this many values set since the last commit, the basis window tables (a few seconds once) pay for themselves. */
const PRECOMPUTE_ABOVE = 2_000;
/** From this many, the wider (window 8) tables pay for themselves. */
const WIDE_WINDOW_FROM = 100_000;

/**
 * The subtree below `depth` holding `leaves` (sorted by stem, distinct): the leaf itself when it is alone there
 * (below the root), else an inner node whose children split the leaves by their stem byte at `depth`.
 */
function subtree(leaves: readonly Leaf[], lo: number, hi: number, depth: number): TreeNode {
  if (hi - lo === 1 && depth > 0) return leaves[lo]!;
  const node = newInner();
  for (let start = lo; start < hi;) {
    const slot = leaves[start]!.stem[depth]!;
    let end = start + 1;
    while (end < hi && leaves[end]!.stem[depth] === slot) end++;
    node.children[slot] = subtree(leaves, start, end, depth + 1);
    start = end;
  }
  return node;
}

export class VerkleTree {
  readonly #root: Inner = newInner();
  #size = 0;
  #dirty = 0;

  /**
   * The tree of `entries` built at once (a later entry for the same key wins, as with put): the keys are sorted
   * and grouped by stem, each node is created once in its final place, and commitments are computed once bottom-up
   * when the root is asked for — the same tree, and so the same root, as putting the entries one by one.
   */
  static fromEntries(entries: Iterable<readonly [Uint8Array, Uint8Array]>): VerkleTree {
    const byKey = new Map<string, readonly [Uint8Array, Uint8Array]>();
    for (const entry of entries) {
      checkKey(entry[0]);
      byKey.set(Buffer.from(entry[0]).toString("latin1"), entry);
    }
    const sorted = [...byKey.values()].sort(([a], [b]) => Buffer.compare(a, b));
    const leaves: Leaf[] = [];
    for (const [key, value] of sorted) {
      const last = leaves.at(-1);
      const stem = key.subarray(0, STEM_BYTES);
      const leaf = last && Buffer.compare(last.stem, stem) === 0 ? last : leaves[leaves.push({ kind: "leaf", stem: Uint8Array.from(stem), values: new Map() }) - 1]!;
      leaf.values.set(key[STEM_BYTES]!, Uint8Array.from(value));
    }
    const tree = new VerkleTree();
    if (leaves.length > 0) tree.#root.children = (subtree(leaves, 0, leaves.length, 0) as Inner).children;
    tree.#size = sorted.length;
    tree.#dirty = sorted.length;
    return tree;
  }

  get size(): number {
    return this.#size;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    checkKey(key);
    let node: TreeNode | undefined = this.#root;
    for (let d = 0; node?.kind === "inner"; d++) node = node.children[key[d]!];
    return node && Buffer.compare(node.stem, key.subarray(0, STEM_BYTES)) === 0 ? node.values.get(key[STEM_BYTES]!) : undefined;
  }

  put(key: Uint8Array, value: Uint8Array): void {
    checkKey(key);
    const stem = key.slice(0, STEM_BYTES);
    let node: Inner = this.#root;
    for (let d = 0; ; d++) {
      this.#touch(node);
      const child = node.children[stem[d]!];
      if (child === undefined) {
        const leaf: Leaf = { kind: "leaf", stem, values: new Map() };
        node.children[stem[d]!] = leaf;
        return this.#set(leaf, key[STEM_BYTES]!, value);
      }
      if (child.kind === "inner") {
        node = child;
        continue;
      }
      if (Buffer.compare(child.stem, stem) === 0) return this.#set(child, key[STEM_BYTES]!, value);
      // Another stem shares this prefix: push it down one level and keep walking.
      const inner = newInner();
      inner.children[child.stem[d + 1]!] = child;
      node.children[stem[d]!] = inner;
      node = inner;
    }
  }

  /** Remove the key; a leaf left empty goes, and an inner node left with one leaf below is replaced by that leaf. */
  delete(key: Uint8Array): boolean {
    checkKey(key);
    let removed = false;
    const walk = (node: Inner, d: number): TreeNode | undefined => {
      const slot = key[d]!;
      const child = node.children[slot];
      if (child === undefined) return node;
      if (child.kind === "leaf") {
        if (Buffer.compare(child.stem, key.subarray(0, STEM_BYTES)) !== 0 || !child.values.delete(key[STEM_BYTES]!)) return node;
        removed = true;
        this.#touch(child);
        if (child.values.size === 0) node.children[slot] = undefined;
      } else {
        const replaced = walk(child, d + 1);
        if (!removed) return node;
        node.children[slot] = replaced;
      }
      this.#touch(node);
      const left = node.children.filter((c) => c !== undefined);
      if (d > 0 && left.length === 0) return undefined;
      if (d > 0 && left.length === 1 && left[0]!.kind === "leaf") return left[0];
      return node;
    };
    walk(this.#root, 0);
    if (removed) this.#size--;
    return removed;
  }

  /** The root commitment, 48 bytes (compressed G1; the empty tree's is the point at infinity, 0xc0 00…). */
  root(): Uint8Array {
    this.#commit();
    return this.#root.c!.bytes;
  }

  /** One proof for all `keys` (present or absent): path commitments and a single 96-byte multiproof. */
  prove(keys: readonly Uint8Array[]): VerkleProof {
    keys.forEach(checkKey);
    this.#commit();
    return proveKeys(this.#root, keys);
  }

  /** Every entry as [key, value], in key order. */
  *entries(): Generator<[Uint8Array, Uint8Array]> {
    function* walk(node: TreeNode): Generator<[Uint8Array, Uint8Array]> {
      if (node.kind === "inner") {
        for (const child of node.children) if (child) yield* walk(child);
        return;
      }
      for (const suffix of [...node.values.keys()].sort((a, b) => a - b)) yield [Uint8Array.from([...node.stem, suffix]), node.values.get(suffix)!];
    }
    yield* walk(this.#root);
  }

  #set(leaf: Leaf, suffix: number, value: Uint8Array): void {
    if (!leaf.values.has(suffix)) this.#size++;
    leaf.values.set(suffix, Uint8Array.from(value));
    this.#touch(leaf);
    this.#dirty++;
  }

  #touch(node: TreeNode): void {
    node.c = undefined;
  }

  #commit(): void {
    if (this.#root.c) return;
    if (this.#dirty > PRECOMPUTE_ABOVE) precomputeBasis(this.#dirty >= WIDE_WINDOW_FROM ? 8 : 6);
    commitTree(verkleDomain(), this.#root);
    this.#dirty = 0;
  }
}
