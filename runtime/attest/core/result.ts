/**
 * Attestation results (RATS RFC 9334 §3: what the verifier hands the relying party): a JSON object, signed by
 * the verifier as a C2SP signed note (runtime/prooflog's note format, Ed25519) whose text is the JSON on one
 * line. The same bytes are the proof-log entry, so a logged result verifies with the verifier key alone. The
 * relying party's side is `admit`: a fresh, accepted result for this node and AK, or the reason for refusal.
 */
import { newSigner, newVerifier, openNote, signNote } from "../../prooflog/index.js";
import type { QuoteAppraisal } from "./quote.js";
import type { NitroClaims } from "./nitro-appraisal.js";
import type { SnpClaims } from "./sev-snp-appraisal.js";

export const RESULT_TYPE = "meridian.attestation-result/v1";

export interface AttestationResult {
  type: typeof RESULT_TYPE;
  /** RATS AR4SI-style summary: "affirming" when every check passed, else "contraindicated". */
  status: "affirming" | "contraindicated";
  accepted: boolean;
  reason?: string;
  /** The attester's name as the verifier knows it (a node ID, SPIFFE ID), when given. */
  node?: string;
  /** The evidence format ("tpm", "sev-snp", "nitro"); absent in results from before formats were pluggable (TPM). */
  format?: string;
  /** SHA-256 of the SubjectPublicKeyInfo of the key that signed the evidence (the TPM's AK, the SEV-SNP VCEK), hex. */
  ak: string;
  nonce: string;
  /** When the verifier appraised the evidence (ISO 8601). */
  appraisedAt: string;
  /** The verifier's key name (the note signer). */
  verifier: string;
  checks: { check: string; ok: boolean; detail: string }[];
  freshness: { ok: boolean; detail: string };
  pcrs?: QuoteAppraisal["pcrs"];
  signatureScheme?: string;
  clock?: QuoteAppraisal["clock"];
  /** What an SEV-SNP report vouches for (measurement, report data, chip, TCB), once its chain and signature hold. */
  snp?: SnpClaims;
  /** What a Nitro Enclaves attestation document vouches for (module, PCRs, public key, user data), likewise. */
  nitro?: NitroClaims;
}

/** The signed note of a result: one JSON line, then the verifier's signature. */
export function signResult(result: AttestationResult, signerKey: string): string {
  return signNote(`${JSON.stringify(result)}\n`, [newSigner(signerKey)]);
}

/** Open a signed result with the verifier's key; throws when the signature does not verify. */
export function openResult(note: string, verifierKey: string): AttestationResult {
  const opened = openNote(note, [newVerifier(verifierKey)]);
  const result = JSON.parse(opened.text) as AttestationResult;
  if (result.type !== RESULT_TYPE) throw new Error(`not an attestation result: type ${JSON.stringify(result.type)}`);
  return result;
}

export interface AdmitOptions {
  verifierKey: string;
  now: number;
  /** Results older than this are stale: a node re-attests at least this often. */
  maxAgeMs: number;
  node?: string;
  /** The AK fingerprint the relying party expects (its registry of endorsed AKs). */
  ak?: string;
}

/** The relying party's decision: true, or why the result does not admit the node. */
export function admit(note: string | undefined, o: AdmitOptions): true | string {
  if (!note) return "no attestation result";
  let r: AttestationResult;
  try {
    r = openResult(note, o.verifierKey);
  } catch (e) {
    return `attestation result does not verify: ${(e as Error).message}`;
  }
  if (!r.accepted || r.status !== "affirming") return `attestation refused: ${r.reason ?? r.status}`;
  if (o.node !== undefined && r.node !== o.node) return `attestation result is for ${r.node ?? "an unnamed node"}, not ${o.node}`;
  if (o.ak !== undefined && r.ak !== o.ak) return `attestation result is for AK ${r.ak.slice(0, 16)}…, not the endorsed ${o.ak.slice(0, 16)}…`;
  const at = Date.parse(r.appraisedAt);
  if (!Number.isFinite(at) || o.now - at > o.maxAgeMs) return `attestation result from ${r.appraisedAt} is older than ${o.maxAgeMs} ms`;
  if (at - o.now > 60_000) return `attestation result from ${r.appraisedAt} is in the future`;
  return true;
}
