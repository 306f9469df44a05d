/**
 * The sparse Merkle tree's hashing and key shape, shared by the tree (smt.ts) and its range proofs (range.ts):
 * leaf hashes, the precomputed default hash of each empty subtree height, and key bits. See smt.ts.
 */
import { hash } from "node:crypto";
import { type Hash, nodeHash } from "../rfc6962.js";

export const DEPTH = 256;
export const KEY_SIZE = 32;

export const DEFAULTS: readonly Hash[] = (() => {
  const d: Hash[] = [new Uint8Array(32)];
  for (let h = 0; h < DEPTH; h++) d.push(nodeHash(d[h]!, d[h]!));
  return d;
})();

export class SmtError extends Error {
  override name = "SmtError";
}

export function smtLeafHash(key: Uint8Array, value: Uint8Array): Hash {
  return hash("sha256", Buffer.concat([Buffer.from([0]), key, hash("sha256", value, "buffer")]), "buffer");
}

/** Bit i of the key (i = 0 is the most significant bit, the top branch). */
export function bit(key: Uint8Array, i: number): number {
  return (key[i >> 3]! >> (7 - (i & 7))) & 1;
}
