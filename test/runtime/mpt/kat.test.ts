/**
 * Known answers for the trie's building blocks: keccak-256 (not SHA3-256: Ethereum's pre-standard padding), RLP
 * against ethereum/tests RLPTests, hex-prefix encoding (Yellow Paper Appendix C) and the empty trie's root.
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { encode as rlpEncode, type Input } from "@ethereumjs/rlp";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import { EMPTY_ROOT, MerklePatriciaTrie } from "../../../runtime/mpt/index.js";
import { hexPrefixDecode, hexPrefixEncode } from "../../../runtime/mpt/nibbles.js";

const hex = (b: Uint8Array) => `0x${bytesToHex(b)}`;

describe("keccak-256", () => {
  it.each([
    ["", "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"],
    ["abc", "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"],
    ["The quick brown fox jumps over the lazy dog", "0x4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15"],
  ])("keccak256(%j)", (input, want) => {
    expect(hex(keccak_256(utf8ToBytes(input)))).toBe(want);
  });
});

describe("RLP (ethereum/tests RLPTests/rlptest.json)", () => {
  const cases = JSON.parse(readFileSync(new URL("../../testdata/ethereum-rlptests/rlptest.json", import.meta.url), "utf8")) as Record<string, { in: unknown; out: string }>;
  const toInput = (v: unknown): Input => {
    if (Array.isArray(v)) return v.map(toInput);
    if (typeof v === "number") return BigInt(v);
    if (typeof v === "string") return v.startsWith("#") ? BigInt(v.slice(1)) : utf8ToBytes(v);
    throw new Error(`unexpected RLP test input ${JSON.stringify(v)}`);
  };
  it("holds the vendored cases", () => expect(Object.keys(cases).length).toBeGreaterThanOrEqual(28));
  it.each(Object.entries(cases))("%s", (_name, c) => {
    expect(hex(rlpEncode(toInput(c.in)))).toBe(c.out.toLowerCase());
  });
});

describe("hex-prefix encoding (Yellow Paper Appendix C)", () => {
  it.each([
    [[1, 2, 3, 4, 5], false, "0x112345"],
    [[0, 1, 2, 3, 4, 5], false, "0x00012345"],
    [[0, 0xf, 1, 0xc, 0xb, 8], true, "0x200f1cb8"],
    [[0xf, 1, 0xc, 0xb, 8], true, "0x3f1cb8"],
    [[], true, "0x20"],
    [[], false, "0x00"],
  ])("%j leaf=%s → %s", (path, leaf, want) => {
    const enc = hexPrefixEncode(Uint8Array.from(path), leaf);
    expect(hex(enc)).toBe(want);
    expect(hexPrefixDecode(enc)).toEqual({ path: Uint8Array.from(path), leaf });
  });

  it("refuses a flag nibble above 3 and a non-zero padding nibble", () => {
    expect(() => hexPrefixDecode(Uint8Array.of(0x41))).toThrow(/flag nibble is 4/);
    expect(() => hexPrefixDecode(Uint8Array.of(0x01))).toThrow(/padding nibble/);
  });
});

describe("trie roots", () => {
  it("the empty trie's root is keccak256(RLP(''))", () => {
    expect(hex(EMPTY_ROOT)).toBe("0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421");
    expect(hex(new MerklePatriciaTrie().rootHash())).toBe(hex(EMPTY_ROOT));
    expect(hex(new MerklePatriciaTrie({ secure: true }).rootHash())).toBe(hex(EMPTY_ROOT));
  });

  it("a one-entry trie whose root node is under 32 bytes is still hashed at the root", () => {
    const t = new MerklePatriciaTrie();
    t.put(utf8ToBytes("a"), utf8ToBytes("b"));
    // Root node RLP: [HP("a" nibbles 6,1; leaf, even) = 0x2061, "b"] = 0xc482206162 (5 bytes).
    expect(hex(t.rootHash())).toBe(hex(keccak_256(Uint8Array.from([0xc4, 0x82, 0x20, 0x61, 0x62]))));
  });
});
