/**
 * An in-memory Merkle tree: every perfect-subtree node kept level by level in contiguous byte arrays (32 bytes
 * per node, no per-node objects), plus the compact range that appends extend. Because a perfect node never
 * changes once created, any past tree size can be served: roots, inclusion and consistency proofs at size s
 * read only nodes inside [0, s). Tiles (C2SP tlog-tiles) are contiguous slices of level 8·L.
 *
 * Invariant: level L holds exactly floor(size / 2^L) nodes.
 */
import { CompactRange } from "./compact.js";
import { consistencyProof, inclusionProof, rangeHash, subtreeConsistencyProof, subtreeInclusionProof, type NodeReader } from "./proof/generate.js";
import { type Hash, HASH_SIZE, leafHash } from "./rfc6962.js";

class Level {
  private buf = new Uint8Array(HASH_SIZE * 1024);
  count = 0;

  push(h: Hash): void {
    if ((this.count + 1) * HASH_SIZE > this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf.set(h, this.count * HASH_SIZE);
    this.count++;
  }

  /** A view (not a copy) of node i; valid until the level grows. */
  get(i: number): Hash {
    if (i < 0 || i >= this.count) throw new RangeError(`no node ${i} at this level (have ${this.count})`);
    return this.buf.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);
  }

  slice(from: number, to: number): Uint8Array {
    return this.buf.slice(from * HASH_SIZE, to * HASH_SIZE);
  }
}

export class MerkleTree {
  private readonly levels: Level[] = [];
  private readonly range = CompactRange.empty();
  readonly read: NodeReader = (level, index) => {
    const l = this.levels[level];
    if (!l) throw new RangeError(`no level ${level}`);
    return l.get(index);
  };

  get size(): number {
    return this.range.size;
  }

  /** Append an entry; returns its index. */
  appendEntry(entry: Uint8Array): number {
    return this.appendLeafHash(leafHash(entry));
  }

  appendLeafHash(leaf: Hash): number {
    const index = this.range.size;
    this.range.append(leaf, this.keep);
    return index;
  }

  private readonly keep = (level: number, _index: number, h: Hash): void => {
    let l = this.levels[level];
    if (!l) this.levels[level] = l = new Level();
    l.push(h);
  };

  root(): Hash {
    return this.range.root();
  }

  private checkSize(size: number): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.size) throw new RangeError(`tree size ${size} is not in 0..${this.size}`);
  }

  /** Root of the tree as it was at `size` leaves. */
  rootAt(size: number): Hash {
    this.checkSize(size);
    return size === this.size ? this.range.root() : rangeHash(0, size, this.read);
  }

  leafHash(index: number): Hash {
    return this.read(0, index);
  }

  inclusionProof(index: number, size = this.size): Hash[] {
    this.checkSize(size);
    return inclusionProof(index, size, this.read, this.borderHash);
  }

  // Right-border subtrees [lo, size) are imperfect and cost several hashes each; proofs cluster on a few sizes
  // (the published checkpoints), so memoise them for the most recent size asked about.
  private border = { size: -1, hashes: new Map<number, Hash>() };
  private readonly borderHash = (lo: number, hi: number): Hash => {
    if (this.border.size !== hi) this.border = { size: hi, hashes: new Map() };
    let h = this.border.hashes.get(lo);
    if (!h) this.border.hashes.set(lo, (h = rangeHash(lo, hi, this.read)));
    return h;
  };

  consistencyProof(size1: number, size2 = this.size): Hash[] {
    this.checkSize(size2);
    return consistencyProof(size1, size2, this.read);
  }

  subtreeInclusionProof(index: number, start: number, end: number): Hash[] {
    this.checkSize(end);
    return subtreeInclusionProof(index, start, end, this.read);
  }

  subtreeConsistencyProof(start: number, end: number, size = this.size): Hash[] {
    this.checkSize(size);
    return subtreeConsistencyProof(start, end, size, this.read);
  }

  subtreeRoot(start: number, end: number): Hash {
    this.checkSize(end);
    return rangeHash(start, end, this.read);
  }

  /** Number of nodes at a level (tile level L is tree level 8·L). */
  nodesAt(level: number): number {
    return this.levels[level]?.count ?? 0;
  }

  /** Concatenated hashes of nodes [from, to) at a level. */
  nodes(level: number, from: number, to: number): Uint8Array {
    const l = this.levels[level];
    if (!l || to > l.count || from < 0 || from > to) throw new RangeError(`nodes [${from}, ${to}) not available at level ${level}`);
    return l.slice(from, to);
  }
}
