/**
 * SHA-256 of exactly 65 bytes — `prefix ‖ 64 bytes` — the input of every RFC 6962 node hash (0x01 ‖ left ‖ right)
 * and of the leaf hash of a 64-byte entry: the sequencer's two hashes per append. A WebAssembly function generated
 * here, straight-line (64 rounds unrolled, the state and the message schedule in locals), with the second block —
 * the input's last byte, then fixed padding and length — reduced to a table: its message schedule depends on that
 * one byte only, so K[t] + W[t] for all 256 values is computed once at load (64 KiB) and the block's 64 rounds read
 * it instead of expanding a schedule. Measured under callgrind: ~10,000 instructions a hash through hash-wasm's
 * general Hash_Calculate (rfc6962.ts), this one about half (test/runtime/prooflog/rfc6962.test.ts pins it to
 * node:crypto on random inputs; the load checks it against node:crypto for every value of the last byte, so a
 * mistake here can only fail the load — the log then hashes as before — never give a wrong hash).
 *
 * Memory: the 64 bytes after the prefix at bytes 4…67 (words 1…16, so callers write them a word at a time), the
 * digest at bytes 128…159 (words 32…39), in the hash's byte order; the table from byte 1024.
 */
import { hash } from "node:crypto";

// prettier-ignore
const K = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];
const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
/** Word offsets in memory (see above). */
export const IN_WORD = 1;
export const OUT_WORD = 32;
const TABLE = 1024;

const rotr = (x: number, n: number) => (x >>> n) | (x << (32 - n));

/** K[t] + W[t] of the second block for each value of its first byte (the input's last): 256 rows of 64 words. */
function secondBlockTable(): Int32Array {
  const t = new Int32Array(256 * 64);
  const w = new Int32Array(64);
  for (let b = 0; b < 256; b++) {
    w.fill(0);
    w[0] = (b << 24) | 0x800000; // the byte, then the padding's 1 bit
    w[15] = 65 * 8; // the message length in bits
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15]!;
      const y = w[i - 2]!;
      w[i] = (rotr(y, 17) ^ rotr(y, 19) ^ (y >>> 10)) + w[i - 7]! + (rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3)) + w[i - 16]!;
    }
    for (let i = 0; i < 64; i++) t[b * 64 + i] = (K[i]! + w[i]!) | 0;
  }
  return t;
}

// WebAssembly opcodes used.
const GET = 0x20,
  SET = 0x21,
  TEE = 0x22,
  LOAD = 0x28,
  LOAD8 = 0x2d,
  STORE = 0x36,
  STORE8 = 0x3a,
  CONST = 0x41,
  ADD = 0x6a,
  AND = 0x71,
  OR = 0x72,
  XOR = 0x73,
  SHL = 0x74,
  SHR = 0x76,
  ROTL = 0x77,
  ROTR = 0x78;

const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
};
const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
};
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const name = (s: string) => [...uleb(s.length), ...Buffer.from(s)];

type Code = number | Code[];
const flat = (...parts: Code[]): number[] => parts.flat(Infinity as 1) as number[];

