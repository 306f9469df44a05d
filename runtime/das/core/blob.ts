/**
 * Blob-level erasure coding with a commitment: encode a blob into n shards and commit to them; decode from whatever
 * shards survive, excluding any that fail their proof. A decode either returns the exact blob the commitment was
 * made over or throws a DasError saying which shards are missing or bad — never a wrong blob.
 */
import { checkShard, commit, rootHex, type Commitment } from "./commitment.js";
import { joinShards, ReedSolomon, splitIntoShards } from "./rs.js";

export class DasError extends Error {
  override name = "DasError";
}

export interface Encoded {
  shards: Uint8Array[];
  commitment: Commitment;
}

export function encodeBlob(blob: Uint8Array, k: number, n: number): Encoded {
  const rs = new ReedSolomon(k, n);
  const shards = rs.encode(splitIntoShards(blob, k));
  return { shards, commitment: commit(shards, k, blob.length) };
}

export interface BadShard {
  index: number;
  reason: string;
}

export interface Decoded {
  blob: Uint8Array;
  /** Shards that were absent. */
  missing: number[];
  /** Shards present but excluded: wrong size or failing their inclusion proof. */
  bad: BadShard[];
}

const list = (xs: readonly number[]): string => xs.join(", ");

/** Rebuild the blob from the shards given (`shards[i]` undefined = missing); needs k that pass their proofs. */
export function decodeBlob(c: Commitment, shards: readonly (Uint8Array | undefined)[]): Decoded {
  const missing: number[] = [];
  const bad: BadShard[] = [];
  const good: (Uint8Array | undefined)[] = Array.from({ length: c.n });
  for (let i = 0; i < c.n; i++) {
    const s = shards[i];
    if (!s) {
      missing.push(i);
      continue;
    }
    const why = checkShard(c, i, s);
    if (why) bad.push({ index: i, reason: why });
    else good[i] = s;
  }
  const have = c.n - missing.length - bad.length;
  if (have < c.k) {
    const parts = [`need ${c.k} of ${c.n} shards that match the commitment, have ${have}`];
    if (missing.length > 0) parts.push(`missing: ${list(missing)}`);
    if (bad.length > 0) parts.push(`failing their proof: ${list(bad.map((b) => b.index))}`);
    throw new DasError(parts.join("; "));
  }
  const rs = new ReedSolomon(c.k, c.n);
  const data = rs.reconstructData(good);
  // Re-encode and compare roots: the shards we rebuilt from must be one codeword, or another choice of k shards
  // would have decoded to a different blob.
  if (rootHex(rs.encode(data)) !== c.root)
    throw new DasError(`the committed shards are not one Reed–Solomon codeword (incorrectly encoded): re-encoding shards ${list(good.flatMap((s, i) => (s ? [i] : [])))} gives another root`);
  return { blob: joinShards(data, c.length), missing, bad };
}
