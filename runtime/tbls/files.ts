/**
 * The JSON forms of a dealing for `meridian tbls`: group.json (t, n, the Feldman commitments, the group key — all
 * public) and share-<i>.json (one participant's secret share), with zod at the boundary. Bytes are lower-case hex.
 */
import { z } from "zod";
import { ThresholdError, type Dealing, type PartialSignature, type Share } from "./threshold.js";
import { readJsonFile } from "../common/json-file.js";

const hexBytes = (len: number) => z.string().regex(new RegExp(`^[0-9a-f]{${len * 2}}$`), `expected ${len} bytes as ${len * 2} lower-case hex digits`);
const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const fromHex = (s: string) => Uint8Array.from(Buffer.from(s, "hex"));

const GroupJson = z
  .object({ scheme: z.literal("meridian-tbls/v1"), t: z.number().int().min(1), n: z.number().int().min(1), groupPublicKey: hexBytes(96), commitments: z.array(hexBytes(96)).min(1) })
  .strict()
  .refine((g) => g.commitments.length === g.t && g.commitments[0] === g.groupPublicKey && g.t <= g.n, "expected t commitments, the first being the group key, and t ≤ n");
const ShareJson = z.object({ scheme: z.literal("meridian-tbls/v1"), index: z.number().int().min(1), secretKey: hexBytes(32) }).strict();
const PartialJson = z.object({ index: z.number().int().min(1), signature: hexBytes(48) }).strict();

export interface Group {
  t: number;
  n: number;
  commitments: Uint8Array[];
  groupPublicKey: Uint8Array;
}

export const groupJson = (d: Dealing) => ({ scheme: "meridian-tbls/v1", t: d.t, n: d.n, groupPublicKey: toHex(d.commitments[0]!), commitments: d.commitments.map(toHex) });
export const shareJson = (s: Share) => ({ scheme: "meridian-tbls/v1", index: s.index, secretKey: toHex(s.secretKey) });
export const partialJson = (p: PartialSignature) => ({ index: p.index, signature: toHex(p.signature) });

export function readGroup(file: string): Group {
  const g = readJsonFile(file, "a group.json from `meridian tbls deal`", GroupJson, (m) => new ThresholdError(m));
  return { t: g.t, n: g.n, commitments: g.commitments.map(fromHex), groupPublicKey: fromHex(g.groupPublicKey) };
}

export function readShare(file: string): Share {
  const s = readJsonFile(file, "a share file from `meridian tbls deal`", ShareJson, (m) => new ThresholdError(m));
  return { index: s.index, secretKey: fromHex(s.secretKey) };
}

export function readPartial(file: string): PartialSignature {
  const p = readJsonFile(file, "a partial signature from `meridian tbls sign`", PartialJson, (m) => new ThresholdError(m));
  return { index: p.index, signature: fromHex(p.signature) };
}

/** An old holder's resharing to a new committee: public commitments and every new member's sub-share (secret). */
const ResharingJson = z
  .object({
    scheme: z.literal("meridian-tbls-reshare/v1"),
    from: z.number().int().min(1),
    t: z.number().int().min(1),
    n: z.number().int().min(1),
    commitments: z.array(hexBytes(96)).min(1),
    subshares: z.record(z.string().regex(/^[1-9][0-9]{0,3}$/), hexBytes(32)),
  })
  .strict()
  .refine((r) => r.commitments.length === r.t && r.t <= r.n, "expected t commitments and t ≤ n");

export interface Resharing {
  from: number;
  t: number;
  n: number;
  commitments: Uint8Array[];
  subshares: Map<number, Uint8Array>;
}

export const resharingJson = (r: Resharing) => ({
  scheme: "meridian-tbls-reshare/v1",
  from: r.from,
  t: r.t,
  n: r.n,
  commitments: r.commitments.map(toHex),
  subshares: Object.fromEntries([...r.subshares].map(([j, s]) => [String(j), toHex(s)])),
});

export function readResharing(file: string): Resharing {
  const r = readJsonFile(file, "a resharing from `meridian tbls reshare`", ResharingJson, (m) => new ThresholdError(m));
  return { from: r.from, t: r.t, n: r.n, commitments: r.commitments.map(fromHex), subshares: new Map(Object.entries(r.subshares).map(([j, s]) => [Number(j), fromHex(s)])) };
}
