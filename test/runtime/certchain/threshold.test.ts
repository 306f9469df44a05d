/**
 * Certificates signed by a threshold group (runtime/certchain/group.ts): t partial signatures of the body combine
 * into ONE BLS signature that @noble/curves verifies under the group key; below the threshold, a forged signature,
 * a rotation the old group did not sign, a certificate from a group nobody certified, a gap and a bad parent are
 * refused; two group certificates at one height are equivocation evidence checkable with the group key alone.
 */
import { bls12_381 } from "@noble/curves/bls12-381.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  certBody,
  certHash,
  CommitteeJson,
  GENESIS_PARENT,
  GROUP_MEMBER,
  interpolateCertificate,
  issueThreshold,
  LightClient,
  unsignedCertificate,
  verifyEquivocation,
} from "../../../runtime/certchain/index.js";
import { deal, groupJson, partialSign } from "../../../runtime/tbls/index.js";
import { chain, committeeOf, NEW, OLD, root, signed } from "./threshold-fixture.js";

describe("threshold group certificates", () => {
  it("t partials combine into one signature noble verifies under the group key; a light client follows a rotation", () => {
    const [c0, c1, c2] = chain();
    const bls = bls12_381.shortSignatures;
    expect(c0!.groupSignature).toMatch(/^[0-9a-f]{96}$/);
    expect(bls.verify(Buffer.from(c0!.groupSignature!, "hex"), bls.hash(certBody(c0!)), OLD.commitments[0]!)).toBe(true);
    expect(bls.verify(Buffer.from(c0!.groupSignature!, "hex"), bls.hash(certBody(c0!)), NEW.commitments[0]!)).toBe(false);
    const lc = new LightClient(c0!, committeeOf(OLD));
    lc.accept(c1!);
    expect(lc.head.committee).toEqual(committeeOf(NEW));
    lc.accept(c2!);
    expect(lc.head).toMatchObject({ height: 2, hash: certHash(c2!) });
    // A group.json (with its commitments) reads as the committee.
    expect(CommitteeJson.parse(groupJson(OLD))).toEqual(committeeOf(OLD));
  });

  it("any t of n shares make the same signature; t − 1 shares make none the client accepts", () => {
    const unsigned = unsignedCertificate({ height: 0, parent: GENESIS_PARENT, root: root("r0") }, committeeOf(NEW));
    const partials = NEW.shares.map((s) => partialSign(certBody(unsigned), s));
    fc.assert(
      fc.property(fc.shuffledSubarray([0, 1, 2, 3], { minLength: 3, maxLength: 3 }), (ks) => {
        const c = issueThreshold(
          unsigned,
          committeeOf(NEW),
          NEW.commitments,
          ks.map((k) => partials[k]!),
        );
        expect(c.groupSignature).toBe(issueThreshold(unsigned, committeeOf(NEW), NEW.commitments, partials.slice(0, 3)).groupSignature);
      }),
      { numRuns: 4 },
    );
    expect(() => issueThreshold(unsigned, committeeOf(NEW), NEW.commitments, partials.slice(0, 2))).toThrow(/2 valid partial signatures, the group needs 3 of 4/);
    // What two colluders could compute (the Lagrange combination of their partials) does not verify.
    const below = { ...unsigned, signatures: [], groupSignature: interpolateCertificate(partials.slice(0, 2)) };
    expect(() => new LightClient(below, committeeOf(NEW))).toThrow(/forged threshold signature/);
  });

  it("refuses a forged signature, a partial of another group, a gap and a bad parent", () => {
    const [c0, c1] = chain();
    const lc = new LightClient(c0!, committeeOf(OLD));
    const forged = { ...c1!, groupSignature: c0!.groupSignature };
    expect(() => lc.accept(forged)).toThrow(/forged threshold signature/);
    const unsigned = unsignedCertificate({ height: 1, parent: certHash(c0!), root: root("x") }, committeeOf(OLD));
    const strangers = deal(2, 3).shares.map((s) => partialSign(certBody(unsigned), s));
    expect(() => issueThreshold(unsigned, committeeOf(OLD), OLD.commitments, [strangers[0]!, partialSign(certBody(unsigned), OLD.shares[1]!)])).toThrow(
      /1 valid partial signatures.*share 1 did not verify/,
    );
    const gap = signed({ height: 2, parent: certHash(c0!), root: root("r2") }, OLD, [1, 2]);
    expect(() => lc.accept(gap)).toThrow(/does not follow the head at 0/);
    const orphan = signed({ height: 1, parent: root("elsewhere"), root: root("r1") }, OLD, [1, 3]);
    expect(() => lc.accept(orphan)).toThrow(/parent is not the head/);
    expect(() => lc.accept({ ...c1!, signatures: [{ member: 0, sig: "AAAA" }] })).toThrow(/one threshold signature, not member signatures/);
  });

  it("refuses a rotation signed by the new group, and certificates of a group no rotation certified", () => {
    const [c0] = chain();
    const lc = new LightClient(c0!, committeeOf(OLD));
    const selfInstalled = signed({ height: 1, parent: certHash(c0!), root: root("r1"), next: committeeOf(NEW) }, NEW, [1, 2, 3]);
    expect(() => lc.accept(selfInstalled)).toThrow(/hand-over not signed by the old quorum: certificate 1 is signed for another committee/);
    const uncertified = signed({ height: 1, parent: certHash(c0!), root: root("r1") }, NEW, [1, 2, 4]);
    expect(() => lc.accept(uncertified)).toThrow(/signed for another committee/);
    expect(lc.head.height).toBe(0);
  });

  it("two group certificates at one height are evidence against the group, checkable with its key alone", () => {
    const [c0, c1] = chain();
    const lc = new LightClient(c0!, committeeOf(OLD));
    lc.accept(c1!);
    const fork = signed({ height: 1, parent: certHash(c0!), root: root("fork") }, OLD, [1, 3]);
    expect(() => lc.accept(fork)).toThrow(/fork at height 1/);
    expect(lc.evidence).toHaveLength(1);
    expect(lc.evidence[0]).toMatchObject({ member: GROUP_MEMBER, publicKey: committeeOf(OLD).groupPublicKey });
    expect(verifyEquivocation(lc.evidence[0]!, committeeOf(OLD))).toBe(true);
    expect(verifyEquivocation(lc.evidence[0]!, committeeOf(NEW))).toBe(false);
    // A second certificate whose signature is forged is refused, not evidence.
    const fake = { ...fork, root: root("fake") };
    expect(() => lc.accept(fake)).toThrow(/fork at height 1: a second certificate \(no common signer\)/);
    expect(lc.evidence).toHaveLength(1);
  });
});
