/**
 * Committees that sign as ONE threshold BLS signature (runtime/tbls): the estate's witnesses hold shares of a (t, n)
 * group key from a DKG, each signs the certificate body with its share (a partial signature), and any t partials
 * combine into the ordinary BLS signature of the group secret — 48 bytes that @noble/curves verifies under the
 * group's 96-byte key, whatever the committee's size. Fewer than t partials combine to a point that does not verify.
 * Resharing keeps the group key (the committee hash too); a new key is a new committee, installed by a certificate
 * the old group signs (`next`).
 */
import { createHash } from "node:crypto";
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { combine, interpolate, verifyGroupSignature, verifyPartials, type PartialSignature } from "../tbls/index.js";
import { CertError } from "./errors.js";

export const GROUP_SCHEME = "meridian-tbls/v1";

/** A threshold group as a committee: its public key (hex) and shape; group.json files carry it (their commitments are dropped). */
export interface GroupCommittee {
  scheme: typeof GROUP_SCHEME;
  t: number;
  n: number;
  groupPublicKey: string;
}

export const isGroup = (c: object): c is GroupCommittee => "scheme" in c && (c as GroupCommittee).scheme === GROUP_SCHEME;

/** The committee of a group.json (`meridian tbls dkg|deal`): scheme, t, n and the group key; commitments are not part of it. */
export function groupCommittee(g: { t: number; n: number; groupPublicKey: string | Uint8Array }): GroupCommittee {
  const key = typeof g.groupPublicKey === "string" ? g.groupPublicKey : Buffer.from(g.groupPublicKey).toString("hex");
  return { scheme: GROUP_SCHEME, t: g.t, n: g.n, groupPublicKey: key };
}

export function checkGroup(c: GroupCommittee): void {
  if (!Number.isSafeInteger(c.t) || !Number.isSafeInteger(c.n) || c.t < 1 || c.t > c.n) throw new CertError(`group ${c.t} of ${c.n}: expected 1 ≤ t ≤ n`);
  // An honest majority of signers: t partials from more than half the group, so two groups of t always share a member.
  if (2 * c.t <= c.n) throw new CertError(`group ${c.t} of ${c.n}: t must be more than half of n, or two disjoint sets of signers could certify a fork`);
  try {
    bls12_381.G2.Point.fromHex(c.groupPublicKey).assertValidity();
  } catch (e) {
    throw new CertError(`the group key is not a BLS12-381 G2 point: ${(e as Error).message}`);
  }
}

export function groupHash(c: GroupCommittee): string {
  return createHash("sha256").update(`meridian-committee/tbls/v1\n${c.t}\n${c.n}\n${c.groupPublicKey}\n`).digest("hex");
}

/** Does `signature` (hex, 48 bytes) verify as an ordinary BLS signature of `message` under the group's key? */
export function verifyGroup(c: GroupCommittee, message: Uint8Array, signature: string): boolean {
  if (!/^[0-9a-f]{96}$/.test(signature)) return false;
  return verifyGroupSignature(message, Buffer.from(signature, "hex"), Buffer.from(c.groupPublicKey, "hex"));
}

/**
 * The combiner's side: check every partial against its signer's key share (from the group's Feldman commitments),
 * then combine t valid ones. Throws CertError naming the refused shares when fewer than t verify.
 */
export function combineGroup(c: GroupCommittee, commitments: readonly Uint8Array[], message: Uint8Array, partials: readonly PartialSignature[]): { signature: string; signers: number[] } {
  if (commitments.length !== c.t || Buffer.from(commitments[0]!).toString("hex") !== c.groupPublicKey) throw new CertError("the commitments are not the group's");
  const valid = new Map<number, PartialSignature>();
  const bad: number[] = [];
  // Those of an index in the group, checked together (one pairing check when all verify; verifyPartials).
  const known = partials.filter((p) => p.index >= 1 && p.index <= c.n);
  const verified = verifyPartials(message, commitments, known);
  for (const p of partials) {
    const j = known.indexOf(p);
    if (j >= 0 && verified[j]) valid.set(p.index, p);
    else bad.push(p.index);
  }
  if (valid.size < c.t) throw new CertError(`${valid.size} valid partial signatures, the group needs ${c.t} of ${c.n}${bad.length ? ` (share ${bad.join(", ")} did not verify)` : ""}`);
  const use = [...valid.values()].slice(0, c.t);
  const signature = Buffer.from(combine(c.t, use)).toString("hex");
  if (!verifyGroup(c, message, signature)) throw new CertError("the combined signature does not verify under the group key");
  return { signature, signers: use.map((p) => p.index) };
}

/** The Lagrange combination of the partials given, unchecked (what fewer than t colluders could compute; tests). */
export function interpolateCertificate(partials: readonly PartialSignature[]): string {
  return Buffer.from(interpolate(partials)).toString("hex");
}
