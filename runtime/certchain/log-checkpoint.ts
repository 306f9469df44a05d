/**
 * Certificates over the proof log's checkpoints: a certificate's `root` is the digest of a C2SP tlog-checkpoint body
 * (origin, tree size, root hash), and the body travels with it. A light client that has synced the certificate chain
 * thus holds a checkpoint the committee finalised, and checks the log's inclusion proofs against that checkpoint's
 * root — no trust in the log's own signing key is needed for it.
 */
import { createHash } from "node:crypto";
import { parseCheckpoint, verifyInclusion, type Checkpoint } from "../prooflog/index.js";
import { CertError } from "./errors.js";

const DOMAIN = "meridian-cert-checkpoint/v1\n";

/** The certificate root of a checkpoint body (domain-separated, so it never equals a log's own root or another hash). */
export function checkpointDigest(body: string): string {
  return createHash("sha256").update(DOMAIN).update(body, "utf8").digest("hex");
}

/** The checkpoint body of a signed note (its text before the blank line) or of a bare body, checked to parse. */
export function checkpointBody(noteOrBody: string): string {
  const cut = noteOrBody.indexOf("\n\n");
  const body = cut < 0 ? noteOrBody : noteOrBody.slice(0, cut + 1);
  try {
    parseCheckpoint(body);
  } catch (e) {
    throw new CertError(`not a log checkpoint: ${(e as Error).message}`);
  }
  return body;
}

/** The log checkpoint a (verified) certificate certifies; throws when it carries none or one its root does not certify. */
export function certifiedCheckpoint(c: { height: number; root: string; checkpoint?: string }): Checkpoint {
  if (c.checkpoint === undefined) throw new CertError(`certificate ${c.height} certifies no log checkpoint`);
  if (checkpointDigest(c.checkpoint) !== c.root) throw new CertError(`certificate ${c.height}: its checkpoint is not the one its root certifies`);
  return parseCheckpoint(c.checkpoint);
}

/** Check that leaf `leafHash` sits at `index` of the log checkpoint certificate `c` certifies (an RFC 6962 inclusion proof at its size). */
export function verifyCertifiedInclusion(c: { height: number; root: string; checkpoint?: string }, index: number, leafHash: Uint8Array, proof: readonly Uint8Array[], origin?: string): Checkpoint {
  const cp = certifiedCheckpoint(c);
  if (origin !== undefined && cp.origin !== origin) throw new CertError(`certificate ${c.height} certifies log "${cp.origin}", not "${origin}"`);
  verifyInclusion(index, cp.size, leafHash, proof, cp.root);
  return cp;
}
