/**
 * RFC 6962 / RFC 9162 §2.1 hashing: leaf hash = SHA-256(0x00 ‖ entry), node hash = SHA-256(0x01 ‖ left ‖ right),
 * the empty tree's root = SHA-256(""). The domain-separation prefixes keep a leaf from ever being mistaken for
 * an interior node (second-preimage resistance), so every other module hashes only through here.
 */
import { hash } from "node:crypto";
import { createSHA256, type IHasher } from "hash-wasm";

export const HASH_SIZE = 32;
export type Hash = Uint8Array;

/** SHA-256 of the empty string: the root of a tree with no leaves. */
export const EMPTY_ROOT: Hash = hash("sha256", Buffer.alloc(0), "buffer");

// SHA-256 of the small inputs the tree hashes (65 bytes for a node) is dominated by the cost of the call, not the
// compression: hash-wasm's WebAssembly state, reused, costs about 0.6 of node:crypto's one-shot hash() per input
// (measured in CPU time, bench/prooflog.ts). It loads asynchronously; until then (and where WebAssembly is
// missing) node:crypto computes the same function. Hashing is synchronous, so one reused state is safe.
let wasm: IHasher | null = null;

/** Resolves once hashing runs in WebAssembly (the log's open awaits it); never rejects. */
export const hashingReady: Promise<void> = createSHA256().then(
  (h) => void (wasm = h),
  () => undefined,
);

/** Which implementation computes SHA-256 now (for tests and the bench's notes). */
export function hashBackend(): "wasm" | "node:crypto" {
  return wasm ? "wasm" : "node:crypto";
}

function sha256(input: Uint8Array): Hash {
  const w = wasm;
  if (!w) return hash("sha256", input, "buffer");
  w.init();
  w.update(input);
  return w.digest("binary");
}

// Scratch for framing small entries without a buffer per leaf (hashing is synchronous, so reuse is safe). A plain
// Uint8Array: its views are cheaper to make than a Buffer's.
const leafScratch = new Uint8Array(4097);

/** The leaf hash of an entry: SHA-256(0x00 ‖ entry). */
export function leafHash(entry: Uint8Array): Hash {
  const buf = entry.length < leafScratch.length ? leafScratch.subarray(0, entry.length + 1) : new Uint8Array(entry.length + 1);
  buf[0] = 0;
  buf.set(entry, 1);
  return sha256(buf);
}

// One scratch buffer: node hashing is the hot path of appends and proof checks, and it is synchronous.
const nodeScratch = new Uint8Array(1 + 2 * HASH_SIZE);
nodeScratch[0] = 1;

/** The hash of an interior node: SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Hash, right: Hash): Hash {
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) {
    // Hash what was given anyway (verifiers then fail on root mismatch) but never mis-frame the input.
    return sha256(Buffer.concat([Buffer.from([1]), left, right]));
  }
  nodeScratch.set(left, 1);
  nodeScratch.set(right, 1 + HASH_SIZE);
  return sha256(nodeScratch);
}

export function hashEquals(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function toBase64(h: Uint8Array): string {
  return Buffer.from(h.buffer, h.byteOffset, h.byteLength).toString("base64");
}
