/**
 * Plain SHA-256 of short inputs for the compact tree and its users (a leaf's value hash, the escrow's leaf names):
 * hash-wasm's compiled SHA-256 — the module rfc6962.ts instantiates for the log's hashes, here an instance of its
 * own — called through its WebAssembly exports, the input written straight into its buffer and the digest copied
 * straight out. node:crypto's one-shot hash() costs ~1–1.5 µs a call for these ~40–200-byte inputs (most of it the
 * call and the Buffer it makes); this ~0.3–0.5. Until the module is loaded (and if it is not found or fails its known
 * answer), and for inputs longer than its buffer, node:crypto computes the same function. The module loads on the
 * first hash asked for (or `sha256Ready`).
 */
import { hash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

interface Core {
  mem: Buffer; // the module's I/O buffer: input at 0, digest written back at 0
  calculate: (length: number, bits: number, unused: number) => void;
}
const BUFFER = 16 * 1024;
let core: Core | null = null;

async function load(): Promise<Core> {
  const bundle = await readFile(createRequire(import.meta.url).resolve("hash-wasm/dist/sha256.umd.min.js"), "utf8");
  const b64 = /"(AGFzbQ[A-Za-z0-9+/=]+)"/.exec(bundle)?.[1]; // "\0asm", base64
  if (!b64) throw new Error("hash-wasm's SHA-256 module not found in its bundle");
  const { instance } = await WebAssembly.instantiate(Buffer.from(b64, "base64"));
  const x = instance.exports as Record<string, unknown>;
  const at = (x["Hash_GetBuffer"] as () => number)();
  const c: Core = { mem: Buffer.from((x["memory"] as WebAssembly.Memory).buffer, at, BUFFER), calculate: x["Hash_Calculate"] as Core["calculate"] };
  c.mem.write("abc", 0, "latin1"); // known answer (FIPS 180-2), so a changed module can only cost speed
  c.calculate(3, 256, 0);
  if (c.mem.toString("hex", 0, 32) !== "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") throw new Error("hash-wasm's SHA-256 module fails its known answer");
  return c;
}

let loading: Promise<void> | undefined;
/**
 * Load the module (once; the first hash starts it, so a process that never hashes here never loads it); resolves
 * once these hashes run in WebAssembly, or when it could not be loaded. Never rejects.
 */
export function sha256Ready(): Promise<void> {
  return (loading ??= load().then(
    (c) => void (core = c),
    () => undefined,
  ));
}

/** SHA-256 of `input` into out[at, at + 32). */
export function sha256Into(input: Uint8Array, out: Uint8Array, at: number): void {
  const c = core;
  if (c === null || input.length > BUFFER) {
    if (loading === undefined) void sha256Ready();
    out.set(hash("sha256", input, "buffer"), at);
    return;
  }
  c.mem.set(input);
  c.calculate(input.length, 256, 0);
  for (let i = 0; i < 32; i++) out[at + i] = c.mem[i]!;
}

/** SHA-256 of a string's UTF-8. */
export function sha256Text(text: string): Buffer {
  const c = core;
  if (c === null || text.length * 3 > BUFFER) {
    if (loading === undefined) void sha256Ready();
    return hash("sha256", text, "buffer");
  }
  c.calculate(c.mem.write(text, 0, "utf8"), 256, 0);
  return Buffer.from(c.mem.subarray(0, 32)); // a copy
}
