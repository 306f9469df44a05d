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

/** DEFAULTS as words (8 a height, the hash's bytes in the platform's order): the siblings of a lone key's chain. */
export const DEFAULT_WORDS: Int32Array = (() => {
  const w = new Int32Array(DEFAULTS.length * 8);
  const b = new Uint8Array(w.buffer);
  DEFAULTS.forEach((d, h) => b.set(d, h * 32));
  return w;
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
