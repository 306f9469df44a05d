/**
 * Adversarial escrow fraud proofs (runtime/fraud/escrow-log.ts on the compact SMT): over random honest histories, no
 * valid transition is provable as fraud — not with the honest proof, nor with reads whose values are bytes that the
 * root check accepts but the machine reads otherwise (a JSON array of the value's bytes: `checkEscrowFraudProof` is
 * also called without the court's schema, e.g. by `meridian fraud check`), a lying read or a proof item dropped, nulled
 * or moved — and a forged post root is always proven.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buyerOf, checkEscrowFraudProof, EscrowSequencer, proveEscrow, type EscrowFraudProof } from "../../../runtime/fraud/index.js";
import { generateKey, newSigner } from "../../../runtime/prooflog/index.js";

const ORIGIN = "meridian.test/escrow-adversarial";
const key = generateKey(ORIGIN);

/** An honest sequencer driven by random ops (only the valid ones are logged). */
function run(ops: readonly [number, number, number, number][]): EscrowSequencer {
  const s = new EscrowSequencer(ORIGIN, newSigner(key.signerKey));
  const buyers = [buyerOf("ann"), buyerOf("bo")];
  const regions = ["eu", "us"];
  for (const [op, a, b, q] of ops) {
    const region = regions[a % 2]!;
    const id = `r${b % 6}`;
    const buyer = buyers[b % 2]!;
    const tx = [
      { op: "refill", sku: "tix", region, qty: q + 1 },
      { op: "debit", sku: "tix", region, qty: q + 1 },
      { op: "reserve", sku: "tix", region, id, buyer, qty: q + 1, expiresAt: 100 },
      { op: "commit", sku: "tix", region, id, buyer },
      { op: "cancel", sku: "tix", region, id, buyer },
      { op: "expire", sku: "tix", region, id, at: 50 + q * 20 },
      { op: "void", sku: "tix", region, id },
      { op: "refund", sku: "tix", region, id },
    ][op % 8];
    try {
      s.submit(tx);
    } catch {
      // an invalid tx: an honest escrow does not log it
    }
  }
  return s;
}

const opsArb = fc.array(fc.tuple(fc.nat(7), fc.nat(3), fc.nat(11), fc.nat(4)), { minLength: 1, maxLength: 40 });

describe("escrow fraud proofs, adversarially", () => {
  it("property: no valid transition is proven fraudulent, with the honest proof or with reads given as byte arrays", () => {
    fc.assert(
      fc.property(opsArb, (ops) => {
        const s = run([[0, 0, 0, 3], ...ops]);
        const cp = s.checkpoint();
        expect(proveEscrow(cp, s.entries, key.verifierKey, ORIGIN)).toBeUndefined();
        for (let i = 0; i < s.entries.length; i++) {
          const p = proveEscrow(cp, s.entries, key.verifierKey, ORIGIN, i)!;
          expect(checkEscrowFraudProof(p, key.verifierKey, ORIGIN).fraud).toBe(false);
          // The same bytes as a JSON array: Buffer.from hashes them alike, so the pre root checks; the machine must not
          // then read something else and call the valid step invalid.
          const asBytes = { ...p, reads: p.reads!.map((r) => ({ ...r, value: r.value === null ? null : [...Buffer.from(r.value, "utf8")] })) } as unknown as EscrowFraudProof;
          expect(checkEscrowFraudProof(JSON.parse(JSON.stringify(asBytes)) as EscrowFraudProof, key.verifierKey, ORIGIN).fraud).toBe(false);
          // Nor with a lying read (absent, made up, changed) or a proof item dropped, nulled or moved.
          for (const [j, r] of p.reads!.entries())
            // (a lone surrogate encodes as U+FFFD: a string the machine reads apart from the leaf it hashes alike with)
            for (const value of [null, "1", `${r.value ?? ""}0`, `${r.value ?? ""}\ud800`, "\ufffd"]) {
              if (value === r.value) continue;
              const lie = { ...p, reads: p.reads!.map((x, k) => (k === j ? { ...x, value } : x)) };
              expect(checkEscrowFraudProof(lie, key.verifierKey, ORIGIN).fraud).toBe(false);
            }
          const items = p.proof!;
          for (let j = 0; j < items.length; j++)
            for (const bad of [items.toSpliced(j, 1), items.with(j, null), items.toSpliced(j, 1).toSpliced(0, 0, items[j]!)])
              expect(checkEscrowFraudProof({ ...p, proof: bad }, key.verifierKey, ORIGIN).fraud).toBe(false);
        }
      }),
      { numRuns: 40 },
    );
  });

  it("property: a forged post root after any honest history is proven by the honest challenger's proof", () => {
    fc.assert(
      fc.property(opsArb, fc.uint8Array({ minLength: 32, maxLength: 32 }), (ops, forged) => {
        const s = run([[0, 0, 0, 3], ...ops]);
        const pre = s.state.root();
        s.appendEntry({ pre, tx: { op: "refill", sku: "tix", region: "us", qty: 1 }, post: Buffer.from(forged) });
        const p = proveEscrow(s.checkpoint(), s.entries, key.verifierKey, ORIGIN)!;
        expect(p.challenged.index).toBe(s.entries.length - 1);
        expect(checkEscrowFraudProof(p, key.verifierKey, ORIGIN)).toEqual({ fraud: true, index: s.entries.length - 1, reason: expect.stringMatching(/post root is not the result of its refill/) });
      }),
      { numRuns: 30 },
    );
  });
});
