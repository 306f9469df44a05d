/**
 * Certificate chains (runtime/certchain): a light client syncs from a checkpoint certificate through a committee
 * hand-over and refuses a forged signature, a missing quorum, a broken chain, a hand-over the old quorum did not
 * sign; two certificates at one height signed by one member yield equivocation evidence anyone can check.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { createHash } from "node:crypto";
import { certHash, checkCommittee, GENESIS_PARENT, issue, LightClient, memberKey, verifyEquivocation, type Certificate, type Committee, type MemberKey } from "../../../runtime/certchain/index.js";

const keys = (tag: string, n: number): MemberKey[] => Array.from({ length: n }, (_, i) => memberKey(createHash("sha256").update(`${tag}${i}`).digest()));
const committeeOf = (ks: MemberKey[], quorum: number): Committee => ({ members: ks.map((k) => k.publicKey), quorum });
const root = (s: string) => createHash("sha256").update(s).digest("hex");
const by = (ks: MemberKey[], idx: number[]) => idx.map((index) => ({ index, key: ks[index]! }));

const oldKeys = keys("old", 4);
const OLD = committeeOf(oldKeys, 3);
const newKeys = keys("new", 7);
const NEW = committeeOf(newKeys, 5);

function chain(): Certificate[] {
  const c0 = issue({ height: 0, parent: GENESIS_PARENT, root: root("r0") }, OLD, by(oldKeys, [0, 1, 2]));
  const c1 = issue({ height: 1, parent: certHash(c0), root: root("r1") }, OLD, by(oldKeys, [1, 2, 3]));
  const c2 = issue({ height: 2, parent: certHash(c1), root: root("r2"), next: NEW }, OLD, by(oldKeys, [0, 2, 3])); // hand-over
  const c3 = issue({ height: 3, parent: certHash(c2), root: root("r3") }, NEW, by(newKeys, [0, 1, 2, 4, 6]));
  return [c0, c1, c2, c3];
}

describe("certificate chains", () => {
  it("a light client syncs from a checkpoint certificate through a committee hand-over", () => {
    const [c0, c1, c2, c3] = chain();
    const lc = new LightClient(c0!, OLD);
    lc.accept(c1!);
    lc.accept(c2!);
    expect(lc.head.committee).toEqual(NEW);
    lc.accept(c3!);
    expect(lc.head).toMatchObject({ height: 3, root: root("r3"), hash: certHash(c3!) });
    expect(lc.finalizedHeight()).toBe(3);
    expect(lc.finalizedHeight(2)).toBe(1);
    // Fast sync: a client that trusts the hand-over certificate (height 2) under the old committee needs no history.
    const fast = new LightClient(c2!, OLD);
    fast.accept(c3!);
    expect(fast.head.height).toBe(3);
  });

  it("refuses a forged signature, a missing quorum and a broken chain", () => {
    const [c0, c1] = chain();
    const lc = new LightClient(c0!, OLD);
    const forged = { ...c1!, signatures: c1!.signatures.map((s, i) => (i === 0 ? { ...s, sig: c0!.signatures[0]!.sig } : s)) };
    expect(() => lc.accept(forged)).toThrow(/forged signature for member 1/);
    const twoOfFour = issue({ height: 1, parent: certHash(c0!), root: root("r1") }, OLD, by(oldKeys, [0, 1]));
    expect(() => lc.accept(twoOfFour)).toThrow(/2 signatures, the quorum is 3/);
    const doubled = { ...c1!, signatures: [c1!.signatures[0]!, c1!.signatures[0]!, c1!.signatures[1]!] };
    expect(() => lc.accept(doubled)).toThrow(/signed twice/);
    const orphan = issue({ height: 1, parent: root("elsewhere"), root: root("r1") }, OLD, by(oldKeys, [0, 1, 2]));
    expect(() => lc.accept(orphan)).toThrow(/parent is not the head/);
    const skip = issue({ height: 5, parent: certHash(c0!), root: root("r5") }, OLD, by(oldKeys, [0, 1, 2]));
    expect(() => lc.accept(skip)).toThrow(/does not follow the head/);
    expect(() => new LightClient(c0!, { ...OLD, quorum: 2 })).toThrow(/not more than two thirds/);
    expect(() => checkCommittee({ members: [oldKeys[0]!.publicKey, oldKeys[0]!.publicKey], quorum: 2 })).toThrow(/distinct/);
  });

  it("refuses a hand-over not signed by the old quorum, and certificates of the old committee after it", () => {
    const [c0, c1, c2] = chain();
    const lc = new LightClient(c0!, OLD);
    lc.accept(c1!);
    // The new committee tries to install itself.
    const selfInstalled = issue({ height: 2, parent: certHash(c1!), root: root("r2"), next: NEW }, NEW, by(newKeys, [0, 1, 2, 3, 4]));
    expect(() => lc.accept(selfInstalled)).toThrow(/hand-over not signed by the old quorum: certificate 2 is signed for another committee/);
    // Two old members only.
    const weak = issue({ height: 2, parent: certHash(c1!), root: root("r2"), next: NEW }, OLD, by(oldKeys, [0, 1]));
    expect(() => lc.accept(weak)).toThrow(/hand-over not signed by the old quorum: .*2 signatures, the quorum is 3/);
    // Swap `next` after the old quorum signed: the signatures no longer match the body.
    const swapped = { ...c2!, next: committeeOf(keys("evil", 4), 3) };
    expect(() => lc.accept(swapped)).toThrow(/hand-over not signed by the old quorum: .*forged signature/);
    lc.accept(c2!);
    const stale = issue({ height: 3, parent: certHash(c2!), root: root("r3") }, OLD, by(oldKeys, [0, 1, 2, 3]));
    expect(() => lc.accept(stale)).toThrow(/signed for another committee/);
  });

  it("detects equivocation and keeps evidence that verifies with the committee's keys alone", () => {
    const [c0, c1] = chain();
    const lc = new LightClient(c0!, OLD);
    lc.accept(c1!); // signed by 1, 2, 3
    const conflicting = issue({ height: 1, parent: certHash(c0!), root: root("other") }, OLD, by(oldKeys, [0, 1, 3]));
    expect(() => lc.accept(conflicting)).toThrow(/fork at height 1: members 1, 3 signed two certificates/);
    expect(lc.evidence.map((e) => e.member)).toEqual([1, 3]);
    expect(lc.evidence.every((e) => verifyEquivocation(e, OLD))).toBe(true);
    expect(lc.head.root).toBe(root("r1")); // the head did not move
    // Forged evidence: member 0 did not sign c1; a copy of the same certificate is no conflict.
    expect(verifyEquivocation({ ...lc.evidence[0]!, member: 0, publicKey: oldKeys[0]!.publicKey }, OLD)).toBe(false);
    expect(verifyEquivocation({ ...lc.evidence[0]!, b: c1! }, OLD)).toBe(false);
    lc.accept(c1!); // the same certificate again is fine
  });

  it("detects equivocation at the hand-over height under the committee that signed it", () => {
    const [c0, c1, c2, c3] = chain();
    const lc = new LightClient(c0!, OLD);
    for (const c of [c1!, c2!, c3!]) lc.accept(c);
    const other = issue({ height: 2, parent: certHash(c1!), root: root("r2'") }, OLD, by(oldKeys, [0, 1, 2]));
    expect(() => lc.accept(other)).toThrow(/fork at height 2: members 0, 2 signed two certificates/);
    expect(lc.evidence.every((e) => verifyEquivocation(e, OLD))).toBe(true);
  });

  it("property: any quorum subset is accepted, any smaller subset refused", () => {
    fc.assert(
      fc.property(fc.shuffledSubarray([0, 1, 2, 3, 4, 5, 6]), (signers) => {
        const g = issue({ height: 0, parent: GENESIS_PARENT, root: root("g") }, NEW, by(newKeys, [0, 1, 2, 3, 4]));
        const lc = new LightClient(g, NEW);
        const c = issue({ height: 1, parent: certHash(g), root: root("x") }, NEW, by(newKeys, signers));
        if (signers.length >= 5) lc.accept(c);
        else expect(() => lc.accept(c)).toThrow(/the quorum is 5/);
      }),
      { numRuns: 40 },
    );
  });
});
