// The Merkle-sum tree proof of escrow allocations (#22, §13.3.3): each region verifies its own leaf up to the
// published root and the root's totals. Attacks refused: a forged sibling sum, a published total that the root
// does not commit to, a negative value (how an operator would hide an oversell), an oversold region, a leaf
// whose numbers differ from the region's books. Known answers pin both hash constructions.
import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import fc from "fast-check";
import {
  buildSumTree,
  SUM_LEAF_DOMAIN,
  SUM_NODE_DOMAIN,
  sumLeafHash,
  sumNode,
  SumProofJson,
  sumProofJson,
  SumRootJson,
  sumRootJson,
  verifySumProof,
  type SumProof,
} from "../../../runtime/compliance/index.js";

const sha256 = (...parts: Uint8Array[]) => createHash("sha256").update(Buffer.concat(parts)).digest();
const u64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};
const REGIONS = [
  { region: "eu-west", sold: 41_250, allocation: 50_000 },
  { region: "us-east", sold: 60_000, allocation: 60_000 },
  { region: "ap-south", sold: 9_999, allocation: 20_000 },
  { region: "sa-east", sold: 0, allocation: 5_000 },
  { region: "af-south", sold: 1_200, allocation: 5_000 },
];
const clone = (p: SumProof): SumProof => SumProofJson.parse(JSON.parse(JSON.stringify(sumProofJson(p))));

describe("Merkle-sum tree (known answers)", () => {
  it("pins the leaf and node hashes", () => {
    expect([SUM_LEAF_DOMAIN, SUM_NODE_DOMAIN]).toEqual(["meridian/compliance/sum-leaf/v1", "meridian/compliance/sum-node/v1"]);
    const salt = Buffer.alloc(32, 0x5a);
    const leaf = sumLeafHash({ region: "eu-west", sold: 41250, allocation: 50000, salt });
    expect(Buffer.from(leaf).toString("hex")).toBe(sha256(Buffer.from("meridian/compliance/sum-leaf/v1\0"), salt, u64(41250), u64(50000), Buffer.from([0, 7]), Buffer.from("eu-west")).toString("hex"));
    expect(Buffer.from(leaf).toString("hex")).toBe("d2abc9e010c6d9797d35c086c5ccfb79ab6ffe6c64ceddb20ecfd210dd895793"); // Python hashlib over the same bytes;
    const r = { hash: Buffer.alloc(32, 1), sold: 3, allocation: 4 };
    const n = sumNode({ hash: leaf, sold: 41250, allocation: 50000 }, r);
    expect(n).toMatchObject({ sold: 41253, allocation: 50004 });
    expect(Buffer.from(n.hash).toString("hex")).toBe(sha256(Buffer.from("meridian/compliance/sum-node/v1\0"), leaf, u64(41250), u64(50000), r.hash, u64(3), u64(4)).toString("hex"));
    expect(Buffer.from(n.hash).toString("hex")).toBe("e7fd668a35f1022e8237e004769b8c32cc045386ed4ca13df883b8506828cc6d");
  });
});

describe("Merkle-sum tree proofs of escrow allocations", () => {
  const { root, proofs } = buildSumTree(REGIONS, 150_000);

  it("every region verifies its own leaf against the published root, whose totals are the sums", () => {
    expect(root).toMatchObject({ sold: 112_449, allocation: 140_000, regions: 5, capacity: 150_000 });
    const published = SumRootJson.parse(JSON.parse(JSON.stringify(sumRootJson(root))));
    for (const [i, p] of proofs.entries()) {
      const r = REGIONS[i]!;
      expect(verifySumProof(clone(p), published, { sold: r.sold, allocation: r.allocation })).toEqual({ ...r, totals: { sold: 112_449, allocation: 140_000 } });
    }
  });

  it("a forged sibling sum, a forged published total or a moved sibling is refused", () => {
    const p = clone(proofs[0]!);
    p.path[0]!.sold -= 1000; // the operator hides 1000 sold units in the sibling's sum
    expect(() => verifySumProof(p, { ...root, sold: root.sold - 1000 })).toThrow(/does not lead to the published root/);
    expect(() => verifySumProof(clone(proofs[0]!), { ...root, sold: root.sold - 1 })).toThrow(/root commits to totals sold 112449/);
    const s = clone(proofs[2]!);
    s.path[0]!.side = s.path[0]!.side === "left" ? "right" : "left";
    expect(() => verifySumProof(s, root)).toThrow(/does not lead to the published root/);
  });

  it("a negative value is refused: at build, in a leaf, and in a sibling sum", () => {
    expect(() => buildSumTree([...REGIONS, { region: "fake", sold: -10_000, allocation: 0 }])).toThrow(/sold is -10000: expected a non-negative integer/);
    const leaf = clone(proofs[1]!);
    leaf.allocation = -1;
    expect(() => verifySumProof(leaf, root)).toThrow(/non-negative|over its allocation/);
    const sib = clone(proofs[0]!);
    sib.path[1]!.sold = -5;
    expect(() => verifySumProof(sib, root)).toThrow(/sibling sold sum -5 is not a non-negative integer/);
  });

  it("an oversold region, allocations over capacity, or numbers other than the region's books are refused", () => {
    expect(() => buildSumTree([{ region: "eu-west", sold: 11, allocation: 10 }])).toThrow(/sold 11, over its allocation 10/);
    expect(() => buildSumTree(REGIONS, 100_000)).toThrow(/allocations total 140000, over the capacity 100000/);
    expect(() => verifySumProof(proofs[0]!, root, { sold: 41_000 })).toThrow(/its own books say 41000/);
    expect(() => verifySumProof(proofs[0]!, { ...root, capacity: 1 })).toThrow(/exceeds the capacity 1/);
  });

  it("for any regions within their allocations, every proof verifies and the root sums them (property)", () => {
    const regions = fc.uniqueArray(fc.record({ region: fc.stringMatching(/^[a-z]{1,8}$/), sold: fc.nat(1e9), extra: fc.nat(1e9) }), { minLength: 1, maxLength: 40, selector: (r) => r.region });
    fc.assert(
      fc.property(regions, (rs) => {
        const input = rs.map((r) => ({ region: r.region, sold: r.sold, allocation: r.sold + r.extra }));
        const t = buildSumTree(input);
        expect(t.root.sold).toBe(input.reduce((a, r) => a + r.sold, 0));
        for (const p of t.proofs) verifySumProof(p, t.root);
      }),
      { numRuns: 100 },
    );
  });
});
