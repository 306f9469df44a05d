/**
 * The issuer (`cert serve` with `issue`): each round it reads the proof log's latest checkpoint — which must carry the
 * log's signature and the witnesses' threshold group signature — and, when it is newer than the head's (or a rotation
 * to `next` is due), asks every witness to sign the next certificate's body with its share (`POST /certify`,
 * signer.ts), combines t valid partials into the group's one signature, and appends the certificate. A witness that
 * already signed that height answers with the body it signed (409): the issuer adopts that body when it continues
 * the chain, so a restart after a crash between collecting partials and appending re-issues the same certificate and
 * never a second one at that height.
 */
import { parseCheckpoint, verifyThresholdCheckpoint, type ThresholdGroup, type Verifier } from "../prooflog/index.js";
import type { PartialSignature } from "../tbls/index.js";
import { certHash, GENESIS_PARENT, issueThreshold, unsignedCertificate, type Certificate, type Committee, type UnsignedCertificate } from "./certificates.js";
import { CertError } from "./errors.js";
import { groupCommittee, groupHash, type GroupCommittee } from "./group.js";
import { checkpointBody, checkpointDigest } from "./log-checkpoint.js";
import { CertificateJson } from "./schema.js";

export interface IssuerOptions {
  /** The proof log's base URL (GET /checkpoint). */
  log: string;
  logVerifiers: readonly Verifier[];
  /** The witnesses' group (its commitments check partials) and the note name of its checkpoint signature. */
  group: ThresholdGroup;
  /** Base URLs of the witnesses holding its shares. */
  witnesses: readonly string[];
  /** Hand over to this group once (a rotation certificate the current group signs). */
  next?: GroupCommittee;
  timeoutMs: number;
}

/** The chain as the issuer sees it: its head and the committee that signed it (none before genesis), and append. */
export interface IssuerChain {
  head(): { cert: Certificate; committee: Committee } | undefined;
  append(c: Certificate): void;
}

const sameCommittee = (a: object, b: object) => JSON.stringify(a) === JSON.stringify(b);

export class Issuer {
  readonly committee: GroupCommittee;
  /** The log's note last verified, byte for byte, and its checkpoint: an unchanged note is not verified again. */
  private verified: { note: string; checkpoint: ReturnType<typeof verifyThresholdCheckpoint> } | undefined;

  constructor(private readonly o: IssuerOptions) {
    this.committee = groupCommittee(o.group);
  }

  /** One round: the certificate issued, or null when the head already certifies the log's checkpoint. Throws naming why not. */
  async round(chain: IssuerChain): Promise<Certificate | null> {
    const res = await fetch(`${this.o.log.replace(/\/+$/, "")}/checkpoint`, { signal: AbortSignal.timeout(this.o.timeoutMs) });
    const note = await res.text();
    if (!res.ok) throw new CertError(`GET ${this.o.log}/checkpoint: HTTP ${res.status}`);
    // Its signatures (a BLS pairing for the group's) are checked once, not every round the log has nothing new (as the
    // monitor does): the same bytes under the same keys verify the same.
    if (this.verified?.note !== note) this.verified = { note, checkpoint: verifyThresholdCheckpoint(note, this.o.logVerifiers, this.o.group) };
    const cp = this.verified.checkpoint;
    const head = chain.head();
    const inForce = head && (head.cert.next ?? head.committee);
    if (inForce && !sameCommittee(inForce, this.committee))
      throw new CertError(`the chain's committee is now another group (key ${"groupPublicKey" in inForce ? inForce.groupPublicKey.slice(0, 16) : "members"}…): this issuer's group no longer signs`);
    const rotate = this.o.next !== undefined && !sameCommittee(this.o.next, this.committee);
    const body = checkpointBody(note);
    if (head?.cert.checkpoint !== undefined) {
      const held = parseCheckpoint(head.cert.checkpoint);
      if (cp.size < held.size) throw new CertError(`the log's checkpoint (size ${cp.size}) is older than the head's (size ${held.size})`);
      if (head.cert.checkpoint === body && !rotate) return null;
    }
    const unsigned = unsignedCertificate(
      { height: head ? head.cert.height + 1 : 0, parent: head ? certHash(head.cert) : GENESIS_PARENT, root: checkpointDigest(body), checkpoint: body, ...(rotate && { next: this.o.next }) },
      this.committee,
    );
    const cert = await this.collect(unsigned, note, head);
    chain.append(cert);
    return cert;
  }

  /** Ask every witness for a partial; adopt the body one already signed at this height if it continues the head. */
  private async collect(unsigned: UnsignedCertificate, note: string, head: ReturnType<IssuerChain["head"]>, adopted = false): Promise<Certificate> {
    const parent = head && { parent: head.cert, ...(groupHash(this.committee) !== head.cert.committee && { parentCommittee: head.committee }) };
    const request = JSON.stringify({ certificate: { ...unsigned, signatures: [] }, note, ...parent });
    const answers = await Promise.all(this.o.witnesses.map((url) => this.ask(url, request)));
    const partials = answers.flatMap((a) => (a.partial ? [a.partial] : []));
    if (partials.length < this.committee.t && !adopted) {
      const signed = answers.find((a) => a.signed && a.signed.certificate.height === unsigned.height && a.signed.certificate.parent === unsigned.parent)?.signed;
      if (signed) return this.collect(signed.certificate, signed.note, head, true);
    }
    try {
      return issueThreshold(unsigned, this.committee, this.o.group.commitments, partials);
    } catch (e) {
      const why = answers.flatMap((a, i) => (a.error ? [`${this.o.witnesses[i]}: ${a.error}`] : []));
      throw new CertError(`certificate ${unsigned.height}: ${(e as Error).message}${why.length ? ` (${why.join("; ")})` : ""}`);
    }
  }

  private async ask(url: string, body: string): Promise<{ partial?: PartialSignature; signed?: { certificate: UnsignedCertificate; note: string }; error?: string }> {
    try {
      const res = await fetch(`${url.replace(/\/+$/, "")}/certify`, { method: "POST", body, headers: { "content-type": "application/json" }, signal: AbortSignal.timeout(this.o.timeoutMs) });
      const json = (await res.json().catch(() => ({}))) as { index?: number; signature?: string; error?: string; certificate?: unknown; note?: string };
      if (res.ok && typeof json.index === "number" && typeof json.signature === "string" && /^[0-9a-f]{96}$/.test(json.signature))
        return { partial: { index: json.index, signature: Uint8Array.from(Buffer.from(json.signature, "hex")) } };
      if (res.status === 409 && typeof json.note === "string") {
        const c = CertificateJson.safeParse({ ...(json.certificate as object), signatures: [] });
        if (c.success) {
          const { signatures: _s, groupSignature: _g, ...certificate } = c.data;
          return { signed: { certificate, note: json.note }, error: json.error ?? "HTTP 409" };
        }
      }
      return { error: `HTTP ${res.status} ${json.error ?? ""}`.trim() };
    } catch (e) {
      return { error: `unreachable: ${(e as Error).message}` };
    }
  }
}