/** The body of `h65(prefix)`: hashes prefix ‖ memory[4, 68) into memory[128, 160). */
function body(): number[] {
  // Locals: 0 the prefix (parameter); 1–8 the working variables; 9–24 the schedule; 25 T1; 26–33 the mid-state; 34 the
  // row; 35 and 36 a ^ b of this round and the last (the last's is this one's b ^ c).
  const W0 = 9,
    T = 25,
    H0 = 26,
    ROW = 34,
    AB = 35;
  const get = (l: number): Code => [GET, uleb(l)];
  const set = (l: number): Code => [SET, uleb(l)];
  const k = (v: number): Code => [CONST, sleb(v | 0)];
  const rot = (l: number, n: number): Code => [get(l), k(n), ROTR];
  /** The word on the stack with its bytes reversed (little-endian load → the big-endian word SHA-256 reads), via `tmp`. */
  const bswap = (tmp: number): Code => [set(tmp), get(tmp), k(8), ROTL, k(0x00ff00ff), AND, get(tmp), k(8), ROTR, k(0xff00ff00), AND, OR];
  const c: Code[] = [];
  // The first block's words: the prefix (stored at byte 3), then 63 input bytes, read as unaligned words from byte 3.
  c.push(k(3), get(0), STORE8, 0, 0);
  for (let j = 0; j < 16; j++) c.push(k(3 + 4 * j), LOAD, 0, 0, bswap(W0 + j), set(W0 + j));
  const rounds = (vars: number[], kw: (t: number) => Code): number[] => {
    c.push(get(vars[1]!), get(vars[2]!), XOR, set(AB + 1)); // b ^ c for round 0
    for (let t = 0; t < 64; t++) {
      const ab = AB + (t % 2);
      const bc = AB + ((t + 1) % 2);
      const [a, b, cc, d, e, f, g, h] = vars as [number, number, number, number, number, number, number, number];
      c.push(
        // T1 = h + Σ1(e) + Ch(e, f, g) + K[t] + W[t], Ch = g ^ (e & (f ^ g))
        [get(h), rot(e, 6), rot(e, 11), XOR, rot(e, 25), XOR, ADD],
        [get(g), get(e), get(f), get(g), XOR, AND, XOR, ADD],
        [kw(t), ADD, set(T)],
        // e' = d + T1 (in d's local); a' = T1 + Σ0(a) + Maj(a, b, c) (in h's local), Maj = ((a ^ b) & (b ^ c)) ^ b
        [get(d), get(T), ADD, set(d)],
        [get(T), rot(a, 2), rot(a, 13), XOR, rot(a, 22), XOR, ADD],
        [get(a), get(b), XOR, TEE, uleb(ab), get(bc), AND, get(b), XOR, ADD, set(h)],
      );
      vars = [h, a, b, cc, d, e, f, g];
    }
    return vars;
  };
  const VARS = [1, 2, 3, 4, 5, 6, 7, 8];
  // Block 1: W[t] for t ≥ 16 expanded in place in the 16 schedule locals.
  VARS.forEach((v, i) => c.push(k(IV[i]!), set(v)));
  let vars = rounds(VARS, (t) => {
    const w = W0 + (t % 16);
    if (t < 16) return [k(K[t]!), get(w), ADD];
    const x = W0 + ((t - 15) % 16);
    const y = W0 + ((t - 2) % 16);
    return [
      [rot(y, 17), rot(y, 19), XOR, get(y), k(10), SHR, XOR], // σ1(W[t − 2])
      [get(W0 + ((t - 7) % 16)), ADD],
      [rot(x, 7), rot(x, 18), XOR, get(x), k(3), SHR, XOR, ADD], // σ0(W[t − 15])
      [get(w), ADD, set(w)],
      [k(K[t]!), get(w), ADD],
    ];
  });
  vars.forEach((v, i) => c.push(k(IV[i]!), get(v), ADD, set(H0 + i)));
  // Block 2: K[t] + W[t] from the table row of the input's last byte.
  c.push(k(67), LOAD8, 0, 0, k(8), SHL, k(TABLE), ADD, set(ROW));
  VARS.forEach((v, i) => c.push(get(H0 + i), set(v)));
  vars = rounds(VARS, (t) => [get(ROW), LOAD, 2, uleb(4 * t)]);
  vars.forEach((v, i) => c.push(k(4 * (OUT_WORD + i)), get(H0 + i), get(v), ADD, bswap(T), STORE, 2, 0));
  const code = flat(vec([[...uleb(36), 0x7f]]), c, 0x0b);
  return [...uleb(code.length), ...code];
}

function moduleBytes(): Uint8Array<ArrayBuffer> {
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([[0x60, 1, 0x7f, 0]])), // (i32) -> ()
    ...section(3, vec([[0]])),
    ...section(5, vec([[0x00, 2]])), // two pages
    ...section(
      7,
      vec([
        [...name("memory"), 0x02, 0],
        [...name("h65"), 0x00, 0],
      ]),
    ),
    ...section(10, vec([body()])),
  ]);
}

export interface Sha256x65 {
  /** Memory as words: input at IN_WORD…IN_WORD + 15, digest at OUT_WORD…OUT_WORD + 7. */
  words: Int32Array;
  /** Memory as bytes. */
  bytes: Uint8Array;
  /** SHA-256(prefix ‖ input) into the digest words. */
  h65: (prefix: number) => void;
}

/** Compile and check the function: every value of the last byte, both prefixes, against node:crypto. */
export async function loadSha256x65(): Promise<Sha256x65> {
  const instance = await WebAssembly.instantiate(new WebAssembly.Module(moduleBytes()));
  const memory = instance.exports["memory"] as WebAssembly.Memory;
  const m: Sha256x65 = {
    words: new Int32Array(memory.buffer),
    bytes: new Uint8Array(memory.buffer),
    h65: instance.exports["h65"] as (prefix: number) => void,
  };
  if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) throw new Error("word copies need a little-endian platform");
  m.words.set(secondBlockTable(), TABLE / 4);
  const input = Buffer.alloc(65);
  for (let b = 0; b < 512; b++) {
    input[0] = b >> 8;
    for (let i = 1; i < 64; i++) input[i] = (b * 131 + i * 29) & 255;
    input[64] = b & 255;
    m.bytes.set(input.subarray(1), 4 * IN_WORD);
    m.h65(input[0]!);
    const got = Buffer.from(m.bytes.subarray(4 * OUT_WORD, 4 * OUT_WORD + 32));
    if (!got.equals(hash("sha256", input, "buffer"))) throw new Error("the 65-byte SHA-256 fails its known answer");
  }
  return m;
}
