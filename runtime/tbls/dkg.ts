/**
 * Dealer-free key generation and resharing for threshold BLS, pure and synchronous (transport lives in dkg-http.ts).
 *
 * Pedersen's DKG with complaints (joint Feldman, as in Gennaro–Jarecki–Krawczyk–Rabin, "Secure Distributed Key
 * Generation for Discrete-Log Based Cryptosystems", the "JF-DKG" phase): every participant j deals a Feldman VSS of
 * a random secret — commitments C_jk = a_jk·G2 in public, share s_ji = f_j(i) privately to each i. A recipient whose
 * share fails f_j(i)·G2 = Σ_k i^k·C_jk complains against j; j must then reveal s_ji publicly. A dealer that
 * published no (well-formed) commitments, or that answers a complaint with no share or a share that fails the same
 * check, is disqualified. QUAL is everyone else; the group key is Σ_{j∈QUAL} C_j0, the group's commitments are
 * Σ_{j∈QUAL} C_jk (so `publicKeyShare` and `verifyShare` work on them unchanged) and i's share is Σ_{j∈QUAL} s_ji.
 * Every honest participant computes QUAL from the same public data, so they agree — given a broadcast channel
 * (everyone sees the same commitments, complaints and reveals). The echo round stands in for one on the commitments:
 * each participant publishes, per dealer, the digest of the commitment vector it received (or null for none), and a
 * dealer two echoes disagree about is disqualified — so a dealer that shows different commitments to different peers
 * is caught by every honest participant that reads the honest echoes (docs/proofs.md says what it does not catch). Known limit of JF-DKG (GJKR §3): a rushing adversary can bias the group key's distribution;
 * the Pedersen-commitment variant (New-DKG) fixes that and is not built.
 *
 * Resharing (Desmedt–Jajodia / Herzberg et al.): any t holders of the old shares each deal a Feldman VSS of their
 * own share s_i to the new committee (t', n'); each new member j checks every sub-share against the dealer's
 * commitments AND that the dealer's constant commitment equals its old public key share s_i·G2 (computed from the
 * old group commitments), then takes s'_j = Σ_i λ_i·s_ij over t such dealers. The new commitments Σ_i λ_i·C_ik have
 * constant term Σ_i λ_i·s_i·G2 = the old group key: the key does not change, old shares become useless to the new
 * committee's threshold.
 */
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { createHash } from "node:crypto";
import { evaluate, Fr, lagrangeAtZero, randomScalar, scalarFromBytes, scalarToBytes } from "./shamir.js";
import { publicKeyShare, ThresholdError, type Share } from "./threshold.js";

const G2 = bls12_381.G2.Point;
type G2Point = InstanceType<typeof G2>;

/** One participant's contribution: the public commitments and the private share for each recipient 1..n. */
export interface Contribution {
  dealer: number;
  commitments: Uint8Array[];
  /** shares.get(i) = f(i) for recipient i (secret: sent only to i). */
  shares: Map<number, bigint>;
}

function checkShape(t: number, n: number): void {
  if (!Number.isInteger(t) || t < 1) throw new ThresholdError(`threshold t must be an integer ≥ 1, got ${t}`);
  if (!Number.isInteger(n) || n < t || n > 1024) throw new ThresholdError(`n must be an integer in t..1024 (t = ${t}), got ${n}`);
}

/** Deal a Feldman VSS of `secret` (random by default) to recipients 1..n with threshold t. */
export function contribute(dealer: number, t: number, n: number, secret: bigint = randomScalar()): Contribution {
  checkShape(t, n);
  const coefficients = [Fr.create(secret), ...Array.from({ length: t - 1 }, randomScalar)];
  return {
    dealer,
    commitments: coefficients.map((a) => G2.BASE.multiply(a).toBytes()),
    shares: new Map(Array.from({ length: n }, (_, k) => [k + 1, evaluate(coefficients, BigInt(k + 1))] as const)),
  };
}

/** Commitments that parse as t points of G2 (anything else disqualifies their dealer). */
function wellFormed(commitments: readonly Uint8Array[] | undefined, t: number): boolean {
  if (!commitments || commitments.length !== t) return false;
  try {
    for (const c of commitments) G2.fromBytes(c).assertValidity();
    return true;
  } catch {
    return false;
  }
}

/** Feldman's check of one dealt share value for recipient `index`. */
export function shareMatches(commitments: readonly Uint8Array[], index: number, value: bigint): boolean {
  const v = Fr.create(value);
  if (v === 0n) return false; // noble will not multiply by 0; a zero share is refused (probability 2^-255 honestly)
  try {
    return Buffer.from(G2.BASE.multiply(v).toBytes()).equals(Buffer.from(publicKeyShare(commitments, index)));
  } catch {
    return false;
  }
}

