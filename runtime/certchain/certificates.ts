/**
 * Certificate chains with finality (§13.2): each checkpoint certificate names its parent's hash, its height and a
 * root (a log or state root), and carries either ONE threshold BLS signature of a group committee (group.ts: the
 * estate's witnesses, t of n shares combined; it verifies as an ordinary BLS signature under the group key), or
 * Ed25519 signatures of a member committee; with members, a quorum of more than two thirds of
 * the committee makes it final at once (two conflicting final certificates need more than a third of the committee
 * to sign both, which is caught as equivocation). A certificate may hand over to a new committee (`next`): it is
 * signed by the old quorum, and the certificates after it by the new one.
 *
 * A light client keeps only its head (hash, height, committee) — history before a checkpoint certificate is pruned —
 * and syncs forward from a trusted checkpoint certificate, refusing a forged signature, a missing quorum, a broken
 * chain and a hand-over the old quorum did not sign; two certificates at one height signed by one member are kept
 * as equivocation evidence that anyone can check with the committee's keys alone.
 */
import { createHash, createPrivateKey, createPublicKey, sign as edSign, verify as edVerify } from "node:crypto";
import { CertError } from "./errors.js";
import { checkpointDigest } from "./log-checkpoint.js";
import { checkGroup, combineGroup, groupHash, isGroup, verifyGroup, type GroupCommittee } from "./group.js";
import type { PartialSignature } from "../tbls/index.js";

const SPKI = Buffer.from("302a300506032b6570032100", "hex");
const PKCS8 = Buffer.from("302e020100300506032b657004220420", "hex");
const sha256 = (b: Uint8Array | string) => createHash("sha256").update(b).digest();

/** Members' Ed25519 public keys (hex) and the number of signatures a certificate needs. */
export interface MemberCommittee {
  members: string[];
  quorum: number;
}

/** Who signs a certificate: Ed25519 members with a quorum, or a threshold BLS group signing as one key. */
export type Committee = MemberCommittee | GroupCommittee;

export interface Certificate {
  height: number;
  parent: string; // hex hash of the parent certificate, 64 zeros at genesis
  root: string; // hex root the certificate finalises
  committee: string; // hex hash of the committee that signs it
  next?: Committee; // hand-over: certificates after this one are signed by `next`
  signatures: { member: number; sig: string }[]; // member = index in the committee, sig = base64 Ed25519 (empty for a group)
  /** A group committee's threshold BLS signature of the body (48 bytes, hex). */
  groupSignature?: string;
  /** The proof log's C2SP checkpoint body this certificate certifies; `root` is then its checkpointDigest (so it is signed through `root`). */
  checkpoint?: string;
}

export const GENESIS_PARENT = "0".repeat(64);
/** The `member` of group equivocation evidence: the group as a whole signed both. */
export const GROUP_MEMBER = -1;

/** A committee is valid when its quorum is more than two thirds of its distinct members (so quorums intersect in an honest member when fewer than a third lie). */
export function checkCommittee(c: Committee): void {
  if (isGroup(c)) return checkGroup(c);
  const n = c.members.length;
  if (n === 0) throw new CertError("the committee has no members");
  if (new Set(c.members).size !== n || c.members.some((m) => !/^[0-9a-f]{64}$/.test(m))) throw new CertError("committee members must be distinct 32-byte hex Ed25519 keys");
  if (!Number.isSafeInteger(c.quorum) || c.quorum > n || 3 * c.quorum <= 2 * n) throw new CertError(`quorum ${c.quorum} of ${n} is not more than two thirds`);
}

/** "group 2 of 3 <key prefix>…" or "committee of 4, quorum 3". */
export function describeCommittee(c: Committee): string {
  return isGroup(c) ? `threshold group ${c.t} of ${c.n}, key ${c.groupPublicKey.slice(0, 16)}…` : `committee of ${c.members.length}, quorum ${c.quorum}`;
}

function committeeHash(c: Committee): string {
  if (isGroup(c)) return groupHash(c);
  return sha256(`meridian-committee/v1\n${c.quorum}\n${c.members.join("\n")}\n`).toString("hex");
}

/** The bytes every member (or every share of a group) signs: everything but the signatures. */
export function certBody(c: Omit<Certificate, "signatures" | "groupSignature">): Buffer {
  const next = c.next === undefined ? "" : `next ${committeeHash(c.next)}\n`;
  return Buffer.from(`meridian-cert/v1\n${c.height}\n${c.parent}\n${c.root}\n${c.committee}\n${next}`, "utf8");
}

export function certHash(c: Certificate): string {
  return sha256(certBody(c)).toString("hex");
}

