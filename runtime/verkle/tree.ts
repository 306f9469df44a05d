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

export class VerkleTree {
  readonly #root: Inner = newInner();
  #size = 0;
  #dirty = 0;

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
    if (this.#dirty > PRECOMPUTE_ABOVE) precomputeBasis();
    commitTree(verkleDomain(), this.#root);
    this.#dirty = 0;
  }
}
