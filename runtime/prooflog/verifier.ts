/**
 * The client-side audit of a log: open its current checkpoint (signature and origin), prove it consistent with
 * a checkpoint saved from an earlier visit (refusing a smaller tree: a rollback), and prove an entry included.
 * Used by `meridian log verify` and by the light client; every step only trusts what it verified.
 */
import { openCheckpoint, type Checkpoint } from "./checkpoint.js";
import type { LogClient } from "./client.js";
import type { Verifier } from "./note.js";
import { ProofError, verifyConsistency, verifyInclusion } from "./proof/verify.js";
import { hashEquals, leafHash } from "./rfc6962.js";
import { httpTileFetcher, TileProofs } from "./tileclient.js";
import type { ThresholdGroup } from "./witness/threshold.js";

export interface LogCheck {
  note: string;
  checkpoint: Checkpoint;
  /** Size of the saved checkpoint this one was proven consistent with (null: nothing saved). */
  consistentFrom: number | null;
  entry?: { index: number; data: Buffer };
}

/** Prove `next` extends `prev` (same origin), fetching the proof with `fetchProof`. */
export async function proveExtends(prev: Checkpoint, next: Checkpoint, fetchProof: (a: number, b: number) => Promise<Uint8Array[]>): Promise<void> {
  if (prev.origin !== next.origin) throw new ProofError(`origins differ: "${prev.origin}" vs "${next.origin}"`);
  if (next.size < prev.size) throw new ProofError(`rollback: the log now claims size ${next.size}, but size ${prev.size} was seen before`);
  if (prev.size === 0) return;
  if (next.size === prev.size) {
    if (!hashEquals(prev.root, next.root)) throw new ProofError(`fork: two different roots for size ${prev.size}`);
    return;
  }
  verifyConsistency(prev.size, next.size, await fetchProof(prev.size, next.size), prev.root, next.root);
}

/**
 * Audit a log. With `tiles`, proofs are assembled from tlog-tiles reads (works against any tlog-tiles log);
 * otherwise the log's JSON proof endpoints are used. Either way every proof is verified here. With `threshold`, the
 * checkpoint must also carry the witness quorum's threshold signature under that group's key.
 */
export async function checkLog(
  client: LogClient,
  verifiers: readonly Verifier[],
  origin: string | undefined,
  saved: string | null,
  index?: number,
  opts: { tiles?: boolean; threshold?: ThresholdGroup } = {},
): Promise<LogCheck> {
  const note = await client.checkpoint();
  const { checkpoint } = openCheckpoint(note, verifiers, origin);
  if (opts.threshold) (await import("./witness/threshold.js")).verifyThresholdCheckpoint(note, verifiers, opts.threshold, origin);
  const tiles = opts.tiles ? new TileProofs(httpTileFetcher(client.base), checkpoint.size) : null;
  let consistentFrom: number | null = null;
  if (saved) {
    const prev = openCheckpoint(saved, verifiers, checkpoint.origin).checkpoint;
    await proveExtends(prev, checkpoint, (a, b) => (tiles ? tiles.consistencyProof(a) : client.consistencyProof(a, b)));
    consistentFrom = prev.size;
  }
  const out: LogCheck = { note, checkpoint, consistentFrom };
  if (index !== undefined) {
    if (index >= checkpoint.size) throw new ProofError(`index ${index} is not below the checkpoint size ${checkpoint.size}`);
    const data = await client.entry(index, checkpoint.size);
    const proof = tiles ? await tiles.inclusionProof(index) : await client.inclusionProof(index, checkpoint.size);
    verifyInclusion(index, checkpoint.size, leafHash(data), proof, checkpoint.root);
    out.entry = { index, data };
  }
  return out;
}