export interface MemberKey {
  publicKey: string;
  sign(msg: Uint8Array): string;
}

/** A member's key from a 32-byte seed (tests, demos) — in deployment the member's own signer. */
export function memberKey(seed: Uint8Array): MemberKey {
  const priv = createPrivateKey({ key: Buffer.concat([PKCS8, Buffer.from(seed)]), format: "der", type: "pkcs8" });
  const publicKey = createPublicKey(priv).export({ format: "der", type: "spki" }).subarray(SPKI.length).toString("hex");
  return { publicKey, sign: (msg) => edSign(null, msg, priv).toString("base64") };
}

function verifySig(publicKey: string, msg: Uint8Array, sig: string): boolean {
  try {
    return edVerify(null, msg, createPublicKey({ key: Buffer.concat([SPKI, Buffer.from(publicKey, "hex")]), format: "der", type: "spki" }), Buffer.from(sig, "base64"));
  } catch {
    return false;
  }
}

export type UnsignedCertificate = Omit<Certificate, "signatures" | "groupSignature">;

/** The body to sign: the certificate without signatures, its committee's hash filled in (checked first). */
export function unsignedCertificate(body: Omit<Certificate, "signatures" | "groupSignature" | "committee">, committee: Committee): UnsignedCertificate {
  if (body.checkpoint !== undefined && checkpointDigest(body.checkpoint) !== body.root) throw new CertError("the root must be the checkpoint's digest");
  if (body.next !== undefined) checkCommittee(body.next);
  return { ...body, committee: committeeHash(committee) };
}

/** Sign a certificate body with the given members (their indices in `committee`). */
export function issue(body: Omit<Certificate, "signatures" | "committee">, committee: Committee, signers: readonly { index: number; key: MemberKey }[]): Certificate {
  if (isGroup(committee)) throw new CertError("a group signs with partial signatures of its shares (issueThreshold), not member keys");
  const unsigned = unsignedCertificate(body, committee);
  const msg = certBody(unsigned);
  return { ...unsigned, signatures: signers.map((s) => ({ member: s.index, sig: s.key.sign(msg) })) };
}

/** A group certificate: t partial signatures of the body by the group's shares, each checked, combined into one. */
export function issueThreshold(unsigned: UnsignedCertificate, committee: GroupCommittee, commitments: readonly Uint8Array[], partials: readonly PartialSignature[]): Certificate {
  if (unsigned.committee !== groupHash(committee)) throw new CertError(`certificate ${unsigned.height} is not for this group`);
  const { signature } = combineGroup(committee, commitments, certBody(unsigned), partials);
  return { ...unsigned, signatures: [], groupSignature: signature };
}

/** Check a certificate's quorum under `committee`; throws CertError naming what is wrong. */
function verifyCertificate(c: Certificate, committee: Committee): void {
  if (c.checkpoint !== undefined && checkpointDigest(c.checkpoint) !== c.root) throw new CertError(`certificate ${c.height}: its checkpoint is not the one its root certifies`);
  if (c.committee !== committeeHash(committee)) throw new CertError(`certificate ${c.height} is signed for another committee`);
  if (c.next !== undefined) checkCommittee(c.next);
  const msg = certBody(c);
  if (isGroup(committee)) {
    if (c.signatures.length > 0 || c.groupSignature === undefined) throw new CertError(`certificate ${c.height}: its group signs with one threshold signature, not member signatures`);
    if (!verifyGroup(committee, msg, c.groupSignature)) throw new CertError(`certificate ${c.height}: forged threshold signature (it does not verify under the group key)`);
    return;
  }
  if (c.groupSignature !== undefined) throw new CertError(`certificate ${c.height}: a member committee signs it, not a group`);
  const seen = new Set<number>();
  for (const s of c.signatures) {
    const key = committee.members[s.member];
    if (key === undefined) throw new CertError(`certificate ${c.height}: member ${s.member} is not in the committee`);
    if (seen.has(s.member)) throw new CertError(`certificate ${c.height}: member ${s.member} signed twice`);
    if (!verifySig(key, msg, s.sig)) throw new CertError(`certificate ${c.height}: forged signature for member ${s.member}`);
    seen.add(s.member);
  }
  if (seen.size < committee.quorum) throw new CertError(`certificate ${c.height}: ${seen.size} signatures, the quorum is ${committee.quorum}`);
}

/**
 * Two certificates at one height, different, both signed by one member: that member equivocated. For a group
 * (`member` -1, `publicKey` the group key) both carry a valid threshold signature: at least 2t − n shares signed both.
 */
