/**
 * The structured reference string: the vendored width-256 Lagrange basis (runtime/verkle/setup/lagrange256.txt) is
 * exactly what the ceremony's [τ^k]G1 give, and commitments in that basis agree with commitments in the monomial
 * basis; a width-256 opening verifies and a wrong value, point or commitment is refused.
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { pippenger } from "@noble/curves/abstract/curve.js";
import { commit, open, verifyOpening } from "../../../runtime/verkle/kzg.js";
import { Fr } from "../../../runtime/verkle/field.js";
import { deriveLagrange256, formatBasis, g1Monomial, G1, verkleDomain } from "../../../runtime/verkle/setup.js";

describe("the width-256 basis", () => {
  it("is the inverse DFT of the ceremony's first 256 powers of τ", () => {
    expect(formatBasis(deriveLagrange256())).toBe(readFileSync("runtime/verkle/setup/lagrange256.txt", "ascii"));
  });

  it("sums to the generator (Σ L_i = 1) and commits a polynomial's evaluations as its coefficients do", () => {
    const domain = verkleDomain();
    expect(domain.lagrange.reduce((a, p) => a.add(p), G1.ZERO).equals(G1.BASE)).toBe(true);
    const coefficients = [5n, 0n, 7n, Fr.neg(3n), 11n, 1n];
    const evals = domain.roots.map((w) => coefficients.reduceRight((acc, c) => Fr.add(Fr.mul(acc, w), c), 0n));
    expect(
      commit(domain, evals).equals(
        pippenger(
          G1,
          g1Monomial(coefficients.length),
          coefficients.map((c) => Fr.create(c)),
        ),
      ),
    ).toBe(true);
  });

  it("opens inside and outside the domain; a wrong value, point or commitment is refused", () => {
    const domain = verkleDomain();
    const evals = Array.from({ length: 256 }, (_, i) => (i % 3 === 0 ? 0n : Fr.create(BigInt(i) ** 40n)));
    const c = commit(domain, evals);
    for (const z of [domain.roots[7]!, 123456789n]) {
      const { y, proof } = open(domain, evals, z);
      if (z === domain.roots[7]) expect(y).toBe(evals[7]);
      expect(verifyOpening(c, z, y, proof)).toBe(true);
      expect(verifyOpening(c, z, Fr.add(y, 1n), proof)).toBe(false);
      expect(verifyOpening(c, Fr.add(z, 1n), y, proof)).toBe(false);
      expect(verifyOpening(c.add(G1.BASE), z, y, proof)).toBe(false);
      expect(verifyOpening(c, z, y, proof.add(G1.BASE))).toBe(false);
    }
  });
});
