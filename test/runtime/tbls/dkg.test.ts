/**
 * Pedersen DKG with complaints and resharing, in-process (the HTTP run is test/cli/tbls-dkg.test.ts). The reference
 * is @noble/curves' BLS: combined signatures must verify under the group key with bls12_381.shortSignatures.verify.
 */
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { describe, expect, it } from "vitest";
import {
  combine,
  commitmentDigest,
  complaintsFor,
  contribute,
  finish,
  interpolate,
  partialSign,
  publicKeyShare,
  qualify,
  reshareContribution,
  reshareFinish,
  verifyShare,
  type Contribution,
  type DkgResult,
  type DkgTranscript,
  type Share,
} from "../../../runtime/tbls/index.js";
import { Fr } from "../../../runtime/tbls/shamir.js";

const bls = bls12_381.shortSignatures;
const message = new TextEncoder().encode("checkpoint example.com/log 42");
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const hashed = bls.hash(message);
// noble's verdict per distinct (signature, key): every t-subset must combine to the same bytes, which need one pairing
// check, not one each (the pairings are most of this file's time).
const verdicts = new Map<string, boolean>();
const verifies = (sig: Uint8Array, key: Uint8Array) => {
  const k = `${hex(sig)}:${hex(key)}`;
  let v = verdicts.get(k);
  if (v === undefined) verdicts.set(k, (v = bls.verify(sig, hashed, key)));
  return v;
};
const range = (n: number) => Array.from({ length: n }, (_, k) => k + 1);

function subsets<T>(xs: readonly T[], size: number): T[][] {
  if (size === 0) return [[]];
  return xs.flatMap((x, i) => subsets(xs.slice(i + 1), size - 1).map((rest) => [x, ...rest]));
}

interface Cheat {
  /** dealer `from` sends `to` a wrong share */
  from: number;
  to: number;
  /** and, when complained against, reveals the wrong share too (→ disqualified) or nothing */
  reveal: "correct" | "bad" | "none";
}

/** A whole DKG among n participants in one process, one dealer optionally cheating. */
function runDkg(t: number, n: number, cheat?: Cheat): { results: DkgResult[]; contributions: Contribution[]; transcript: DkgTranscript } {
  const contributions = range(n).map((j) => contribute(j, t, n));
  const sent = (j: number, i: number) => {
    const v = contributions[j - 1]!.shares.get(i)!;
    return cheat && cheat.from === j && cheat.to === i ? Fr.add(v, 1n) : v;
  };
  const commitments = new Map(contributions.map((c) => [c.dealer, c.commitments]));
  const received = (i: number) => new Map(range(n).map((j) => [j, sent(j, i)]));
  const complaints = new Map(range(n).map((i) => [i, complaintsFor(commitments, t, i, received(i))]));
  const reveals = new Map<number, Map<number, bigint>>();
  for (const [i, against] of complaints)
    for (const j of against) {
      if (cheat?.from === j && cheat.reveal === "none") continue;
      const value = cheat?.from === j && cheat.reveal === "bad" ? sent(j, i) : contributions[j - 1]!.shares.get(i)!;
      reveals.set(j, (reveals.get(j) ?? new Map()).set(i, value));
    }
  const transcript = { t, n, commitments, complaints, reveals };
  return { results: range(n).map((i) => finish(transcript, i, received(i))), contributions, transcript };
}

/**
 * The all-honest runs, once each: the tests that start from an honest DKG (its key and signing; resharing from its
 * shares; a transcript to corrupt) only read them, and a whole DKG in one process is seconds of G2 arithmetic.
 */
const honestRuns = new Map<string, ReturnType<typeof runDkg>>();
function honestDkg(t: number, n: number): ReturnType<typeof runDkg> {
  const key = `${t}/${n}`;
  let run = honestRuns.get(key);
  if (!run) honestRuns.set(key, (run = runDkg(t, n)));
  return run;
}

