/**
 * The plain SHA-256 the compact tree and the escrow use (runtime/prooflog/rfc6962.ts `sha256Into`, `sha256Text`: its
 * WebAssembly module once loaded, node:crypto until then) against the FIPS 180-2 / NIST known answers, on a fresh copy
 * of the module: before the module is loaded and after; inputs at and around its buffer's size (16 KiB: longer ones go
 * to node:crypto), strings whose UTF-8 is longer than their length (3 bytes a code unit, 4 a pair, lone surrogates),
 * and the digest written at an offset of another buffer without touching its neighbours.
 */
import { createHash } from "node:crypto";
import { describe, expect, it, vi } from "vitest";

type Sha = typeof import("../../../../runtime/prooflog/rfc6962.js");
const fresh = async (): Promise<Sha> => {
  vi.resetModules();
  return (await import("../../../../runtime/prooflog/rfc6962.js")) as Sha;
};

const KAT: [string, string][] = [
  ["", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
  ["abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
  ["abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"],
  ["abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu", "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"],
  ["a".repeat(1_000_000), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"],
];
const node = (b: string | Uint8Array) => createHash("sha256").update(b).digest("hex");

/** Every answer both ways (text and bytes into an offset), and inputs around the buffer's size against node:crypto. */
function check(s: Sha): void {
  for (const [msg, want] of KAT) {
    expect(s.sha256Text(msg).toString("hex")).toBe(want);
    const out = Buffer.alloc(40, 0xee);
    s.sha256Into(Buffer.from(msg, "latin1"), out, 4);
    expect(out.subarray(4, 36).toString("hex")).toBe(want);
    expect([...out.subarray(0, 4), ...out.subarray(36)]).toEqual(Array(8).fill(0xee));
  }
  for (const n of [55, 56, 63, 64, 65, 16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1]) {
    const bytes = Buffer.alloc(n, n & 0xff);
    const out = Buffer.alloc(32);
    s.sha256Into(bytes, out, 0);
    expect(out.toString("hex")).toBe(node(bytes));
  }
  const texts = ["€".repeat(5461), "€".repeat(5462), "\ud83d\ude00".repeat(2730), "\ud800", "a\udc00b", "\ud800".repeat(5461), "ü".repeat(8192), "x".repeat(16 * 1024)];
  for (const t of texts) expect(s.sha256Text(t).toString("hex")).toBe(node(t));
  // A digest handed out is a copy: the next hash does not change it.
  const a = s.sha256Text("abc");
  s.sha256Text("other");
  expect(a.toString("hex")).toBe(KAT[1]![1]);
}

describe("csmt sha256.ts: known answers", () => {
  it("before the WebAssembly module loads (node:crypto) and after it has", async () => {
    const s = await fresh();
    expect(s.hashBackend()).toBe("node:crypto"); // the module is read from a file: not loaded yet
    check(s);
    await s.hashingReady;
    expect(s.hashBackend()).toBe("wasm");
    check(s);
  });
});
