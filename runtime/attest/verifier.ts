/**
 * The verifier role end to end, whatever the evidence format: consume the nonce (single use, whatever the
 * appraisal finds), appraise the evidence against what the operator endorsed and the reference values, and sign
 * the attestation result. Accepted only when the nonce is fresh and every check of the format passes.
 */
import type { Clock } from "../common/clock.js";
import { NONCE_HEX, type NonceStore } from "./core/nonce.js";
import { evidenceFormat } from "./core/formats.js";
import { akFingerprint, appraiseQuote, attestationKey, referenceSchema, type QuoteEvidence } from "./core/quote.js";
import { anchorOf, clockFreshness, type ClockAnchor } from "./core/timestamp.js";
import { RESULT_TYPE, signResult, type AttestationResult } from "./core/result.js";
import { QuoteFormatError } from "./core/tpm.js";
import { newSigner } from "../prooflog/index.js";

export interface VerifyRequest {
  /** The evidence format (core/formats.ts); "tpm" when absent. */
  format?: string;
  /** The evidence's parts by name: TPM message/signature/pcrs (`tpm2_quote -m/-s/-o`); SEV-SNP report/vcek/chain. */
  evidence: Readonly<Record<string, Uint8Array>>;
  /** What the operator endorses for the attester (PEM): the TPM's AK (`tpm2_readpublic -f pem`), AMD's ARK. */
  endorsement?: string;
  /** The TPM AK (PEM): the endorsement of a "tpm" request, as before formats were pluggable. */
  ak?: string;
  nonce: string;
  /** Reference values in the format's shape (TPM `{"sha256": {"0": "hex"}}`, SEV-SNP `{"measurement": "hex"}`). */
  reference: unknown;
  node?: string;
}

export interface Verified {
  result: AttestationResult;
  /** The signed note of the result (the proof-log entry). */
  note: string;
}

/** Registered TPM clocks by AK fingerprint (timestamp mode); a Map will do. */
export type ClockRegistry = Pick<Map<string, ClockAnchor>, "get" | "set">;

export async function verifyAttestation(req: VerifyRequest, deps: { nonces: NonceStore; signerKey: string; clock: Clock; clocks?: ClockRegistry }): Promise<Verified> {
  const nonce = req.nonce.toLowerCase();
  if (!NONCE_HEX.test(nonce)) throw new QuoteFormatError(`nonce: got ${JSON.stringify(req.nonce)}; expected hex (what \`meridian attest nonce\` printed)`);
  const format = evidenceFormat(req.format ?? "tpm");
  // The endorsement and reference are the operator's: a mistake there is an error, and spends no nonce.
  const endorsementText = req.endorsement ?? req.ak;
  if (endorsementText === undefined) throw new QuoteFormatError(`endorsement: a ${format.name} appraisal needs what the operator endorsed for the attester`);
  const endorsement = format.endorsement(endorsementText);
  const ref = format.reference.safeParse(req.reference);
  if (!ref.success) throw new QuoteFormatError(`reference: ${ref.error.issues.map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`).join("; ")}`);
  const freshness = await deps.nonces.consume(nonce);
  const appraisal = format.appraise({ evidence: req.evidence, endorsement, nonce: Buffer.from(nonce, "hex"), reference: ref.data, now: deps.clock.now() });
  const accepted = freshness.ok && appraisal.accepted;
  const reason = !freshness.ok ? `freshness: ${freshness.detail}` : appraisal.reason;
  const result = attestationResult({
    accepted,
    reason,
    node: req.node,
    format: format.name,
    ak: appraisal.signer ?? "",
    nonce,
    freshness: freshness.ok ? { ok: true, detail: "verifier-issued, unused, unexpired" } : { ok: false, detail: freshness.detail },
    checks: appraisal.checks,
    claims: appraisal.claims,
    deps,
  });
  // A nonce-fresh TPM quote registers the AK's clock: later quotes may prove freshness by it (verifyTimestamped).
  if (accepted && format.name === "tpm" && deps.clocks && result.clock) deps.clocks.set(result.ak, anchorOf(result.clock, deps.clock.now()));
  return { result, note: signResult(result, deps.signerKey) };
}

/**
 * Timestamp mode: a TPM quote without a verifier nonce, fresh by its TPMS_CLOCK_INFO against the clock the AK
 * registered with a nonce-fresh quote (core/timestamp.ts). Accepted only when the quote's checks pass and the
 * clock is safe, unreset, past every accepted one and dates the quote within `maxAgeMs`.
 */
export function verifyTimestamped(
  req: { evidence: QuoteEvidence; ak: string; reference: unknown; node?: string },
  deps: { clocks: ClockRegistry; maxAgeMs: number; signerKey: string; clock: Clock },
): Verified {
  const key = attestationKey(req.ak);
  const ref = referenceSchema.safeParse(req.reference);
  if (!ref.success) throw new QuoteFormatError(`reference: ${ref.error.issues.map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`).join("; ")}`);
  const appraisal = appraiseQuote(req.evidence, key, undefined, ref.data);
  const ak = akFingerprint(key);
  const trusted = appraisal.checks.find((c) => c.check === "signature")?.ok === true && appraisal.clock;
  const freshness = trusted
    ? clockFreshness(deps.clocks.get(ak), appraisal.clock!, { now: deps.clock.now(), maxAgeMs: deps.maxAgeMs })
    : { ok: false as const, detail: "not evaluated: the quote's clock is not signed by this AK" };
  const accepted = freshness.ok && appraisal.accepted;
  if (accepted) deps.clocks.set(ak, { ...deps.clocks.get(ak)!, last: appraisal.clock!.clock, restartCount: appraisal.clock!.restartCount });
  const reason = !appraisal.accepted ? appraisal.reason : !freshness.ok ? `freshness: timestamp: ${freshness.detail}` : undefined;
  const result = attestationResult({
    accepted,
    reason,
    node: req.node,
    format: "tpm",
    ak,
    nonce: "",
    freshness: { ok: freshness.ok, detail: `timestamp: ${freshness.detail}` },
    checks: appraisal.checks,
    claims: {
      ...(appraisal.pcrs ? { pcrs: appraisal.pcrs } : {}),
      ...(appraisal.signatureScheme ? { signatureScheme: appraisal.signatureScheme } : {}),
      ...(appraisal.clock ? { clock: appraisal.clock } : {}),
    },
    deps,
  });
  return { result, note: signResult(result, deps.signerKey) };
}

/** The RATS attestation result both modes sign: status from the decision, the verifier's name and time. */
function attestationResult(r: {
  accepted: boolean;
  reason: string | undefined;
  node: string | undefined;
  format: string;
  ak: string;
  nonce: string;
  freshness: AttestationResult["freshness"];
  checks: AttestationResult["checks"];
  claims: Record<string, unknown> | undefined;
  deps: { signerKey: string; clock: Clock };
}): AttestationResult {
  return {
    type: RESULT_TYPE,
    status: r.accepted ? "affirming" : "contraindicated",
    accepted: r.accepted,
    ...(r.reason ? { reason: r.reason } : {}),
    ...(r.node !== undefined ? { node: r.node } : {}),
    format: r.format,
    ak: r.ak,
    nonce: r.nonce,
    appraisedAt: new Date(r.deps.clock.now()).toISOString(),
    verifier: newSigner(r.deps.signerKey).name,
    freshness: r.freshness,
    checks: r.checks,
    ...r.claims,
  };
}