export interface Equivocation {
  member: number;
  publicKey: string;
  a: Certificate;
  b: Certificate;
}

/** The members who signed both of two conflicting certificates (empty when they do not conflict). */
export function findEquivocation(a: Certificate, b: Certificate, committee: Committee): Equivocation[] {
  if (a.height !== b.height || certHash(a) === certHash(b)) return [];
  if (isGroup(committee)) {
    const valid = (c: Certificate) => c.committee === groupHash(committee) && c.groupSignature !== undefined && verifyGroup(committee, certBody(c), c.groupSignature);
    return valid(a) && valid(b) ? [{ member: GROUP_MEMBER, publicKey: committee.groupPublicKey, a, b }] : [];
  }
  const out: Equivocation[] = [];
  const validIn = (c: Certificate, m: number) => c.committee === committeeHash(committee) && c.signatures.some((s) => s.member === m && verifySig(members[m]!, certBody(c), s.sig));
  const members = committee.members;
  members.forEach((publicKey, member) => {
    if (validIn(a, member) && validIn(b, member)) out.push({ member, publicKey, a, b });
  });
  return out;
}

/** Who equivocated, for messages: "members 1, 3", or "the group" (its key: at least 2t − n of its shares signed both). */
export function equivocators(ev: readonly Equivocation[]): string {
  return ev.some((e) => e.member === GROUP_MEMBER) ? "the group" : `members ${ev.map((e) => e.member).join(", ")}`;
}

/** Check equivocation evidence with the committee's keys alone. */
export function verifyEquivocation(e: Equivocation, committee: Committee): boolean {
  if ((isGroup(committee) ? committee.groupPublicKey : committee.members[e.member]) !== e.publicKey) return false;
  return findEquivocation(e.a, e.b, committee).some((x) => x.member === e.member);
}

export interface Head {
  hash: string;
  height: number;
  root: string;
  committee: Committee;
  /** The head certificate itself (with the log checkpoint it certifies, if any). */
  certificate: Certificate;
}

/**
 * Follows a certificate chain from a trusted checkpoint certificate (or genesis) keeping only its head. Every
 * certificate it accepts is quorum-signed, hence final; `finalizedHeight(k)` also offers the k-deep rule for
 * callers that want confirmations on top.
 */
export class LightClient {
  private current: Head;
  private readonly seen = new Map<number, { cert: Certificate; committee: Committee }>(); // accepted, with the committee that signed each
  readonly evidence: Equivocation[] = [];

  /** Start from a checkpoint certificate verified under the committee the caller trusts for it. */
  constructor(checkpoint: Certificate, committee: Committee) {
    checkCommittee(committee);
    verifyCertificate(checkpoint, committee);
    this.current = { hash: certHash(checkpoint), height: checkpoint.height, root: checkpoint.root, committee: checkpoint.next ?? committee, certificate: checkpoint };
    this.seen.set(checkpoint.height, { cert: checkpoint, committee });
  }

  get head(): Head {
    return this.current;
  }

  /** Accept the next certificate, or throw CertError (recording equivocation evidence if it conflicts with one seen). */
  accept(c: Certificate): void {
    const known = this.seen.get(c.height);
    if (known !== undefined) {
      const ev = findEquivocation(known.cert, c, known.committee);
      if (ev.length > 0) {
        this.evidence.push(...ev);
        throw new CertError(`fork at height ${c.height}: ${equivocators(ev)} signed two certificates`);
      }
      if (certHash(known.cert) === certHash(c)) return;
      throw new CertError(`fork at height ${c.height}: a second certificate (no common signer)`);
    }
    if (c.height !== this.current.height + 1) throw new CertError(`certificate ${c.height} does not follow the head at ${this.current.height}`);
    if (c.parent !== this.current.hash) throw new CertError(`certificate ${c.height}'s parent is not the head`);
    try {
      verifyCertificate(c, this.current.committee);
    } catch (e) {
      if (e instanceof CertError && c.next !== undefined) throw new CertError(`hand-over not signed by the old quorum: ${e.message}`);
      throw e;
    }
    this.seen.set(c.height, { cert: c, committee: this.current.committee });
    this.current = { hash: certHash(c), height: c.height, root: c.root, committee: c.next ?? this.current.committee, certificate: c };
  }

  /** Highest final height: quorum certificates are final; `k` > 0 additionally asks for k certificates on top. */
  finalizedHeight(k = 0): number {
    return this.current.height - k;
  }

  /** Forget certificates below `height` (fork detection then covers only the kept window). */
  prune(height: number): void {
    for (const h of this.seen.keys()) if (h < height) this.seen.delete(h);
  }
}
