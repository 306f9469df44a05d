/** The fast point encoding the tree commits with is G1's compressed encoding, byte for byte (both signs of y, infinity). */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { normalizeZ } from "@noble/curves/abstract/curve.js";
import { compressNormalized } from "../../../runtime/verkle/node.js";
import { G1 } from "../../../runtime/verkle/setup.js";

describe("compressNormalized", () => {
  it("encodes as G1.toBytes() does", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 2n ** 250n }), fc.boolean(), (k, neg) => {
        const p = G1.BASE.multiply(k).add(G1.BASE); // projective, Z ≠ 1
        const [q] = normalizeZ(G1, [neg ? p.negate() : p]);
        expect(Buffer.from(compressNormalized(q!)).toString("hex")).toBe(Buffer.from(q!.toBytes()).toString("hex"));
      }),
      { numRuns: 20 },
    );
    expect(Buffer.from(compressNormalized(G1.ZERO)).toString("hex")).toBe(Buffer.from(G1.ZERO.toBytes()).toString("hex"));
  });
});
