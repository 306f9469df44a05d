/**
 * runtime/attest: remote attestation with TPM 2.0 quotes in IETF RATS roles (RFC 9334). See README.md and
 * docs/trust.md.
 */
export { parseAttest, parsePcrValues, parseSignature, QuoteFormatError, type Attest, type PcrValues, type QuoteSignature } from "./core/tpm.js";
export { appraiseQuote, type QuoteAppraisal, type QuoteEvidence, type ReferenceValues } from "./core/quote.js";
export { evidenceFormat, type FormatName } from "./core/formats.js";
export type { Appraisal, EvidenceCheck, EvidenceFormat } from "./core/evidence.js";
export { parseSnpReport, type SnpReport } from "./core/sev-snp.js";
export { sevSnpFormat, type SnpClaims, type SnpReference } from "./core/sev-snp-appraisal.js";
export { parseNitroDocument, type NitroDocument } from "./core/nitro.js";
export { nitroFormat, type NitroClaims, type NitroReference } from "./core/nitro-appraisal.js";
export { challengeAk, completeAkChallenge, EndorsementError, parseAkPublic, type AkChallenge } from "./core/endorsement.js";
export { NonceBook, type NonceStore, type NonceVerdict } from "./core/nonce.js";
export { admit, openResult, type AdmitOptions, type AttestationResult } from "./core/result.js";
export { FileNonceBook } from "./store/file.js";
export { verifyAttestation, verifyTimestamped, type ClockRegistry, type Verified, type VerifyRequest } from "./verifier.js";
export { clockFreshness, type ClockAnchor, type ClockVerdict, type TpmClock } from "./core/timestamp.js";
export { attestService, type LogInclusion } from "./service.js";
export { spireAgentAttributes, type SpireAgentAttributes } from "./spire.js";
export { attestationAdmission, type AttestationAdmissionOptions } from "./admission.js";
