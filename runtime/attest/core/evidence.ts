/**
 * Evidence formats (RATS RFC 9334 §8: "evidence" is format-specific; appraisal policy is the verifier's). A format
 * names the parts its evidence comes in (files for the CLI, base64 fields for the API), what the operator
 * endorses per attester (a TPM's AK, a TEE vendor's root certificate) and the shape of its reference values,
 * and appraises: every check reported, the first failing one the reason. The verifier (verifier.ts) adds
 * freshness and signs the result the same way whatever the format.
 */
import type { z } from "zod";

export interface EvidenceCheck {
  check: string;
  ok: boolean;
  detail: string;
}

export interface Appraisal {
  accepted: boolean;
  /** `<check>: <detail>` of the first failing check (absent when accepted). */
  reason?: string;
  checks: EvidenceCheck[];
  /** SHA-256 of the SubjectPublicKeyInfo of the key that signed the evidence (the AK, the VCEK), hex. */
  signer?: string;
  /** Result fields the evidence vouches for (PCR values, a TEE's measurement), only once its signature holds. */
  claims?: Record<string, unknown>;
}

export interface AppraiseInput<E, R> {
  evidence: Readonly<Record<string, Uint8Array>>;
  endorsement: E;
  /** The verifier's nonce the evidence must carry (TPM extraData, SEV-SNP REPORT_DATA). */
  nonce: Uint8Array;
  reference: R;
  /** The verifier's clock, for certificate validity. */
  now: number;
}

export interface EvidenceFormat<E = unknown, R = unknown> {
  name: string;
  /** The parts of one piece of evidence, in the order an operator names them. */
  parts: readonly string[];
  /** Parse what the operator endorses for an attester (PEM text); throws QuoteFormatError naming what is wrong. */
  endorsement(text: string): E;
  reference: z.ZodType<R>;
  appraise(input: AppraiseInput<E, R>): Appraisal;
}

/** Summarise checks: accepted only when all hold; the reason is the first failing one. */
export function concluded(checks: EvidenceCheck[], extra: Omit<Appraisal, "accepted" | "checks" | "reason"> = {}): Appraisal {
  const failed = checks.find((c) => !c.ok);
  return { accepted: !failed, ...(failed ? { reason: `${failed.check}: ${failed.detail}` } : {}), checks, ...extra };
}
