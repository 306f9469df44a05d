/**
 * A witness's side of certification (runtime/certchain/signer.ts), the rule forks cannot pass: it signs at most one
 * certificate body per height, kept durably before its partial leaves (a restarted member still refuses a second body
 * and answers with the one it signed), only for its own group, only a hand-over its operator named, only a checkpoint
 * carrying the log's and the group's signatures, and only above a parent the group signed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  certBody,
  certHash,
  CertifyRefusal,
  CertSigner,
  checkpointDigest,
  FileSignedStore,
  GENESIS_PARENT,
  groupCommittee,
  issueThreshold,
  unsignedCertificate,
  type Certificate,
} from "../../../runtime/certchain/index.js";
import { formatCheckpoint } from "../../../runtime/prooflog/checkpoint.js";
import { generateKey, newSigner, newVerifier, signNote } from "../../../runtime/prooflog/note.js";
import { combineCheckpoint, thresholdMessage } from "../../../runtime/prooflog/witness/threshold.js";
import { deal, partialSign } from "../../../runtime/tbls/index.js";

const dir = mkdtempSync(join(tmpdir(), "certchain-signer-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ORIGIN = "meridian.test/signer";
const logKey = generateKey(ORIGIN);
const d = deal(2, 3);
const group = { name: "meridian.test/witnesses", t: 2, n: 3, commitments: d.commitments, groupPublicKey: d.commitments[0]! };
const committee = groupCommittee(group);
const other = deal(2, 3);

/** A checkpoint note signed by the log and (unless `bare`) by the group's threshold signature. */
function note(size: number, bare = false): { body: string; note: string } {
  const body = formatCheckpoint({ origin: ORIGIN, size, root: new Uint8Array(32).fill(size), extensions: [] });
  const signed = signNote(body, [newSigner(logKey.signerKey)]);
  if (bare) return { body, note: signed };
  const { line } = combineCheckpoint(
    group,
    body,
    [0, 1].map((k) => partialSign(thresholdMessage(body), d.shares[k]!)),
  );
  return { body, note: `${signed}${line}` };
}

const signer = (k: number, store = new FileSignedStore(join(dir, `member-${k}`))) =>
  new CertSigner({ group, share: d.shares[k]!, logs: new Map([[ORIGIN, [newVerifier(logKey.verifierKey)]]]), store });

const body = (height: number, parent: string, n: { body: string }, extra: object = {}) => ({
  ...unsignedCertificate({ height, parent, root: checkpointDigest(n.body), checkpoint: n.body, ...extra }, committee),
  signatures: [],
});
const refusal = async (p: Promise<unknown>): Promise<CertifyRefusal> => {
  try {
    await p;
  } catch (e) {
    if (e instanceof CertifyRefusal) return e;
    throw e;
  }
  throw new Error("expected a refusal");
};

describe("a witness certifying with its share", () => {
  it("signs one body per height, durably: asked for another after a restart it answers with the one it signed", async () => {
    const n3 = note(3);
    const c0 = body(0, GENESIS_PARENT, n3);
    const p0 = await signer(0).certify({ certificate: c0, note: n3.note });
    const p1 = await signer(1).certify({ certificate: c0, note: n3.note });
    const cert0: Certificate = issueThreshold(
      c0,
      committee,
      d.commitments,
      [p0, p1].map((p) => ({ index: p.index, signature: Buffer.from(p.signature, "hex") })),
    );
    // The same body again: the same partial (idempotent).
    expect(await signer(0).certify({ certificate: c0, note: n3.note })).toEqual(p0);
    // A different body at height 0, from a new instance on the same state (a restart): 409 with what it signed.
    const n4 = note(4);
    const e = await refusal(signer(0).certify({ certificate: body(0, GENESIS_PARENT, n4), note: n4.note }));
    expect(e.status).toBe(409);
    expect(e.signed?.certificate).toEqual((({ signatures: _s, ...b }) => b)(c0));
    // Height 1 over the group-signed parent: signed; a second height-1 body: refused.
    const c1 = body(1, certHash(cert0), n4);
    await signer(0).certify({ certificate: c1, note: n4.note, parent: cert0 });
    const n5 = note(5);
    expect((await refusal(signer(0).certify({ certificate: body(1, certHash(cert0), n5), note: n5.note, parent: cert0 }))).status).toBe(409);
  });

  it("refuses another group's body, an unnamed hand-over, a checkpoint without the group's signature, an older checkpoint and a parent the group did not sign", async () => {
    const s = signer(2);
    const n3 = note(3);
    const foreign = {
      ...unsignedCertificate({ height: 0, parent: GENESIS_PARENT, root: checkpointDigest(n3.body), checkpoint: n3.body }, groupCommittee({ t: 2, n: 3, groupPublicKey: other.commitments[0]! })),
      signatures: [],
    };
    expect((await refusal(s.certify({ certificate: foreign, note: n3.note }))).message).toMatch(/not for this member's group/);
    const handOver = body(0, GENESIS_PARENT, n3, { next: groupCommittee({ t: 2, n: 3, groupPublicKey: other.commitments[0]! }) });
    expect((await refusal(s.certify({ certificate: handOver, note: n3.note }))).message).toMatch(/hands over to a group this member's operator did not name/);
    const bare = note(3, true);
    expect((await refusal(s.certify({ certificate: body(0, GENESIS_PARENT, bare), note: bare.note }))).message).toMatch(/carries no threshold signature/);
    expect((await refusal(s.certify({ certificate: body(0, GENESIS_PARENT, n3), note: note(4).note }))).message).toMatch(/not the checkpoint it certifies/);
    // A parent signed by two shares of another group, claiming this group's committee hash: refused, nothing kept.
    const n6 = note(6);
    const fakeParentBody = body(0, GENESIS_PARENT, n6);
    const fakeParent = {
      ...fakeParentBody,
      groupSignature: Buffer.from(
        issueThreshold(
          fakeParentBody,
          committee,
          d.commitments,
          [0, 1].map((k) => partialSign(certBody(fakeParentBody), d.shares[k]!)),
        ).groupSignature!,
        "hex",
      )
        .reverse()
        .toString("hex"),
    };
    const n7 = note(7);
    expect((await refusal(s.certify({ certificate: body(1, certHash(fakeParent), n7), note: n7.note, parent: fakeParent }))).message).toMatch(/the parent: certificate 0: forged threshold signature/);
    expect((await refusal(s.certify({ certificate: body(1, certHash(fakeParentBody), n7), note: n7.note }))).message).toMatch(/parent certificate is needed/);
    // None of these was kept: it still signs a genesis body.
    await s.certify({ certificate: body(0, GENESIS_PARENT, n3), note: n3.note });
    const n2 = note(2);
    const genesis = issueThreshold(
      body(0, GENESIS_PARENT, n3),
      committee,
      d.commitments,
      [0, 2].map((k) => partialSign(certBody(body(0, GENESIS_PARENT, n3)), d.shares[k]!)),
    );
    expect((await refusal(s.certify({ certificate: body(1, certHash(genesis), n2), note: n2.note, parent: genesis }))).message).toMatch(/older than the one this member certified last/);
  });
});
