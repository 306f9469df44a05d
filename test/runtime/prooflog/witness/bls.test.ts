import { describe, expect, it } from "vitest";
import { blsCosign, BlsCommittee, BlsError, blsKeygen } from "../../../../runtime/prooflog/witness/bls.js";

const body = "meridian.test/bls\n42\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";

describe("BLS12-381 aggregate certificates", () => {
  const keys = Array.from({ length: 4 }, () => blsKeygen());
  const committee = new BlsCommittee(keys);

  it("3-of-4 signatures aggregate into one 48-byte signature that verifies with one check", () => {
    const sigs = new Map([0, 2, 3].map((i) => [i, blsCosign(body, keys[i]!.secretKey)] as const));
    const cert = committee.aggregate(body, sigs);
    expect(cert.signature.length).toBe(48);
    expect([...cert.signers]).toEqual([0b1101]);
    committee.verify(body, cert, 3);
    expect(() => committee.verify(body, cert, 4)).toThrow(/needs 4 of 4/);
    expect(() => committee.verify(body.replace("42", "43"), cert, 3)).toThrow(/does not verify/);
    // Claiming a signer who did not sign breaks the equation.
    expect(() => committee.verify(body, { ...cert, signers: Uint8Array.of(0b1111) }, 3)).toThrow(BlsError);
  });

  it("rejects a bad member signature and keys without proof of possession (rogue-key defence)", () => {
    const wrong = new Map([[1, blsCosign("other\n", keys[1]!.secretKey)]]);
    expect(() => committee.aggregate(body, wrong)).toThrow(/member 1 does not verify/);
    const rogue = blsKeygen();
    expect(() => new BlsCommittee([...keys, { publicKey: rogue.publicKey, pop: keys[0]!.pop }])).toThrow(/proof of possession/);
  });
});
