import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { MerkleTree } from "../../../runtime/prooflog/tree.js";
import { CompactRange, decompose } from "../../../runtime/prooflog/compact.js";
import { EMPTY_ROOT, leafHash, nodeHash, type Hash } from "../../../runtime/prooflog/rfc6962.js";
import { ProofError, verifyConsistency, verifyInclusion, verifySubtreeConsistency, verifySubtreeInclusion } from "../../../runtime/prooflog/proof/verify.js";

const entry = (i: number) => Buffer.from(`entry-${i}`);

// RFC 6962 MTH written straight from the definition, as the reference.
function mth(leaves: Hash[]): Hash {
  if (leaves.length === 0) return EMPTY_ROOT;
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

const BIG = 100_000;
const big = new MerkleTree();
for (let i = 0; i < BIG; i++) big.appendEntry(entry(i));

function flip(proof: Hash[], which: number, bit: number): Hash[] {
  return proof.map((h, i) => {
    if (i !== which) return h;
    const c = Buffer.from(h);
    c[bit >> 3]! ^= 1 << (bit & 7);
    return c;
  });
}

describe("Merkle tree", () => {
  it("roots at every small size match the RFC definition, and the compact range agrees", () => {
    const leaves: Hash[] = [];
    const tree = new MerkleTree();
    const range = CompactRange.empty();
    expect(tree.root()).toEqual(EMPTY_ROOT);
    for (let i = 0; i < 300; i++) {
      leaves.push(leafHash(entry(i)));
      tree.appendEntry(entry(i));
      range.append(leafHash(entry(i)));
      expect(Buffer.from(tree.root())).toEqual(Buffer.from(mth(leaves)));
      expect(Buffer.from(range.root())).toEqual(Buffer.from(mth(leaves)));
    }
    for (let s = 0; s <= 300; s += 7) expect(Buffer.from(tree.rootAt(s))).toEqual(Buffer.from(mth(leaves.slice(0, s))));
    const restored = CompactRange.fromSubtrees(range.size, range.subtrees());
    expect(Buffer.from(restored.root())).toEqual(Buffer.from(range.root()));
    expect(decompose(13)).toEqual([3, 2, 0]);
  });

  it("compact ranges handle sizes beyond 2^32", () => {
    expect(decompose(2 ** 40 + 5)).toEqual([40, 2, 0]);
    const hashes = decompose(2 ** 33 + 1).map((l) => leafHash(Buffer.from([l])));
    const r = CompactRange.fromSubtrees(2 ** 33 + 1, hashes);
    r.append(leafHash(Buffer.from("x")));
    expect(r.size).toBe(2 ** 33 + 2);
    expect(r.subtrees()).toHaveLength(2);
  });

  it("property: every inclusion proof verifies and any bit flip fails (sizes up to 10^5)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: BIG }).chain((size) => fc.tuple(fc.constant(size), fc.integer({ min: 0, max: size - 1 }), fc.nat(), fc.nat(255))),
        ([size, index, w, bit]) => {
          const proof = big.inclusionProof(index, size);
          const root = big.rootAt(size);
          verifyInclusion(index, size, big.leafHash(index), proof, root);
          if (proof.length > 0) expect(() => verifyInclusion(index, size, big.leafHash(index), flip(proof, w % proof.length, bit), root)).toThrow(ProofError);
          const badLeaf = Buffer.from(big.leafHash(index));
          badLeaf[bit >> 3]! ^= 1 << (bit & 7);
          expect(() => verifyInclusion(index, size, badLeaf, proof, root)).toThrow(ProofError);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("property: every consistency proof verifies and any bit flip fails", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: BIG }).chain((s2) => fc.tuple(fc.integer({ min: 1, max: s2 }), fc.constant(s2), fc.nat(), fc.nat(255))),
        ([s1, s2, w, bit]) => {
          const proof = big.consistencyProof(s1, s2);
          verifyConsistency(s1, s2, proof, big.rootAt(s1), big.rootAt(s2));
          if (proof.length > 0) {
            expect(() => verifyConsistency(s1, s2, flip(proof, w % proof.length, bit), big.rootAt(s1), big.rootAt(s2))).toThrow(ProofError);
            expect(() => verifyConsistency(s1, s2, proof.slice(1), big.rootAt(s1), big.rootAt(s2))).toThrow(ProofError);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("property: subtree inclusion and subtree consistency proofs verify", () => {
    const subtree = fc.tuple(fc.integer({ min: 0, max: 16 }), fc.nat(), fc.nat(), fc.integer({ min: 0, max: BIG })).map(([level, i, w, extra]) => {
      const width = 2 ** level;
      const start = (i % Math.max(1, Math.floor(BIG / width))) * width;
      const end = Math.min(BIG, start + 1 + (w % width));
      const size = Math.min(BIG, end + extra);
      return { start, end, size };
    });
    fc.assert(
      fc.property(subtree, fc.nat(), ({ start, end, size }, j) => {
        const index = start + (j % (end - start));
        const subRoot = big.subtreeRoot(start, end);
        verifySubtreeInclusion(index, start, end, big.leafHash(index), big.subtreeInclusionProof(index, start, end), subRoot);
        const proof = big.subtreeConsistencyProof(start, end, size);
        verifySubtreeConsistency(start, end, size, proof, subRoot, big.rootAt(size));
        if (proof.length > 0) expect(() => verifySubtreeConsistency(start, end, size, flip(proof, j % proof.length, j % 256), subRoot, big.rootAt(size))).toThrow(ProofError);
      }),
      { numRuns: 300 },
    );
  });

  it("rejects sizes it does not have and indices beyond the size", () => {
    expect(() => big.rootAt(BIG + 1)).toThrow(RangeError);
    expect(() => big.inclusionProof(5, 5)).toThrow(RangeError);
    expect(() => verifyInclusion(2n ** 64n, 1, big.leafHash(0), [], big.rootAt(1))).toThrow(RangeError);
  });
});

describe("proof generation beyond 2^32 leaves", () => {
  // A virtual tree whose leaves are all equal: node (level, i) is then the same for every i, so any size is
  // consistent and can be read without storing anything — exactly what exercises index math past 32 bits.
  const perLevel: Hash[] = [leafHash(Buffer.from("same"))];
  for (let l = 1; l < 60; l++) perLevel.push(nodeHash(perLevel[l - 1]!, perLevel[l - 1]!));
  const read = (level: number) => perLevel[level]!;

  it("inclusion and consistency proofs at sizes around 2^33 and 2^40 verify", async () => {
    const { inclusionProof, consistencyProof, rangeHash } = await import("../../../runtime/prooflog/proof/generate.js");
    const cases: [number, number][] = [
      [2 ** 32 + 3, 2 ** 33 + 5],
      [2 ** 33 + 4, 2 ** 33 + 5],
      [0, 2 ** 40 + 2 ** 33 + 7],
      [2 ** 40 + 1, 2 ** 41],
    ];
    for (const [index, size] of cases) {
      const root = rangeHash(0, size, read);
      verifyInclusion(index, size, perLevel[0]!, inclusionProof(index, size, read), root);
      const old = index + 1;
      if (old < size) verifyConsistency(old, size, consistencyProof(old, size, read), rangeHash(0, old, read), root);
    }
  });
});
