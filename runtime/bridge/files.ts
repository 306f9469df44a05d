/**
 * The JSON forms for `meridian bridge`: a state claim (what the source region's prover hands over: the entry, its
 * index, the tree size and inclusion proof, base64) and the verifier's state file (the checkpoint note it verified
 * last and when). zod at the boundary; ClaimRefused for a file that is not what it should be.
 */
import { existsSync } from "node:fs";
import { z } from "zod";
import { ClaimRefused, type StateClaim } from "./claim.js";
import { readJsonFile } from "../common/json-file.js";

const b64 = z.string().refine((s) => Buffer.from(s, "base64").toString("base64") === s, "expected base64");
const ClaimJson = z
  .object({ format: z.literal("meridian/bridge/claim/v1"), origin: z.string().min(1), index: z.number().int().min(0), size: z.number().int().min(1), entry: b64, inclusionProof: z.array(b64) })
  .strict();
const StateJson = z.object({ note: z.string().min(1), acceptedAt: z.number().int() }).strict();

export const claimJson = (c: StateClaim) => ({
  format: "meridian/bridge/claim/v1",
  origin: c.origin,
  index: c.index,
  size: c.size,
  entry: Buffer.from(c.entry).toString("base64"),
  inclusionProof: c.inclusionProof.map((h) => Buffer.from(h).toString("base64")),
});

export function readClaim(file: string): StateClaim {
  const c = readJsonFile(file, "a bridge claim", ClaimJson, (m) => new ClaimRefused(m));
  return { origin: c.origin, index: c.index, size: c.size, entry: Buffer.from(c.entry, "base64"), inclusionProof: c.inclusionProof.map((h) => Buffer.from(h, "base64")) };
}

export const readState = (file: string): { note: string; acceptedAt: number } | null =>
  existsSync(file) ? readJsonFile(file, "a bridge verifier state", StateJson, (m) => new ClaimRefused(m)) : null;
