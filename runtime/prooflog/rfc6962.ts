/**
 * RFC 6962 / RFC 9162 §2.1 hashing: leaf hash = SHA-256(0x00 ‖ entry), node hash = SHA-256(0x01 ‖ left ‖ right),
 * the empty tree's root = SHA-256(""). The domain-separation prefixes keep a leaf from ever being mistaken for
 * an interior node (second-preimage resistance), so every other module hashes only through here.
 */
import { hash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { IN_WORD, loadSha256x65, OUT_WORD, type Sha256x65 } from "./sha256x65.js";

export const HASH_SIZE = 32;
export type Hash = Uint8Array;

/** SHA-256 of the empty string: the root of a tree with no leaves. */
export const EMPTY_ROOT: Hash = hash("sha256", Buffer.alloc(0), "buffer");

// SHA-256 of the small inputs the tree hashes (65 bytes for a node) is dominated by the cost of the call, not the
// compression. node:crypto's one-shot hash() costs about 1 µs a call here; hash-wasm's compiled SHA-256 behind its
// init/update/digest wrapper about 0.75; the same compiled function called through its WebAssembly exports —
// input framed straight into its buffer, digest copied straight out, nothing allocated — about 0.5
// (bench/prooflog.ts reports all three). So the log instantiates hash-wasm's SHA-256 module itself (the one its
// per-algorithm bundle embeds) and calls Hash_Calculate. It loads asynchronously; until then (and if the module is
// not found or fails its known answer) node:crypto computes the same function. Hashing is synchronous, so one
// module instance and its buffer are safe to reuse.
interface Core {
  /** hash-wasm's I/O buffer: input at 0, digest written back at 0. */
  mem: Uint8Array;
  digest: Uint8Array;
  /**
   * The same buffer for word-wide copies (the sequencer's hot path, `nodeHashWords`, `leafHashWords`): the input's
   * hashes land at byte 1, after the domain prefix, so they are written through a DataView (unaligned, little-endian:
   * the platform's order, checked at load, so a word read from an Int32Array is written back as the same 4 bytes);
   * the digest, at byte 0 (aligned), is read as 8 words. 8 word moves instead of 32 byte moves (each bounds-checked).
   */
  view: DataView;
  digestWords: Int32Array;
  calculate: (length: number, bits: number, unused: number) => void;
  init: (bits: number) => void;
  update: (length: number) => void;
  final: (unused: number) => void;
}
/** hash-wasm's buffer size (MAX_HEAP): longer inputs go through Hash_Init/Update/Final in chunks. */
const BUFFER = 16 * 1024;
let core: Core | null = null;

async function loadCore(): Promise<Core> {
  const bundle = await readFile(createRequire(import.meta.url).resolve("hash-wasm/dist/sha256.umd.min.js"), "utf8");
  const b64 = /"(AGFzbQ[A-Za-z0-9+/=]+)"/.exec(bundle)?.[1]; // "\0asm", base64
  if (!b64) throw new Error("hash-wasm's SHA-256 module not found in its bundle");
  const { instance } = await WebAssembly.instantiate(Buffer.from(b64, "base64"));
  const x = instance.exports as Record<string, unknown>;
  const at = (x["Hash_GetBuffer"] as () => number)();
  const memory = (x["memory"] as WebAssembly.Memory).buffer;
  if (at % 4 !== 0 || new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) throw new Error("word copies need an aligned buffer on a little-endian platform");
  const mem = new Uint8Array(memory, at, BUFFER);
  const c: Core = {
    mem,
    digest: mem.subarray(0, HASH_SIZE),
    view: new DataView(memory, at, BUFFER),
    digestWords: new Int32Array(memory, at, HASH_SIZE / 4),
    calculate: x["Hash_Calculate"] as Core["calculate"],
    init: x["Hash_Init"] as Core["init"],
    update: x["Hash_Update"] as Core["update"],
    final: x["Hash_Final"] as Core["final"],
  };
  // Known answer (FIPS 180-2 "abc"), so a changed module can only cost speed, never correctness.
  mem.set([0x61, 0x62, 0x63]);
  c.calculate(3, 256, 0);
  if (Buffer.from(c.digest).toString("hex") !== "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") throw new Error("hash-wasm's SHA-256 module fails its known answer");
  return c;
}

/**
 * The node hashes and the leaf hashes of 64-byte entries — 65-byte inputs — go through a function specialised for
 * that length (sha256x65.ts: about 40% fewer instructions a hash than Hash_Calculate); other leaves through hash-wasm.
 */
let x65: Sha256x65 | null = null;

/** Resolves once hashing runs in WebAssembly (the log's open awaits it); never rejects. */
export const hashingReady: Promise<void> = Promise.all([
  loadCore().then(
    (c) => void (core = c),
    () => undefined,
  ),
  loadSha256x65().then(
    (f) => void (x65 = f),
    () => undefined,
  ),
]).then(() => undefined);

/** SHA-256(prefix ‖ 64 bytes at body[0, 64)) into out[at, at + 32) through the 65-byte function. */
function framed65(f: Sha256x65, prefix: number, body: Uint8Array, out: Uint8Array, at: number): void {
  f.bytes.set(body, 4 * IN_WORD);
  f.h65(prefix);
  const b = f.bytes;
  for (let i = 0, o = 4 * OUT_WORD; i < HASH_SIZE; i++) out[at + i] = b[o + i]!;
}

/** Which implementation computes SHA-256 now (for tests and the bench's notes). */
export function hashBackend(): "wasm" | "node:crypto" {
  return core ? "wasm" : "node:crypto";
}

/** SHA-256 of core.mem[0, length) (length ≤ BUFFER), digest in core.digest. */
function calc(c: Core, length: number): void {
  c.calculate(length, 256, 0);
}

/** SHA-256 of `prefix ‖ body` into out[at, at + 32). */
function framedInto(prefix: number, body: Uint8Array, out: Uint8Array, at: number): void {
  if (x65 && body.length === 2 * HASH_SIZE) return framed65(x65, prefix, body, out, at);
  const c = core;
  if (!c) {
    const d = hash("sha256", Buffer.concat([Buffer.from([prefix]), body]), "buffer");
    out.set(d, at);
    return;
  }
  const m = c.mem;
  if (body.length < BUFFER) {
    m[0] = prefix;
    m.set(body, 1);
    calc(c, body.length + 1);
  } else {
    c.init(256);
    m[0] = prefix;
    c.update(1);
    for (let i = 0; i < body.length; i += BUFFER) {
      const n = Math.min(BUFFER, body.length - i);
      m.set(body.subarray(i, i + n));
      c.update(n);
    }
    c.final(0);
  }
  out.set(c.digest, at);
}

/** Plain SHA-256 of `input` into out[at, at + 32), no domain prefix (the compact tree's value hashes). */
export function sha256Into(input: Uint8Array, out: Uint8Array, at: number): void {
  const c = core;
  if (!c || input.length > BUFFER) {
    out.set(hash("sha256", input, "buffer"), at);
    return;
  }
  c.mem.set(input);
  calc(c, input.length);
  out.set(c.digest, at);
}

const utf8 = new TextEncoder();
/** Plain SHA-256 of a string's UTF-8 (the escrow's leaf names and buyer pseudonyms). */
export function sha256Text(text: string): Buffer {
  const c = core;
  if (!c || text.length * 3 > BUFFER) return hash("sha256", text, "buffer"); // UTF-8 is at most 3 bytes a UTF-16 unit
  calc(c, utf8.encodeInto(text, c.mem).written);
  return Buffer.from(c.digest); // a copy
}

/** The leaf hash of an entry: SHA-256(0x00 ‖ entry). */
export function leafHash(entry: Uint8Array): Hash {
  const out = new Uint8Array(HASH_SIZE);
  framedInto(0, entry, out, 0);
  return out;
}

/** `leafHash` written into out[at, at + 32): nothing allocated. */
export function leafHashInto(entry: Uint8Array, out: Uint8Array, at: number): void {
  framedInto(0, entry, out, at);
}

/** Words w…w + 7 of `a` as bytes (the fallback paths' view; allocates). */
const bytesOf = (a: Int32Array, w: number) => new Uint8Array(a.buffer, a.byteOffset + 4 * w, HASH_SIZE);

/** `leafHash` written into words ow…ow + 7 of `out` (the sequencer's duplicate-window ring): nothing allocated. */
export function leafHashWords(entry: Uint8Array, out: Int32Array, ow: number): void {
  const f = x65;
  if (f && entry.length === 2 * HASH_SIZE) {
    f.bytes.set(entry, 4 * IN_WORD);
    f.h65(0);
    const d = f.words;
    for (let i = 0; i < 8; i++) out[ow + i] = d[OUT_WORD + i]!;
    return;
  }
  const c = core;
  if (!c || entry.length >= BUFFER) {
    framedInto(0, entry, bytesOf(out, ow), 0);
    return;
  }
  c.mem[0] = 0;
  c.mem.set(entry, 1);
  calc(c, entry.length + 1);
  const d = c.digestWords;
  for (let i = 0; i < 8; i++) out[ow + i] = d[i]!;
}

/** The hash of an interior node: SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Hash, right: Hash): Hash {
  const out = new Uint8Array(HASH_SIZE);
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) {
    // Hash what was given anyway (verifiers then fail on root mismatch) but never mis-frame the input.
    framedInto(1, Buffer.concat([left, right]), out, 0);
    return out;
  }
  nodeHashInto(left, 0, right, 0, out, 0);
  return out;
}

/**
 * `nodeHash` of the 32 bytes at l[lo] and at r[ro], written into out[oo, oo + 32) (out may overlap either input):
 * the integrator's hot path, nothing allocated.
 */
export function nodeHashInto(l: Uint8Array, lo: number, r: Uint8Array, ro: number, out: Uint8Array, oo: number): void {
  const f = x65;
  if (f) {
    const m = f.bytes;
    for (let i = 0, o = 4 * IN_WORD; i < HASH_SIZE; i++) m[o + i] = l[lo + i]!;
    for (let i = 0, o = 4 * IN_WORD + HASH_SIZE; i < HASH_SIZE; i++) m[o + i] = r[ro + i]!;
    f.h65(1);
    for (let i = 0, o = 4 * OUT_WORD; i < HASH_SIZE; i++) out[oo + i] = m[o + i]!;
    return;
  }
  const c = core;
  if (!c) {
    out.set(hash("sha256", Buffer.concat([Buffer.from([1]), l.subarray(lo, lo + HASH_SIZE), r.subarray(ro, ro + HASH_SIZE)]), "buffer"), oo);
    return;
  }
  const m = c.mem;
  m[0] = 1;
  for (let i = 0; i < HASH_SIZE; i++) m[1 + i] = l[lo + i]!;
  for (let i = 0; i < HASH_SIZE; i++) m[1 + HASH_SIZE + i] = r[ro + i]!;
  calc(c, 1 + 2 * HASH_SIZE);
  out.set(c.digest, oo);
}

/**
 * `nodeHashInto` on word arrays: the hash of words lw…lw + 7 of `l` and rw…rw + 7 of `r` into words ow…ow + 7 of
 * `out` (which may be either input). The integrator's hot path: its buffers and the sequencer's packed leaf hashes
 * are word-aligned, so each hash moves 24 words instead of 96 bytes.
 */
export function nodeHashWords(l: Int32Array, lw: number, r: Int32Array, rw: number, out: Int32Array, ow: number): void {
  const f = x65;
  if (f) {
    const m = f.words;
    for (let i = 0; i < 8; i++) m[IN_WORD + i] = l[lw + i]!;
    for (let i = 0; i < 8; i++) m[IN_WORD + 8 + i] = r[rw + i]!;
    f.h65(1);
    for (let i = 0; i < 8; i++) out[ow + i] = m[OUT_WORD + i]!;
    return;
  }
  const c = core;
  if (!c) {
    nodeHashInto(bytesOf(l, lw), 0, bytesOf(r, rw), 0, bytesOf(out, ow), 0);
    return;
  }
  const v = c.view;
  v.setUint8(0, 1);
  for (let i = 0; i < 8; i++) v.setInt32(1 + 4 * i, l[lw + i]!, true);
  for (let i = 0; i < 8; i++) v.setInt32(1 + HASH_SIZE + 4 * i, r[rw + i]!, true);
  calc(c, 1 + 2 * HASH_SIZE);
  const d = c.digestWords;
  for (let i = 0; i < 8; i++) out[ow + i] = d[i]!;
}

export function hashEquals(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function toBase64(h: Uint8Array): string {
  return Buffer.from(h.buffer, h.byteOffset, h.byteLength).toString("base64");
}
