/** The JSON shapes of committees and certificates as files carry them: checked before any of it is trusted. */
import { z } from "zod";
import type { Certificate, Committee } from "./certificates.js";
import { GROUP_SCHEME, groupCommittee } from "./group.js";

const hex32 = z.string().regex(/^[0-9a-f]{64}$/, "expected 32 bytes of lower-case hex");

const MemberCommitteeJson = z.object({ members: z.array(hex32), quorum: z.number().int().positive() }).strict();
/** A threshold group: a group.json from `meridian tbls dkg|deal` (its commitments, if present, are dropped) or the committee form. */
const GroupCommitteeJson = z
  .object({
    scheme: z.literal(GROUP_SCHEME),
    t: z.number().int().min(1).max(1024),
    n: z.number().int().min(1).max(1024),
    groupPublicKey: z.string().regex(/^[0-9a-f]{192}$/, "expected a 96-byte BLS12-381 G2 point as 192 lower-case hex digits"),
    commitments: z.array(z.string()).optional(),
  })
  .strict()
  .refine((g) => g.commitments === undefined || g.commitments[0] === g.groupPublicKey, "the first commitment must be the group key")
  .transform((g) => groupCommittee(g));

/** Either committee form, told apart by `scheme` (so an error names the fields of the form meant). */
export const CommitteeJson: z.ZodType<Committee, unknown> = z.unknown().transform((v, ctx): Committee => {
  const grouped = typeof v === "object" && v !== null && "scheme" in v;
  const r = grouped ? GroupCommitteeJson.safeParse(v) : MemberCommitteeJson.safeParse(v);
  if (r.success) return r.data;
  for (const issue of r.error.issues) ctx.addIssue({ code: "custom", message: issue.message, path: issue.path });
  return z.NEVER;
});

export const CertificateJson: z.ZodType<Certificate> = z
  .object({
    height: z.number().int().nonnegative(),
    parent: hex32,
    root: hex32,
    committee: hex32,
    next: CommitteeJson.optional(),
    signatures: z.array(z.object({ member: z.number().int().nonnegative(), sig: z.string().min(1).max(200) }).strict()).max(1000),
    groupSignature: z
      .string()
      .regex(/^[0-9a-f]{96}$/, "expected a 48-byte BLS signature as 96 lower-case hex digits")
      .optional(),
    checkpoint: z.string().min(1).max(8192).optional(),
  })
  .strict();

/** Two certificates at one height, submitted as evidence that members signed both. */
export const EvidenceJson = z.object({ a: CertificateJson, b: CertificateJson }).strict();

/** An evidence line of `cert serve --data`: the pair and the committee then in force (to restore it once that height is pruned). */
export const StoredEvidenceJson = z.object({ a: CertificateJson, b: CertificateJson, committee: CommitteeJson.optional() }).strict();

/** `cert serve --data`'s base.json after pruning: the first certificate held and the committee that signed it. */
export const BaseJson = z.object({ certificate: CertificateJson, committee: CommitteeJson }).strict();
