/**
 * The JSON forms of the Merkle-sum tree for `meridian audit sumtree`: the build input (regions with sold and
 * allocation, optional capacity), the published root and a region's proof. Numbers are parsed as integers here
 * but their sign is left to the core, so a negative value is refused with the core's reason.
 */
import { z } from "zod";
import type { SumProof, SumRoot } from "./sumtree.js";

const b64 = (n: number) => z.string().refine((s) => Buffer.from(s, "base64").length === n && Buffer.from(s, "base64").toString("base64") === s, `expected ${n} bytes in base64`);
const int = z.number().int();
const region = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "expected a region name: lower-case letters, digits and dashes");

export const SumTreeInput = z.object({ capacity: int.optional(), regions: z.array(z.object({ region, sold: int, allocation: int }).strict()).min(1) }).strict();

export const SumRootJson = z
  .object({ format: z.literal("meridian/compliance/sum-root/v1"), root: b64(32), sold: int, allocation: int, regions: int, capacity: int.optional() })
  .strict()
  .transform((r): SumRoot => ({ hash: Buffer.from(r.root, "base64"), sold: r.sold, allocation: r.allocation, regions: r.regions, ...(r.capacity === undefined ? {} : { capacity: r.capacity }) }));

const step = z.object({ side: z.enum(["left", "right"]), hash: b64(32), sold: int, allocation: int }).strict();
export const SumProofJson = z
  .object({ format: z.literal("meridian/compliance/sum-proof/v1"), region, sold: int, allocation: int, salt: b64(32), path: z.array(step) })
  .strict()
  .transform((p): SumProof => ({ ...p, salt: Buffer.from(p.salt, "base64"), path: p.path.map((s) => ({ ...s, hash: Buffer.from(s.hash, "base64") })) }));

const b = (h: Uint8Array) => Buffer.from(h).toString("base64");
export const sumRootJson = (r: SumRoot) => ({
  format: "meridian/compliance/sum-root/v1",
  root: b(r.hash),
  sold: r.sold,
  allocation: r.allocation,
  regions: r.regions,
  ...(r.capacity === undefined ? {} : { capacity: r.capacity }),
});
export const sumProofJson = (p: SumProof) => ({
  format: "meridian/compliance/sum-proof/v1",
  region: p.region,
  sold: p.sold,
  allocation: p.allocation,
  salt: b(p.salt),
  path: p.path.map((s) => ({ side: s.side, hash: b(s.hash), sold: s.sold, allocation: s.allocation })),
});
