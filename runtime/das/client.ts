/**
 * Sampling a remote blob (a `meridian das serve`) against a root the client already trusts (from a header, a
 * checkpoint): each sampled shard must come with a proof that leads to that root, so the server cannot answer with
 * data of its own choosing.
 */
import { z } from "zod";
import { leafHash, verifyInclusion } from "../prooflog/index.js";
import { DasError } from "./core/blob.js";

const CommitmentView = z.object({ k: z.number().int().min(1), n: z.number().int().min(1).max(256), length: z.number().int().min(0), shardSize: z.number().int().min(1), root: z.string() });
const ShardView = z.object({ index: z.number().int(), shard: z.string(), proof: z.array(z.string().regex(/^[0-9a-f]{64}$/)) });

export interface RemoteSample {
  index: number;
  ok: boolean;
  problem?: string;
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new DasError(`${url}: ${(e as Error).message}`);
  }
  return { status: res.status, body: await res.json().catch(() => null) };
}

export async function fetchCommitment(base: string): Promise<z.infer<typeof CommitmentView>> {
  const { status, body } = await getJson(`${base}/v1/das/commitment`);
  const parsed = CommitmentView.safeParse(body);
  if (status !== 200 || !parsed.success) throw new DasError(`${base}/v1/das/commitment: HTTP ${status}, not a commitment`);
  return parsed.data;
}

/** Fetch shard `index` and check it against the trusted root and the shard size. */
export async function sampleRemote(base: string, c: { n: number; shardSize: number }, trustedRoot: string, index: number): Promise<RemoteSample> {
  const { status, body } = await getJson(`${base}/v1/das/shards/${index}`);
  if (status === 404) return { index, ok: false, problem: "is missing (HTTP 404)" };
  const parsed = ShardView.safeParse(body);
  if (status !== 200 || !parsed.success || parsed.data.index !== index) return { index, ok: false, problem: `has no valid answer (HTTP ${status})` };
  const shard = Buffer.from(parsed.data.shard, "base64");
  if (shard.length !== c.shardSize) return { index, ok: false, problem: `is ${shard.length} bytes, expected ${c.shardSize}` };
  try {
    verifyInclusion(
      index,
      c.n,
      leafHash(shard),
      parsed.data.proof.map((h) => Buffer.from(h, "hex")),
      Buffer.from(trustedRoot, "hex"),
    );
    return { index, ok: true };
  } catch {
    return { index, ok: false, problem: "fails its inclusion proof against the trusted root" };
  }
}