/** The echo of one dealer's commitment vector: SHA-256 over a domain tag, the count and the compressed points. */
export function commitmentDigest(commitments: readonly Uint8Array[]): string {
  const h = createHash("sha256").update("meridian-dkg/v1 commitments\0");
  const count = Buffer.alloc(4);
  count.writeUInt32BE(commitments.length);
  h.update(count);
  for (const c of commitments) h.update(c);
  return h.digest("hex");
}

/** The public record of a DKG run: what every participant sees (and must see identically). */
export interface DkgTranscript {
  t: number;
  n: number;
  /** commitments.get(j): dealer j's published commitments (absent: j published none). */
  commitments: Map<number, Uint8Array[]>;
  /** complaints.get(i): the dealers participant i complains against. */
  complaints: Map<number, number[]>;
  /** reveals.get(j).get(i): the share dealer j revealed publicly for complainer i. */
  reveals: Map<number, Map<number, bigint>>;
  /**
   * echoes.get(i).get(j): what participant i says dealer j showed it — commitmentDigest of the vector, or null for
   * none (a missing entry counts as null). Absent: no echo round (a trusted broadcast channel is assumed).
   */
  echoes?: Map<number, Map<number, string | null>>;
}

/** Two participants whose echoes of dealer j differ (lowest indices first), or undefined when all agree. */
function equivocation(echoes: DkgTranscript["echoes"], j: number): [number, number] | undefined {
  if (!echoes) return undefined;
  const seen = new Map<string, number>();
  for (const i of [...echoes.keys()].sort((a, b) => a - b)) {
    const v = echoes.get(i)!.get(j) ?? "none";
    if (seen.size > 0 && !seen.has(v)) return [[...seen.values()][0]!, i];
    if (!seen.has(v)) seen.set(v, i);
  }
  return undefined;
}

export interface Disqualified {
  dealer: number;
  reason: string;
}

/** QUAL and the reasons for everyone else, computed from the public transcript alone. */
export function qualify(tr: DkgTranscript): { qual: number[]; disqualified: Disqualified[] } {
  checkShape(tr.t, tr.n);
  const qual: number[] = [];
  const disqualified: Disqualified[] = [];
  for (let j = 1; j <= tr.n; j++) {
    const c = tr.commitments.get(j);
    const split = equivocation(tr.echoes, j);
    if (split) {
      disqualified.push({ dealer: j, reason: `showed participants ${split[0]} and ${split[1]} different commitments (echo round)` });
      continue;
    }
    if (!wellFormed(c, tr.t)) {
      disqualified.push({ dealer: j, reason: c ? `published malformed commitments (need ${tr.t} G2 points)` : "published no commitments" });
      continue;
    }
    let reason: string | undefined;
    for (const [i, against] of tr.complaints) {
      if (i === j || !against.includes(j)) continue;
      const revealed = tr.reveals.get(j)?.get(i);
      if (revealed === undefined) reason = `did not answer participant ${i}'s complaint`;
      else if (!shareMatches(c!, i, revealed)) reason = `revealed a share for participant ${i} that fails its commitments`;
      if (reason) break;
    }
    if (reason) disqualified.push({ dealer: j, reason });
    else qual.push(j);
  }
  if (qual.length < tr.t) throw new ThresholdError(`only ${qual.length} qualified dealers (${qual.join(", ") || "none"}), need at least t = ${tr.t}`);
  return { qual, disqualified };
}

/** Σ of the given commitment vectors, coefficient by coefficient, each scaled by its weight (1 when absent). */
function sumCommitments(vectors: readonly (readonly Uint8Array[])[], weights?: readonly bigint[]): Uint8Array[] {
  const len = vectors[0]!.length;
  return Array.from({ length: len }, (_, k) => {
    let acc: G2Point = G2.ZERO;
    vectors.forEach((v, m) => {
      const p = G2.fromBytes(v[k]!);
      acc = acc.add(weights ? p.multiplyUnsafe(weights[m]!) : p);
    });
    return acc.toBytes();
  });
}

export interface DkgResult {
  qual: number[];
  disqualified: Disqualified[];
  /** Σ_{j∈QUAL} C_jk: the group's Feldman commitments; [0] is the group public key. */
  commitments: Uint8Array[];
  groupPublicKey: Uint8Array;
  share: Share;
}

