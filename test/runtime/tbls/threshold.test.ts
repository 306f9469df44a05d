/**
 * (t, n) threshold BLS. The reference is @noble/curves' own BLS: the combined signature must verify with
 * bls12_381.shortSignatures.verify under the group key, and equal the signature noble makes with the group secret
 * directly (BLS signatures are unique). Shamir/Lagrange is checked against small hand-computed values.
 */
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { describe, expect, it, vi } from "vitest";
import { combine, deal, groupPublicKey, interpolate, partialSign, publicKeyShare, verifyGroupSignature, verifyPartial, verifyPartials, verifyShare } from "../../../runtime/tbls/index.js";
import { evaluate, Fr, lagrangeAtZero, scalarToBytes } from "../../../runtime/tbls/shamir.js";

const bls = bls12_381.shortSignatures;
/** noble's pairing checks (shortSignatures.verify), counted: the module as it is, its verify wrapped. */
const pairingChecks = vi.hoisted(() => ({ n: 0 }));
vi.mock("@noble/curves/bls12-381.js", async (original) => {
  const m = await original<typeof import("@noble/curves/bls12-381.js")>();
  const short = m.bls12_381.shortSignatures;
  const verify: typeof short.verify = (...args) => (pairingChecks.n++, short.verify(...args));
  return { ...m, bls12_381: { ...m.bls12_381, shortSignatures: { ...short, verify } } };
});
const message = new TextEncoder().encode("checkpoint example.com/log 42");
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

function subsets<T>(xs: readonly T[], size: number): T[][] {
  if (size === 0) return [[]];
  return xs.flatMap((x, i) => subsets(xs.slice(i + 1), size - 1).map((rest) => [x, ...rest]));
}

describe("Shamir over Fr", () => {
  it("evaluates and interpolates: hand-computed values", () => {
    // f(x) = 5 + 3x + 2x²: f(1) = 10, f(2) = 19, f(3) = 32.
    expect([1n, 2n, 3n].map((x) => evaluate([5n, 3n, 2n], x))).toEqual([10n, 19n, 32n]);
    // λ at 0 for {1, 2, 3}: 3, −3, 1; so 3·10 − 3·19 + 32 = 5.
    expect(lagrangeAtZero([1, 2, 3])).toEqual([3n, Fr.neg(3n), 1n]);
    const l = lagrangeAtZero([1, 2, 3]);
    expect(Fr.add(Fr.add(Fr.mul(l[0]!, 10n), Fr.mul(l[1]!, 19n)), Fr.mul(l[2]!, 32n))).toBe(5n);
    expect(() => lagrangeAtZero([1, 1])).toThrow(/distinct/);
  });
});

