/**
 * The commitment to an erasure-coded blob: the RFC 6962 Merkle root over its n shards (leaf i = shard i, so the
 * inclusion proof's index binds a shard to its position), with the code parameters and the original length beside
 * it. A sampler that trusts the root checks any one shard with its proof alone (⌈log2 n⌉ hashes).
 *
 * The root commits to the shards, not to their being one Reed–Solomon codeword; decoders close that gap by
 * re-encoding what they rebuilt and comparing roots (see decodeBlob), so a wrongly encoded blob is refused rather
 * than decoded differently depending on which k shards survived.
 */
import { z } from "zod";
import { leafHash, MerkleTree, verifyInclusion } from "../../prooflog/index.js";
import { MAX_SHARDS } from "./rs.js";

const COMMITMENT_SCHEME = "meridian-das/v1";

const hex32 = z.string().regex(/^[0-9a-f]{64}$/, "expected 32 bytes as 64 lower-case hex digits");

export const Commitment = z
  .object({
    scheme: z.literal(COMMITMENT_SCHEME),
    field: z.literal("GF(2^8)/0x11d"),
    code: z.literal("reed-solomon-vandermonde-systematic"),
    k: z.number().int().min(1),
    n: z.number().int().max(MAX_SHARDS),
    length: z.number().int().min(0),
    shardSize: z.number().int().min(1),
    root: hex32,
    proofs: z.array(z.array(hex32)),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.n < c.k) ctx.addIssue({ code: "custom", path: ["n"], message: `n (${c.n}) must be ≥ k (${c.k})` });
    if (c.proofs.length !== c.n) ctx.addIssue({ code: "custom", path: ["proofs"], message: `expected ${c.n} proofs, got ${c.proofs.length}` });
    if (c.shardSize !== Math.max(1, Math.ceil(c.length / c.k)))
      ctx.addIssue({ code: "custom", path: ["shardSize"], message: `shard size ${c.shardSize} does not fit length ${c.length} over k = ${c.k}` });
  });
export type Commitment = z.infer<typeof Commitment>;

const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
const fromHex = (s: string): Uint8Array => Buffer.from(s, "hex");

/** Merkle root over the shards, in shard order. */
function shardTree(shards: readonly Uint8Array[]): MerkleTree {
  const tree = new MerkleTree();
  for (const s of shards) tree.appendEntry(s);
  return tree;
}

export function commit(shards: readonly Uint8Array[], k: number, length: number): Commitment {
  const tree = shardTree(shards);
  return {
    scheme: COMMITMENT_SCHEME,
    field: "GF(2^8)/0x11d",
    code: "reed-solomon-vandermonde-systematic",
    k,
    n: shards.length,
    length,
    shardSize: shards[0]!.length,
    root: toHex(tree.root()),
    proofs: shards.map((_, i) => tree.inclusionProof(i).map(toHex)),
  };
}

/** Why shard i does not match the commitment, or undefined if it does. */
export function checkShard(c: Commitment, index: number, shard: Uint8Array): string | undefined {
  if (shard.length !== c.shardSize) return `is ${shard.length} bytes, expected ${c.shardSize}`;
  try {
    verifyInclusion(index, c.n, leafHash(shard), c.proofs[index]!.map(fromHex), fromHex(c.root));
    return undefined;
  } catch (e) {
    const why = (e as Error).message;
    return /^root mismatch/.test(why) ? "fails its inclusion proof (its leaf hash does not lead to the committed root)" : `fails its inclusion proof (${why})`;
  }
}

export function rootHex(shards: readonly Uint8Array[]): string {
  return toHex(shardTree(shards).root());
}
