/**
 * A compact range over [0, size): the roots of the perfect subtrees that cover the leaves appended so far,
 * largest (leftmost) first, one per set bit of `size`: O(log n) state from which the root at this size follows
 * and to which the next leaf can be appended. It is the whole state a sequencer needs to extend the tree.
 *
 * Invariant: `hashes[i]` is the node at level `levels[i]` with levels strictly decreasing and
 * Σ 2^levels[i] = size. Appending merges equal-height neighbours exactly as binary addition carries.
 */
import { type Hash, EMPTY_ROOT, nodeHash } from "./rfc6962.js";

/** Called for every node the append creates (the leaf at level 0 included), so a store can keep them. */
export type NodeVisitor = (level: number, index: number, hash: Hash) => void;

export class CompactRange {
  private constructor(
    private size_: number,
    private readonly hashes: Hash[],
    private readonly levels: number[],
  ) {}

  static empty(): CompactRange {
    return new CompactRange(0, [], []);
  }

  /** Rebuild from stored subtree roots (the decomposition of `size`, largest first). */
  static fromSubtrees(size: number, hashes: Hash[]): CompactRange {
    const levels = decompose(size);
    if (levels.length !== hashes.length) throw new Error(`size ${size} needs ${levels.length} subtree hashes, got ${hashes.length}`);
    return new CompactRange(size, [...hashes], levels);
  }

  get size(): number {
    return this.size_;
  }

  /** The subtree roots, largest first. */
  subtrees(): Hash[] {
    return [...this.hashes];
  }

  append(leaf: Hash, visit?: NodeVisitor): void {
    let index = this.size_;
    let level = 0;
    let h = leaf;
    visit?.(0, index, h);
    // Carry: while the rightmost subtree has the same height, merge it with the new node.
    while (this.levels.length > 0 && this.levels[this.levels.length - 1] === level) {
      this.levels.pop();
      h = nodeHash(this.hashes.pop()!, h);
      level++;
      index = Math.floor(index / 2);
      visit?.(level, index, h);
    }
    this.hashes.push(h);
    this.levels.push(level);
    this.size_++;
  }

  /** Merkle Tree Hash of [0, size). */
  root(): Hash {
    if (this.hashes.length === 0) return EMPTY_ROOT;
    let h = this.hashes[this.hashes.length - 1]!;
    for (let i = this.hashes.length - 2; i >= 0; i--) h = nodeHash(this.hashes[i]!, h);
    return h;
  }
}

/** Levels of the perfect subtrees covering [0, size), largest first. */
export function decompose(size: number): number[] {
  const levels: number[] = [];
  for (let level = 52; level >= 0; level--) {
    const p = 2 ** level;
    if (Math.floor(size / p) % 2 === 1) levels.push(level);
  }
  return levels;
}
