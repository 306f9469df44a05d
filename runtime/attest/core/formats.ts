/**
 * The evidence formats this verifier appraises, by the name `--format` and the API's `format` take. A TPM 2.0
 * quote is one of them: the operator endorses the node's AK, the reference is PCR values.
 */
import type { KeyObject } from "node:crypto";
import type { EvidenceFormat } from "./evidence.js";
import { akFingerprint, appraiseQuote, attestationKey, referenceSchema, type ReferenceValues } from "./quote.js";
import { nitroFormat } from "./nitro-appraisal.js";
import { sevSnpFormat } from "./sev-snp-appraisal.js";
import { QuoteFormatError } from "./tpm.js";

const tpmFormat: EvidenceFormat<KeyObject, ReferenceValues> = {
  name: "tpm",
  parts: ["message", "signature", "pcrs"],
  endorsement: attestationKey,
  reference: referenceSchema,
  appraise({ evidence, endorsement, nonce, reference }) {
    const { message, signature, pcrs } = evidence;
    if (!message || !signature || !pcrs) throw new QuoteFormatError("TPM evidence: message, signature and pcrs (tpm2_quote -m/-s/-o) are all needed");
    const a = appraiseQuote({ message, signature, pcrs }, endorsement, nonce, reference);
    return {
      accepted: a.accepted,
      ...(a.reason ? { reason: a.reason } : {}),
      checks: a.checks,
      signer: akFingerprint(endorsement),
      claims: { ...(a.pcrs ? { pcrs: a.pcrs } : {}), ...(a.signatureScheme ? { signatureScheme: a.signatureScheme } : {}), ...(a.clock ? { clock: a.clock } : {}) },
    };
  },
};

export const EVIDENCE_FORMATS = { tpm: tpmFormat, "sev-snp": sevSnpFormat, nitro: nitroFormat } as const;
export type FormatName = keyof typeof EVIDENCE_FORMATS;
const FORMAT_NAMES = Object.keys(EVIDENCE_FORMATS) as [FormatName, ...FormatName[]];

export function evidenceFormat(name: string): EvidenceFormat {
  if (!Object.hasOwn(EVIDENCE_FORMATS, name)) throw new QuoteFormatError(`format: ${JSON.stringify(name)} is not one this verifier appraises (${FORMAT_NAMES.join(", ")})`);
  // Each format's endorsement and reference types are its own; callers pass what that format's parsers made.
  return EVIDENCE_FORMATS[name as FormatName] as unknown as EvidenceFormat;
}
