/**
 * The proof log's service config file (`meridian log serve --config FILE`): the ConfigMap's
 * prooflog.json the blueprint renders (model/workloads proofLogConfig) — the checkpoint origin, the
 * witness set, the region whose database sequences the log, and the time reference its clock is measured
 * against. Witnesses given with a URL and a
 * verifier key are asked to cosign every checkpoint; name-only ones cosign out of band.
 */
import { z } from "zod";
import { timeReferenceSchema } from "../clock/index.js";
import { readConfigFile, ConfigFileError } from "../kit/index.js";

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

export const proofLogConfigSchema = z
  .object({
    /** The checkpoint origin line, e.g. `meridian.example.com/log`. */
    origin: z.string().regex(/^\S+$/, "expected a non-empty origin without whitespace, e.g. example.com/log"),
    witnesses: z.array(witnessSchema).default([]),
    /** The tier-1 region whose primary database holds the log (informational: the store URL decides). */
    sequencerRegion: z.string().min(1).optional(),
    /** The log's clock node's max offset (ms), when MERIDIAN_HLC_MAX_OFFSET_MS does not give it one. */
    maxOffsetMs: z.number().positive().max(60_000).optional(),
    /** Where the log's clock is measured; with it, checkpoints carry a commit-waited time (runtime/prooflog/commit-wait.ts). */
    timeReference: timeReferenceSchema.optional(),
  })
  .strict()
  .refine((c) => new Set(c.witnesses.map((w) => w.name)).size === c.witnesses.length, { message: "witness names must be unique", path: ["witnesses"] })
  .refine((c) => c.timeReference === undefined || c.maxOffsetMs !== undefined, { message: "a time reference measures the log's clock node: set maxOffsetMs too", path: ["timeReference"] });

export type ProofLogConfig = z.output<typeof proofLogConfigSchema>;

/** Read and validate the file; every problem names its key path. */
export function loadProofLogConfig(path: string): ProofLogConfig {
  const r = proofLogConfigSchema.safeParse(readConfigFile(path));
  if (!r.success)
    throw new ConfigFileError(
      path,
      r.error.issues.map((i) => `${i.path.join(".") || "(top level)"}: ${i.message}`),
    );
  return r.data;
}
