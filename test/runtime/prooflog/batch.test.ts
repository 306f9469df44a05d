/**
 * Multi-leaf inclusion proofs (runtime/prooflog/proof/batch.ts): any non-empty subset of the leaves of any tree
 * size verifies against the root; dropping, adding, altering or reordering a hash, a leaf hash or an index is
 * refused; the proof is never larger than the single RFC 9162 proofs together and strictly smaller once two leaves
 * share a path (any two do: above their common ancestor); its hashes are exactly the single proofs' minus those the
 * batch derives. Known answers: the RFC 6962 test tree's inclusion vectors for leaves 0 and 5 (transparency-dev/merkle
 * testdata) make one batch proof that verifies under the vectors' root.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { REPO_ROOT } from "../../cli.js";
import { MerkleTree } from "../../../runtime/prooflog/tree.js";
import { batchInclusionProof, batchProofLength, verifyBatchInclusion } from "../../../runtime/prooflog/proof/batch.js";
import { ProofError, verifyInclusion } from "../../../runtime/prooflog/proof/verify.js";
import type { Hash } from "../../../runtime/prooflog/rfc6962.js";

const MAX = 300;
const tree = new MerkleTree();
for (let i = 0; i < MAX; i++) tree.appendEntry(Buffer.from(`batch-entry-${i}`));

const hex = (h: Hash) => Buffer.from(h).toString("hex");
const flip = (h: Hash, bit: number) => {
  const c = Buffer.from(h);
  c[(bit >> 3) % c.length]! ^= 1 << (bit & 7);
  return c;
};
const refused = (f: () => void) => expect(f).toThrow(ProofError);

// A tree size, then a non-empty sorted subset of its leaf indices.
const batch = fc.integer({ min: 1, max: MAX }).chain((size) =>
  fc.tuple(
    fc.constant(size),
    fc.uniqueArray(fc.nat(size - 1), { minLength: 1, maxLength: Math.min(size, 24) }).map((a) => a.sort((x, y) => x - y)),
  ),
);

describe("batch inclusion proofs", () => {
  it("any subset of the leaves of any tree size verifies; the hashes are the single proofs' minus the derivable ones", () => {
    fc.assert(
      fc.property(batch, ([size, indices]) => {
        const proof = batchInclusionProof(indices, size, tree.read);
        const leaves = indices.map((i) => tree.leafHash(i));
        verifyBatchInclusion(size, indices, leaves, proof, tree.rootAt(size));
        expect(proof.length).toBe(batchProofLength(indices, size));

        const singles = indices.map((i) => tree.inclusionProof(i, size));
        singles.forEach((p, k) => verifyInclusion(indices[k]!, size, leaves[k]!, p, tree.rootAt(size)));
        const total = singles.reduce((n, p) => n + p.length, 0);
        expect(proof.length).toBeLessThanOrEqual(total);
        if (indices.length >= 2) expect(proof.length).toBeLessThan(total);
        // Every batch hash is one some single proof carries (nothing new is revealed).
        const union = new Set(singles.flat().map(hex));
        for (const h of proof) expect(union.has(hex(h))).toBe(true);
        // One leaf: exactly its RFC 9162 inclusion proof, as a set.
        if (indices.length === 1) expect(proof.map(hex).sort()).toEqual(singles[0]!.map(hex).sort());
      }),
      { numRuns: 300 },
    );
  });

  it("removing, altering or reordering any hash, leaf hash or index is refused", () => {
    fc.assert(
      fc.property(batch, fc.nat(), fc.nat(255), ([size, indices], pick, bit) => {
        const proof = batchInclusionProof(indices, size, tree.read);
        const leaves = indices.map((i) => tree.leafHash(i));
        const root = tree.rootAt(size);
        const verify = (s: number, idx: number[], lv: Hash[], p: Hash[]) => () => verifyBatchInclusion(s, idx, lv, p, root);
        if (proof.length > 0) {
          const j = pick % proof.length;
          refused(
            verify(
              size,
              indices,
              leaves,
              proof.filter((_, k) => k !== j),
            ),
          );
          refused(
            verify(
              size,
              indices,
              leaves,
              proof.map((h, k) => (k === j ? flip(h, bit) : h)),
            ),
          );
          refused(verify(size, indices, leaves, [...proof, proof[j]!]));
          if (proof.length >= 2 && hex(proof[0]!) !== hex(proof[1]!)) refused(verify(size, indices, leaves, [proof[1]!, proof[0]!, ...proof.slice(2)]));
        }
        const k = pick % indices.length;
        refused(
          verify(
            size,
            indices,
            leaves.map((h, m) => (m === k ? flip(h, bit) : h)),
            proof,
          ),
        );
        // An index dropped (with its leaf hash), or moved to a leaf outside the batch.
        if (indices.length >= 2)
          refused(
            verify(
              size,
              indices.filter((_, m) => m !== k),
              leaves.filter((_, m) => m !== k),
              proof,
            ),
          );
        const free = [...Array(size).keys()].filter((i) => !indices.includes(i));
        if (free.length > 0) {
          const moved = [...indices.filter((_, m) => m !== k), free[pick % free.length]!];
          const order = moved.map((i, m) => [i, m] as const).sort((a, b) => a[0] - b[0]);
          const movedLeaves = [...leaves.filter((_, m) => m !== k), leaves[k]!];
          refused(
            verify(
              size,
              order.map(([i]) => i),
              order.map(([, m]) => movedLeaves[m]!),
              proof,
            ),
          );
        }
        // The proof of one tree size against the next size's root.
        if (size < MAX) refused(() => verifyBatchInclusion(size + 1, indices, leaves, proof, tree.rootAt(size + 1)));
      }),
      { numRuns: 300 },
    );
  });

  it("refuses a malformed batch before hashing: unsorted, duplicate or out-of-range indices, missing leaf hashes", () => {
    const root = tree.rootAt(10);
    const lv = (idx: number[]) => idx.map((i) => tree.leafHash(i));
    const p = batchInclusionProof([2, 7], 10, tree.read);
    expect(() => verifyBatchInclusion(10, [7, 2], lv([7, 2]), p, root)).toThrow(/strictly ascending/);
    expect(() => verifyBatchInclusion(10, [2, 2], lv([2, 2]), p, root)).toThrow(/strictly ascending/);
    expect(() => verifyBatchInclusion(10, [2, 10], lv([2, 9]), p, root)).toThrow(/below tree size 10/);
    expect(() => verifyBatchInclusion(10, [2, 7], lv([2]), p, root)).toThrow(/1 leaf hashes for 2 indices/);
    expect(() => verifyBatchInclusion(10, [], [], p, root)).toThrow(/at least one leaf/);
    expect(() => verifyBatchInclusion(10, [2, 7], lv([2, 7]), [...p.slice(0, -1), Buffer.alloc(31)], root)).toThrow(/31 bytes/);
  });

  it("known answer: the RFC 6962 test tree's vectors for leaves 0 and 5 make a 4-hash batch proof of {0, 5}", () => {
    const vec = (n: number) =>
      JSON.parse(readFileSync(resolve(REPO_ROOT, `test/testdata/rfc6962-merkle/testdata/inclusion/${n}/happy-path.json`), "utf8")) as {
        leafIdx: number;
        treeSize: number;
        root: string;
        leafHash: string;
        proof: string[];
      };
    const [a, b] = [vec(1), vec(2)];
    expect([a.leafIdx, b.leafIdx, a.treeSize, b.treeSize, a.root]).toEqual([0, 5, 8, 8, b.root]);
    const h = (s: string) => Buffer.from(s, "base64");
    // Leaf 0's proof: leaf 1, node [2,4), node [4,8); leaf 5's: leaf 4, node [6,8), node [0,4). The batch derives
    // [4,8) and [0,4) from its own leaves and keeps the rest, left to right.
    const proof = [a.proof[0]!, a.proof[1]!, b.proof[0]!, b.proof[1]!].map(h);
    verifyBatchInclusion(8, [0, 5], [h(a.leafHash), h(b.leafHash)], proof, h(a.root));
    expect(batchProofLength([0, 5], 8)).toBe(4);
    refused(() => verifyBatchInclusion(8, [0, 5], [h(a.leafHash), h(b.leafHash)], [...proof, h(a.proof[2]!)], h(a.root)));
    // The same batch generated from a tree with the RFC's eight test leaves.
    const rfc = new MerkleTree();
    for (const e of ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]) rfc.appendEntry(Buffer.from(e, "hex"));
    expect(batchInclusionProof([0, 5], 8, rfc.read).map(hex)).toEqual(proof.map(hex));
  });
});
