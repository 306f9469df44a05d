/**
 * The structured reference string: the vendored width-256 Lagrange basis (runtime/verkle/setup/lagrange256.txt)
 * agrees with the ceremony's [τ^k]G1 — a random polynomial commits to the same point from its evaluations in the
 * vendored basis and from its coefficients in the ceremony's monomial basis, which fails for any basis point
 * off by anything; a width-256 opening verifies, and a wrong value, point, commitment or proof is refused.
 */
import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { pippenger } from "@noble/curves/abstract/curve.js";
import { commit, open, verifyOpening } from "../../../runtime/verkle/kzg.js";
import { Fr } from "../../../runtime/verkle/field.js";
import { g1Monomial, G1, verkleDomain } from "../../../runtime/verkle/setup.js";

const scalar = (i: number) => Fr.create(BigInt(`0x${createHash("sha256").update(`coefficient ${i}`).digest("hex")}`));

describe("the width-256 basis", () => {
  it("commits a random degree-255 polynomial's evaluations as the ceremony's powers of τ commit its coefficients", () => {
    const domain = verkleDomain();
    const coefficients = Array.from({ length: 256 }, (_, i) => scalar(i));
    const evals = domain.roots.map((w) => coefficients.reduceRight((acc, c) => Fr.add(Fr.mul(acc, w), c), 0n));
    expect(commit(domain, evals).equals(pippenger(G1, g1Monomial(256), coefficients))).toBe(true);
    expect(domain.lagrange.reduce((a, p) => a.add(p), G1.ZERO).equals(G1.BASE)).toBe(true); // Σ L_j = 1
    expect(g1Monomial(1)[0]!.equals(G1.BASE)).toBe(true); // τ^0
  });

  it("opens inside and outside the domain; a wrong value, point or commitment is refused", () => {
    const domain = verkleDomain();
    const evals = Array.from({ length: 256 }, (_, i) => (i % 3 === 0 ? 0n : scalar(i)));
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