/**
 * Participant `index`'s outcome: `received.get(j)` is the share j sent it privately. For a dealer j it complained
 * against, the share j revealed publicly replaces it (the complaint was answered correctly, or j is disqualified).
 */
export function finish(tr: DkgTranscript, index: number, received: ReadonlyMap<number, bigint>): DkgResult {
  const { qual, disqualified } = qualify(tr);
  const commitments = sumCommitments(qual.map((j) => tr.commitments.get(j)!));
  let s = 0n;
  for (const j of qual) {
    const revealed = tr.reveals.get(j)?.get(index);
    const value = revealed !== undefined && (tr.complaints.get(index) ?? []).includes(j) ? revealed : received.get(j);
    if (value === undefined || !shareMatches(tr.commitments.get(j)!, index, value))
      throw new ThresholdError(`participant ${index} holds no valid share from qualified dealer ${j} and did not complain`);
    s = Fr.add(s, value);
  }
  const share = { index, secretKey: scalarToBytes(s) };
  if (s === 0n) throw new ThresholdError("the combined share is zero (probability 2^-255): run again");
  return { qual, disqualified, commitments, groupPublicKey: commitments[0]!, share };
}

/** Which dealers participant `index` must complain against, given the shares it received. */
export function complaintsFor(commitments: ReadonlyMap<number, Uint8Array[]>, t: number, index: number, received: ReadonlyMap<number, bigint>): number[] {
  const out: number[] = [];
  for (const [j, c] of commitments) {
    if (j === index || !wellFormed(c, t)) continue; // malformed commitments disqualify without a complaint
    const v = received.get(j);
    if (v === undefined || !shareMatches(c, index, v)) out.push(j);
  }
  return out.sort((a, b) => a - b);
}

// ---- resharing ----

/** An old share holder's resharing: a Feldman VSS of its own share to the new committee (t', n'). */
export function reshareContribution(share: Share, newT: number, newN: number): Contribution {
  return contribute(share.index, newT, newN, scalarFromBytes(share.secretKey));
}

export interface ReshareResult {
  /** The old holders whose resharings were used (t of them). */
  dealers: number[];
  rejected: Disqualified[];
  /** The new committee's commitments; [0] equals the old group key. */
  commitments: Uint8Array[];
  share: Share;
}

/**
 * New member `index`'s share from the old holders' resharings. `old` is the old group's commitments and threshold;
 * `dealings.get(i)` is old holder i's commitments and the sub-share it sent this member. A dealing whose constant
 * commitment is not i's old public key share, or whose sub-share fails its commitments, is rejected; the first
 * old-t good ones (by index) are combined. All new members must use the same dealer set — pass `use` to fix it
 * (everyone takes the same t dealers from the public record); without it the t lowest good ones are taken.
 */
export function reshareFinish(
  old: { t: number; commitments: readonly Uint8Array[] },
  newT: number,
  index: number,
  dealings: ReadonlyMap<number, { commitments: Uint8Array[]; subshare: bigint }>,
  use?: readonly number[],
): ReshareResult {
  const rejected: Disqualified[] = [];
  const good: number[] = [];
  for (const i of [...dealings.keys()].sort((a, b) => a - b)) {
    const d = dealings.get(i)!;
    if (use && !use.includes(i)) continue;
    if (!wellFormed(d.commitments, newT)) rejected.push({ dealer: i, reason: `published malformed commitments (need ${newT} G2 points)` });
    else if (!Buffer.from(d.commitments[0]!).equals(Buffer.from(publicKeyShare(old.commitments, i))))
      rejected.push({ dealer: i, reason: "reshared something other than its old share (constant commitment ≠ its old public key share)" });
    else if (!shareMatches(d.commitments, index, d.subshare)) rejected.push({ dealer: i, reason: `sent participant ${index} a sub-share that fails its commitments` });
    else good.push(i);
  }
  if (good.length < old.t) throw new ThresholdError(`only ${good.length} valid resharings (${good.join(", ") || "none"}), need the old threshold t = ${old.t}`);
  const dealers = good.slice(0, old.t);
  const lambdas = lagrangeAtZero(dealers);
  let s = 0n;
  dealers.forEach((i, m) => (s = Fr.add(s, Fr.mul(lambdas[m]!, dealings.get(i)!.subshare))));
  const commitments = sumCommitments(
    dealers.map((i) => dealings.get(i)!.commitments),
    lambdas,
  );
  return { dealers, rejected, commitments, share: { index, secretKey: scalarToBytes(s) } };
}