function checkSigning(t: number, shares: readonly Share[], groupKey: Uint8Array): void {
  const partials = shares.map((s) => partialSign(message, s));
  const sigs = new Set<string>();
  for (const subset of subsets(partials, t)) {
    const sig = combine(t, subset);
    expect(verifies(sig, groupKey)).toBe(true);
    sigs.add(hex(sig));
  }
  expect(sigs.size).toBe(1); // unique BLS signature: every t-subset gives the same one
  // t − 1 partials: noble refuses one combination; for every one, that it is not the signature verified above is the
  // same verdict without a pairing each (a G1 point verifies under the key iff it is that unique signature).
  const [first, ...rest] = subsets(partials, t - 1);
  expect(verifies(interpolate(first!), groupKey)).toBe(false);
  for (const subset of rest) expect(sigs.has(hex(interpolate(subset)))).toBe(false);
}

describe("echo round (commitmentDigest, qualify with echoes)", () => {
  const t = 2;
  const n = 3;
  const dealings = range(n).map((j) => contribute(j, t, n));
  const commitments = new Map(dealings.map((c) => [c.dealer, c.commitments]));
  const honestEcho = () => new Map(range(n).map((j) => [j, commitmentDigest(commitments.get(j)!)] as [number, string | null]));
  const transcript = (echoes: Map<number, Map<number, string | null>>): DkgTranscript => ({ t, n, commitments, complaints: new Map(), reveals: new Map(), echoes });

  it("digest: known answers (Python hashlib over tag ‖ u32 count ‖ points), and any change to a point or the order changes it", () => {
    // sha256(b"meridian-dkg/v1 commitments\0" + count.to_bytes(4) + points): none, and the compressed G2 identity (0xc0, 95 zeros)
    expect(commitmentDigest([])).toBe("b757b2e3b025499c67c0ba5b96223baca3f21a7fe962db621b550a6662871ce2");
    expect(commitmentDigest([bls12_381.G2.Point.ZERO.toBytes()])).toBe("8792af4a42d27073ccb96ad3d5a00242f3ad4ffb1547730b285c98e12f4af4de");
    const c = dealings[0]!.commitments;
    const d = commitmentDigest(c);
    expect(d).toMatch(/^[0-9a-f]{64}$/);
    expect(commitmentDigest(c.slice(0, 1))).not.toBe(d);
    expect(commitmentDigest([c[1]!, c[0]!])).not.toBe(d);
  });

  it("agreeing echoes keep every dealer; two differing digests, or a digest against none, disqualify that dealer only", () => {
    expect(qualify(transcript(new Map(range(n).map((i) => [i, honestEcho()])))).qual).toEqual([1, 2, 3]);
    const other = commitmentDigest(contribute(2, t, n).commitments);
    for (const seen of [other, null]) {
      const echoes = new Map(range(n).map((i) => [i, honestEcho()]));
      echoes.get(3)!.set(2, seen);
      const { qual, disqualified } = qualify(transcript(echoes));
      expect(qual).toEqual([1, 3]);
      expect(disqualified).toEqual([{ dealer: 2, reason: "showed participants 1 and 3 different commitments (echo round)" }]);
    }
  });
});

