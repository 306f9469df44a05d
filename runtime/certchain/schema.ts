/** The JSON shapes of committees and certificates as files carry them: checked before any of it is trusted. */
import { z } from "zod";
import type { Certificate, Committee } from "./certificates.js";

const hex32 = z.string().regex(/^[0-9a-f]{64}$/, "expected 32 bytes of lower-case hex");

export const CommitteeJson: z.ZodType<Committee> = z.object({ members: z.array(hex32), quorum: z.number().int().positive() }).strict();

export const CertificateJson: z.ZodType<Certificate> = z
  .object({
    height: z.number().int().nonnegative(),
    parent: hex32,
    root: hex32,
    committee: hex32,
    next: CommitteeJson.optional(),
    signatures: z.array(z.object({ member: z.number().int().nonnegative(), sig: z.string().min(1).max(200) }).strict()).max(1000),
    checkpoint: z.string().min(1).max(8192).optional(),
  })
  .strict();

/** Two certificates at one height, submitted as evidence that members signed both. */
export const EvidenceJson = z.object({ a: CertificateJson, b: CertificateJson }).strict();

/** An evidence line of `cert serve --data`: the pair and the committee then in force (to restore it once that height is pruned). */
export const StoredEvidenceJson = z.object({ a: CertificateJson, b: CertificateJson, committee: CommitteeJson.optional() }).strict();

/** `cert serve --data`'s base.json after pruning: the first certificate held and the committee that signed it. */
export const BaseJson = z.object({ certificate: CertificateJson, committee: CommitteeJson }).strict();
