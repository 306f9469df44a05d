/**
 * The on-disk layout of an encoded blob: OUTDIR/0 … OUTDIR/(n−1) hold the shards (the first k are the data, the
 * last of them zero-padded) and OUTDIR/commitment.json the commitment. Reading never trusts a shard: the core
 * checks each against the commitment.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DasError, type Encoded } from "./core/blob.js";
import { Commitment } from "./core/commitment.js";
import { readJsonFile } from "../common/json-file.js";

const COMMITMENT_FILE = "commitment.json";

export function writeEncoded(dir: string, { shards, commitment }: Encoded): void {
  mkdirSync(dir, { recursive: true });
  shards.forEach((s, i) => writeFileSync(join(dir, String(i)), s));
  writeFileSync(join(dir, COMMITMENT_FILE), `${JSON.stringify(commitment, null, 2)}\n`);
}

/** The commitment in dir, or a DasError naming the file and what is wrong with it. */
export function readCommitment(dir: string): Commitment {
  return readJsonFile(join(dir, COMMITMENT_FILE), "a commitment written by `meridian das encode`", Commitment, (m) => new DasError(m));
}

/** Shard i of dir, or undefined if its file is absent. */
export function readShard(dir: string, index: number): Uint8Array | undefined {
  const file = join(dir, String(index));
  return existsSync(file) ? readFileSync(file) : undefined;
}

export function readShards(dir: string, n: number): (Uint8Array | undefined)[] {
  return Array.from({ length: n }, (_, i) => readShard(dir, i));
}
