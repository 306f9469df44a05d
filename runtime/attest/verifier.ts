/**
 * The verifier role end to end: consume the nonce (single use, whatever the appraisal finds), appraise the
 * quote against the AK and the reference values, and sign the attestation result. Accepted only when the nonce
 * is fresh and every quote check passes.
 */
import type { Clock } from "../common/clock.js";
import { NONCE_HEX, type NonceStore } from "./core/nonce.js";
import { akFingerprint, appraiseQuote, attestationKey, type QuoteEvidence, type ReferenceValues } from "./core/quote.js";
import { RESULT_TYPE, signResult, type AttestationResult } from "./core/result.js";
import { QuoteFormatError } from "./core/tpm.js";
import { newSigner } from "../prooflog/index.js";

export interface VerifyRequest {
  evidence: QuoteEvidence;
  /** The AK public key (PEM from `tpm2_readpublic -f pem`). */
  ak: string;
  nonce: string;
  reference: ReferenceValues;
  node?: string;
}

export interface Verified {
  result: AttestationResult;
  /** The signed note of the result (the proof-log entry). */
  note: string;
}

export async function verifyAttestation(req: VerifyRequest, deps: { nonces: NonceStore; signerKey: string; clock: Clock }): Promise<Verified> {
  const nonce = req.nonce.toLowerCase();
  if (!NONCE_HEX.test(nonce)) throw new QuoteFormatError(`nonce: got ${JSON.stringify(req.nonce)}; expected hex (what \`meridian attest nonce\` printed)`);
  const key = attestationKey(req.ak);
  const freshness = await deps.nonces.consume(nonce);
  const appraisal = appraiseQuote(req.evidence, key, Buffer.from(nonce, "hex"), req.reference);
  const accepted = freshness.ok && appraisal.accepted;
  const reason = !freshness.ok ? `freshness: ${freshness.detail}` : appraisal.reason;
  const result: AttestationResult = {
    type: RESULT_TYPE,
    status: accepted ? "affirming" : "contraindicated",
    accepted,
    ...(reason ? { reason } : {}),
    ...(req.node !== undefined ? { node: req.node } : {}),
    ak: akFingerprint(key),
    nonce,
    appraisedAt: new Date(deps.clock.now()).toISOString(),
    verifier: newSigner(deps.signerKey).name,
    freshness: freshness.ok ? { ok: true, detail: "verifier-issued, unused, unexpired" } : { ok: false, detail: freshness.detail },
    checks: appraisal.checks,
    ...(appraisal.pcrs ? { pcrs: appraisal.pcrs } : {}),
    ...(appraisal.signatureScheme ? { signatureScheme: appraisal.signatureScheme } : {}),
    ...(appraisal.clock ? { clock: appraisal.clock } : {}),
  };
  return { result, note: signResult(result, deps.signerKey) };
}
