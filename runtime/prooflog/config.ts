/**
 * The proof log's service config file (`meridian log serve --config FILE`): the ConfigMap's
 * prooflog.json the blueprint renders (model/workloads proofLogConfig) — the checkpoint origin, the
 * witness set, the region whose database sequences the log, and the time reference its clock is measured
 * against, and who may append (`submitters`: SPIFFE IDs from the verified credential; locally, a JWT scope each). Witnesses given with a URL
 * and a verifier key are asked to cosign every checkpoint; name-only ones cosign out of band.
 */
import { z } from "zod";
import { timeReferenceSchema } from "../clock/index.js";

const witnessSchema = z
  .object({
    name: z.string().min(1),
    url: z
      .string()
      .regex(/^https?:\/\//, "expected an http(s) URL")
      .optional(),
    vkey: z
      .string()
      .regex(/^[^+\s]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+$/, "expected a note verifier key <name>+<hash>+<base64>")
      .optional(),
  })
  .strict()
  .refine((w) => (w.url === undefined) === (w.vkey === undefined), { message: "a cosigning witness needs both url and vkey", path: ["url"] })
  .refine((w) => w.vkey === undefined || w.vkey.startsWith(`${w.name}+`), { message: "the verifier key's name must be the witness name", path: ["vkey"] });

const submitterSchema = z
  .object({
    spiffe: z.string().regex(/^spiffe:\/\/[^/\s]+\/\S+$/, "expected a SPIFFE ID spiffe://<trust domain>/<path>"),
    /** The actors its audit events may name: itself (`self`), or also the end users it authenticated (`principals`: no workload's name). */
    actors: z.enum(["self", "principals"]).default("self"),
    /**
     * Where no mesh verifies peers (`meridian local`): a JWT scope standing in for this SPIFFE ID — a bearer token the
     * kit verifies (`server.auth.jwt`) carrying it appends as this submitter. Absent (the estate): the peer's ID alone.
     */
    scope: z
      .string()
      .regex(/^[^\s"\\]+$/, "expected one JWT scope (no spaces)")
      .optional(),
  })
  .strict();

/** The keys the blueprint renders (model/workloads proofLogConfig); the service adds its runtime keys (serve.ts). */
export const proofLogKeys = {
  /** The checkpoint origin line, e.g. `meridian.example.com/log`. */
  origin: z.string().regex(/^\S+$/, "expected a non-empty origin without whitespace, e.g. example.com/log"),
  witnesses: z.array(witnessSchema).default([]),
  /**
   * Who may append (`POST /add`), by the SPIFFE ID of the verified credential (the kit's mTLS peer, or the sidecar's
   * XFCC with `server.identity`), or where one is given a `scope` (no mesh), a verified bearer token carrying it; an
   * audit event they append must name an actor they may name (submitters.ts). Absent:
   * anyone the network lets reach the route, with no check of what entries say.
   */
  submitters: z.array(submitterSchema).min(1).optional(),
  /** The tier-1 region whose primary database holds the log (informational: the store URL decides). */
  sequencerRegion: z.string().min(1).optional(),
  /** The log's clock node's max offset (ms), when MERIDIAN_HLC_MAX_OFFSET_MS does not give it one. */
  maxOffsetMs: z.number().positive().max(60_000).optional(),
  /** Where the log's clock is measured; with it, checkpoints carry a commit-waited time (runtime/prooflog/commit-wait.ts). */
  timeReference: timeReferenceSchema.optional(),
  /** Threshold mode: publish only checkpoints the witnesses' partial signatures combine into this group's signature for (its key name and group.json). */
  witnessThreshold: z
    .object({ name: z.string().regex(/^[^\s+]+$/, "a note key name: no spaces or '+'"), group: z.string().min(1) })
    .strict()
    .optional(),
};

type ProofLogKeys = z.output<z.ZodObject<typeof proofLogKeys>>;

/** The checks across those keys. */
export function checkProofLogKeys(c: ProofLogKeys, ctx: z.RefinementCtx): void {
  if (new Set(c.witnesses.map((w) => w.name)).size !== c.witnesses.length) ctx.addIssue({ code: "custom", message: "witness names must be unique", path: ["witnesses"] });
  if (c.submitters && new Set(c.submitters.map((s) => s.spiffe)).size !== c.submitters.length)
    ctx.addIssue({ code: "custom", message: "submitters must name each SPIFFE ID once", path: ["submitters"] });
  const scopes = c.submitters?.flatMap((s) => (s.scope === undefined ? [] : [s.scope])) ?? [];
  if (new Set(scopes).size !== scopes.length) ctx.addIssue({ code: "custom", message: "submitters must give each scope once", path: ["submitters"] });
  if (c.timeReference !== undefined && c.maxOffsetMs === undefined)
    ctx.addIssue({ code: "custom", message: "a time reference measures the log's clock node: set maxOffsetMs too", path: ["timeReference"] });
}

export const proofLogConfigSchema = z.object(proofLogKeys).strict().superRefine(checkProofLogKeys);

export type ProofLogConfig = z.output<typeof proofLogConfigSchema>;
