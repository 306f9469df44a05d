/**
 * Certificate chains with finality (§13.2): each checkpoint certificate names its parent's hash, its height and a
 * root (a log or state root), and carries Ed25519 signatures of a committee; a quorum of more than two thirds of
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

const SPKI = Buffer.from("302a300506032b6570032100", "hex");
const PKCS8 = Buffer.from("302e020100300506032b657004220420", "hex");
const sha256 = (b: Uint8Array | string) => createHash("sha256").update(b).digest();

/** Members' Ed25519 public keys (hex) and the number of signatures a certificate needs. */
export interface Committee {
  members: string[];
  quorum: number;
}

export interface Certificate {
  height: number;
  parent: string; // hex hash of the parent certificate, 64 zeros at genesis
  root: string; // hex root the certificate finalises
  committee: string; // hex hash of the committee that signs it
  next?: Committee; // hand-over: certificates after this one are signed by `next`
  signatures: { member: number; sig: string }[]; // member = index in the committee, sig = base64 Ed25519
  /** The proof log's C2SP checkpoint body this certificate certifies; `root` is then its checkpointDigest (so it is signed through `root`). */
  checkpoint?: string;
}

export const GENESIS_PARENT = "0".repeat(64);

/** A committee is valid when its quorum is more than two thirds of its distinct members (so quorums intersect in an honest member when fewer than a third lie). */
export function checkCommittee(c: Committee): void {
  const n = c.members.length;
  if (n === 0) throw new CertError("the committee has no members");
  if (new Set(c.members).size !== n || c.members.some((m) => !/^[0-9a-f]{64}$/.test(m))) throw new CertError("committee members must be distinct 32-byte hex Ed25519 keys");
  if (!Number.isSafeInteger(c.quorum) || c.quorum > n || 3 * c.quorum <= 2 * n) throw new CertError(`quorum ${c.quorum} of ${n} is not more than two thirds`);
}

function committeeHash(c: Committee): string {
  return sha256(`meridian-committee/v1\n${c.quorum}\n${c.members.join("\n")}\n`).toString("hex");
}

/** The bytes every member signs: everything but the signatures. */
function certBody(c: Omit<Certificate, "signatures">): Buffer {
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

/** Sign a certificate body with the given members (their indices in `committee`). */
export function issue(body: Omit<Certificate, "signatures" | "committee">, committee: Committee, signers: readonly { index: number; key: MemberKey }[]): Certificate {
  if (body.checkpoint !== undefined && checkpointDigest(body.checkpoint) !== body.root) throw new CertError("the root must be the checkpoint's digest");
  const unsigned = { ...body, committee: committeeHash(committee) };
  if (body.next !== undefined) checkCommittee(body.next);
  const msg = certBody(unsigned);
  return { ...unsigned, signatures: signers.map((s) => ({ member: s.index, sig: s.key.sign(msg) })) };
}

/** Check a certificate's quorum under `committee`; throws CertError naming what is wrong. */
function verifyCertificate(c: Certificate, committee: Committee): void {
  if (c.checkpoint !== undefined && checkpointDigest(c.checkpoint) !== c.root) throw new CertError(`certificate ${c.height}: its checkpoint is not the one its root certifies`);
  if (c.committee !== committeeHash(committee)) throw new CertError(`certificate ${c.height} is signed for another committee`);
  if (c.next !== undefined) checkCommittee(c.next);
  const msg = certBody(c);
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

/** Two certificates at one height, different, both signed by one member: that member equivocated. */
export interface Equivocation {
  member: number;
  publicKey: string;
  a: Certificate;
  b: Certificate;
}

/** The members who signed both of two conflicting certificates (empty when they do not conflict). */
export function findEquivocation(a: Certificate, b: Certificate, committee: Committee): Equivocation[] {
  if (a.height !== b.height || certHash(a) === certHash(b)) return [];
  const out: Equivocation[] = [];
  const validIn = (c: Certificate, m: number) => c.committee === committeeHash(committee) && c.signatures.some((s) => s.member === m && verifySig(committee.members[m]!, certBody(c), s.sig));
  committee.members.forEach((publicKey, member) => {
    if (validIn(a, member) && validIn(b, member)) out.push({ member, publicKey, a, b });
  });
  return out;
}

/** Check equivocation evidence with the committee's keys alone. */
export function verifyEquivocation(e: Equivocation, committee: Committee): boolean {
  if (committee.members[e.member] !== e.publicKey) return false;
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
        throw new CertError(`fork at height ${c.height}: members ${ev.map((e) => e.member).join(", ")} signed two certificates`);
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