describe("3-of-5 threshold BLS with Feldman VSS", () => {
  const secret = 0x1234_5678_9abc_def0_1122_3344_5566_7788n;
  const dealing = deal(3, 5, secret);
  const groupKey = groupPublicKey(dealing.commitments);
  const partials = dealing.shares.map((s) => partialSign(message, s));

  it("the group key is the ordinary BLS public key of the group secret", () => {
    expect(hex(groupKey)).toBe(hex(bls.getPublicKey(scalarToBytes(secret)).toBytes()));
    expect(groupKey).toHaveLength(96);
  });

  it("every share passes Feldman's check; an altered share or a share under another index fails", () => {
    for (const s of dealing.shares) expect(verifyShare(dealing.commitments, s)).toBe(true);
    const s = dealing.shares[1]!;
    const altered = Uint8Array.from(s.secretKey);
    altered[31]! ^= 1;
    expect(verifyShare(dealing.commitments, { index: 2, secretKey: altered })).toBe(false);
    expect(verifyShare(dealing.commitments, { index: 3, secretKey: s.secretKey })).toBe(false);
    // The public key shares are the shares' BLS public keys.
    expect(hex(publicKeyShare(dealing.commitments, 4))).toBe(hex(bls.getPublicKey(dealing.shares[3]!.secretKey).toBytes()));
  });

  it("any 3 partial signatures combine into the group's BLS signature, which noble verifies", () => {
    const direct = hex(bls.Signature.toBytes(bls.sign(bls.hash(message), scalarToBytes(secret))));
    const sets = subsets(partials, 3);
    expect(sets).toHaveLength(10);
    for (const set of sets) {
      const sig = combine(3, set);
      expect(sig).toHaveLength(48);
      expect(bls.verify(sig, bls.hash(message), groupKey)).toBe(true);
      expect(hex(sig)).toBe(direct);
    }
    expect(verifyGroupSignature(new TextEncoder().encode("another message"), combine(3, partials.slice(0, 3)), groupKey)).toBe(false);
  });

  it("2 partial signatures cannot: combine refuses, and interpolating them anyway does not verify", () => {
    expect(() => combine(3, partials.slice(0, 2))).toThrow(/need 3 partial signatures, have 2 \(1, 2\)/);
    for (const pair of subsets(partials, 2)) expect(bls.verify(interpolate(pair), bls.hash(message), groupKey)).toBe(false);
    expect(() => combine(3, [partials[0]!, partials[0]!, partials[1]!])).toThrow(/duplicate/);
  });

  it("a bad partial signature is caught before combining", () => {
    for (const p of partials) expect(verifyPartial(message, dealing.commitments, p)).toBe(true);
    const forged = { index: 2, signature: partials[3]!.signature };
    expect(verifyPartial(message, dealing.commitments, forged)).toBe(false);
    expect(verifyGroupSignature(message, combine(3, [partials[0]!, forged, partials[2]!]), groupKey)).toBe(false);
  });

  it("verifyPartials answers as verifyPartial for each (one pairing check when all verify): forged, swapped, of another message", () => {
    const check = (ps: { index: number; signature: Uint8Array }[]) => expect(verifyPartials(message, dealing.commitments, ps)).toEqual(ps.map((p) => verifyPartial(message, dealing.commitments, p)));
    expect(verifyPartials(message, dealing.commitments, partials)).toEqual([true, true, true, true, true]);
    expect(verifyPartials(message, dealing.commitments, [])).toEqual([]);
    const forged = { index: 2, signature: partials[3]!.signature };
    expect(verifyPartials(message, dealing.commitments, [partials[0]!, forged, partials[2]!])).toEqual([true, false, true]);
    // Two partials swapped between their indices: each wrong alone, and their sum is not the sum of the right ones either.
    const swapped = [
      { index: 1, signature: partials[1]!.signature },
      { index: 2, signature: partials[0]!.signature },
    ];
    expect(verifyPartials(message, dealing.commitments, swapped)).toEqual([false, false]);
    const other = partialSign(new TextEncoder().encode("another message"), dealing.shares[4]!);
    expect(verifyPartials(message, dealing.commitments, [...partials.slice(0, 4), other])).toEqual([true, true, true, true, false]);
    const garbage = { index: 3, signature: new Uint8Array(48).fill(7) };
    expect(verifyPartials(message, dealing.commitments, [garbage, partials[4]!])).toEqual([false, true]);
    for (const ps of [[forged], swapped, [other, partials[0]!], [{ index: 9, signature: partials[0]!.signature }, partials[1]!]]) check(ps);
  });

  it("a group signature verified once is not paired again; anything else about it still is, and is refused", () => {
    const sig = combine(3, partials.slice(1, 4));
    const msg = new TextEncoder().encode(`checked twice ${Math.random()}`);
    const signed = combine(
      3,
      dealing.shares.slice(0, 3).map((s) => partialSign(msg, s)),
    );
    const pairings = { toHaveBeenCalledTimes: (n: number) => expect(pairingChecks.n - before).toBe(n) };
    const before = pairingChecks.n;
    {
      expect(verifyGroupSignature(msg, signed, groupKey)).toBe(true);
      pairings.toHaveBeenCalledTimes(1);
      expect(verifyGroupSignature(msg, signed, groupKey)).toBe(true);
      expect(verifyGroupSignature(Uint8Array.from(msg), Uint8Array.from(signed), Uint8Array.from(groupKey))).toBe(true);
      pairings.toHaveBeenCalledTimes(1);
      // Another message, signature or key: checked, and refused.
      expect(verifyGroupSignature(message, signed, groupKey)).toBe(false);
      expect(verifyGroupSignature(msg, sig, groupKey)).toBe(false);
      expect(verifyGroupSignature(msg, signed, publicKeyShare(dealing.commitments, 1))).toBe(false);
      expect(verifyGroupSignature(Buffer.concat([msg, Buffer.from("x")]), signed, groupKey)).toBe(false);
      pairings.toHaveBeenCalledTimes(5);
      // A refusal is checked again each time.
      expect(verifyGroupSignature(msg, sig, groupKey)).toBe(false);
      pairings.toHaveBeenCalledTimes(6);
    }
  });

  it("works for other thresholds (1-of-1, 4-of-7) with a random secret", () => {
    for (const [t, n] of [
      [1, 1],
      [4, 7],
    ] as const) {
      const d = deal(t, n);
      const sig = combine(
        t,
        d.shares.slice(n - t).map((s) => partialSign(message, s)),
      );
      expect(bls.verify(sig, bls.hash(message), groupPublicKey(d.commitments))).toBe(true);
    }
    expect(() => deal(4, 3)).toThrow(/n must be an integer in t\.\.1024/);
  });
});