describe("Pedersen DKG (joint Feldman with complaints)", () => {
  it("3-of-5, all honest: everyone agrees on the key = Σ C_j0; any 3 shares sign, 2 cannot", () => {
    const { results, contributions } = honestDkg(3, 5);
    const key = hex(results[0]!.groupPublicKey);
    for (const r of results) {
      expect(hex(r.groupPublicKey)).toBe(key);
      expect(r.qual).toEqual([1, 2, 3, 4, 5]);
      expect(verifyShare(r.commitments, r.share)).toBe(true);
    }
    // the group key is Σ of the dealers' constant commitments
    let sum = bls12_381.G2.Point.ZERO;
    for (const c of contributions) sum = sum.add(bls12_381.G2.Point.fromBytes(c.commitments[0]!));
    expect(hex(sum.toBytes())).toBe(key);
    checkSigning(
      3,
      results.map((r) => r.share),
      results[0]!.groupPublicKey,
    );
  });

  it("a dealer that sends a bad share is complained against; revealing the right share keeps it in QUAL", () => {
    const { results, transcript } = runDkg(3, 5, { from: 2, to: 4, reveal: "correct" });
    expect(transcript.complaints.get(4)).toEqual([2]);
    expect([...transcript.complaints.entries()].filter(([, a]) => a.length > 0)).toHaveLength(1);
    for (const r of results) expect(r.qual).toEqual([1, 2, 3, 4, 5]);
    checkSigning(
      3,
      results.map((r) => r.share),
      results[0]!.groupPublicKey,
    );
  });

  for (const reveal of ["bad", "none"] as const) {
    it(`a dealer that answers a complaint with ${reveal === "bad" ? "a bad share" : "nothing"} is disqualified; the rest still make a key`, () => {
      const { results, contributions } = runDkg(3, 5, { from: 2, to: 4, reveal });
      for (const r of results) {
        expect(r.qual).toEqual([1, 3, 4, 5]);
        expect(r.disqualified).toEqual([{ dealer: 2, reason: reveal === "bad" ? "revealed a share for participant 4 that fails its commitments" : "did not answer participant 4's complaint" }]);
        expect(hex(r.groupPublicKey)).toBe(hex(results[0]!.groupPublicKey));
      }
      let sum = bls12_381.G2.Point.ZERO;
      for (const j of [1, 3, 4, 5]) sum = sum.add(bls12_381.G2.Point.fromBytes(contributions[j - 1]!.commitments[0]!));
      expect(hex(results[0]!.groupPublicKey)).toBe(hex(sum.toBytes()));
      checkSigning(
        3,
        results.map((r) => r.share),
        results[0]!.groupPublicKey,
      );
    });
  }

  it("malformed or missing commitments disqualify; fewer than t qualified dealers is an error", () => {
    const { transcript } = honestDkg(2, 3);
    const tr = { ...transcript, commitments: new Map(transcript.commitments) };
    tr.commitments.set(1, tr.commitments.get(1)!.slice(0, 1));
    tr.commitments.delete(3);
    expect(() => qualify(tr)).toThrow(/only 1 qualified dealers \(2\), need at least t = 2/);
    tr.commitments.set(3, transcript.commitments.get(3)!);
    expect(qualify(tr).disqualified).toEqual([{ dealer: 1, reason: "published malformed commitments (need 2 G2 points)" }]);
  });
});

describe("resharing (Desmedt–Jajodia / Herzberg)", () => {
  it("3-of-5 → 4-of-7 keeps the group key; any 4 new shares sign under it, 3 cannot; a bad resharing is rejected", () => {
    const { results } = honestDkg(3, 5);
    const old = { t: 3, commitments: results[0]!.commitments };
    const groupKey = results[0]!.groupPublicKey;
    // Old holders 2, 4, 5 reshare (any 3 of the 5); holder 1 cheats by resharing a different secret.
    const dealers = [1, 2, 4, 5];
    const resharings = new Map(dealers.map((i) => [i, reshareContribution(results[i - 1]!.share, 4, 7)]));
    resharings.set(1, contribute(1, 4, 7));
    const newResults = range(7).map((j) => reshareFinish(old, 4, j, new Map(dealers.map((i) => [i, { commitments: resharings.get(i)!.commitments, subshare: resharings.get(i)!.shares.get(j)! }]))));
    for (const r of newResults) {
      expect(r.dealers).toEqual([2, 4, 5]);
      expect(r.rejected).toEqual([{ dealer: 1, reason: "reshared something other than its old share (constant commitment ≠ its old public key share)" }]);
      expect(hex(r.commitments[0]!)).toBe(hex(groupKey));
      expect(r.commitments).toHaveLength(4);
      expect(verifyShare(r.commitments, r.share)).toBe(true);
    }
    checkSigning(
      4,
      newResults.map((r) => r.share),
      groupKey,
    );
    // an old share is not a share of the new polynomial
    expect(hex(publicKeyShare(newResults[0]!.commitments, 1))).not.toBe(hex(publicKeyShare(old.commitments, 1)));
  });

  it("a sub-share that fails its commitments is rejected; too few valid resharings is an error", () => {
    const { results } = honestDkg(2, 3);
    const old = { t: 2, commitments: results[0]!.commitments };
    const r1 = reshareContribution(results[0]!.share, 2, 3);
    const r2 = reshareContribution(results[1]!.share, 2, 3);
    const dealings = new Map([
      [1, { commitments: r1.commitments, subshare: Fr.add(r1.shares.get(3)!, 1n) }],
      [2, { commitments: r2.commitments, subshare: r2.shares.get(3)! }],
    ]);
    expect(() => reshareFinish(old, 2, 3, dealings)).toThrow(/only 1 valid resharings \(2\), need the old threshold t = 2/);
  });
});
