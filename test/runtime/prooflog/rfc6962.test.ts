// Known-answer tests pinning every hash primitive of the log to published values (transparency-dev/merkle's
// rfc6962 hasher tests and the Certificate Transparency reference tree), and the signed-note key / signature
// formats to Go's sumdb/note and C2SP tlog-cosignature, computed independently of our code where no published
// value exists.
import { beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { createHash, createPublicKey, sign } from "node:crypto";
import { EMPTY_ROOT, hashBackend, hashingReady, leafHash, leafHashInto, leafHashWords, nodeHash, nodeHashInto, nodeHashWords } from "../../../runtime/prooflog/rfc6962.js";
import { MerkleTree } from "../../../runtime/prooflog/tree.js";
import { ALG_COSIGNATURE_V1, ed25519PrivateKey, keyId, newSigner, parseSignerKey, signNote, verifierKeyString } from "../../../runtime/prooflog/note.js";
import { newCosigner, newCosignatureVerifier } from "../../../runtime/prooflog/witness/cosignature.js";
import { DEFAULTS, smtLeafHash } from "../../../runtime/prooflog/smt/hashing.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const sha256 = (...parts: Uint8Array[]) => createHash("sha256").update(Buffer.concat(parts)).digest();

// Certificate Transparency reference leaves and the root of every prefix (transparency-dev/merkle testonly).
const CT_LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"].map((h) => Buffer.from(h, "hex"));
const CT_ROOTS = [
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

describe("RFC 6962 hash primitives (known answers)", () => {
  // The known answers below are checked on the WebAssembly SHA-256 the log hashes with once it has loaded.
  beforeAll(() => hashingReady);

  it("hashing runs in WebAssembly once loaded", () => {
    expect(hashBackend()).toBe("wasm");
  });

  it("leaf and node hashes are SHA-256 of the framed input for any input (the reused state leaks nothing between calls)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 9000 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (e, l, r) => {
        expect(hex(leafHash(e))).toBe(hex(sha256(Buffer.from([0]), e)));
        expect(hex(nodeHash(l, r))).toBe(hex(sha256(Buffer.from([1]), l, r)));
        // A malformed node (a child not 32 bytes) is still framed exactly.
        expect(hex(nodeHash(e, r))).toBe(hex(sha256(Buffer.from([1]), e, r)));
      }),
      { numRuns: 300 },
    );
  });

  it("65-byte inputs (every node; the leaf of a 64-byte entry) hash through the specialised function to SHA-256 in every form", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.nat(8), (e, ow) => {
        const want = hex(sha256(Buffer.from([0]), e));
        expect(hex(leafHash(e))).toBe(want);
        const out = new Uint8Array(80);
        leafHashInto(e, out, 5);
        expect(hex(out.subarray(5, 37))).toBe(want);
        const words = new Int32Array(24);
        leafHashWords(e, words, ow);
        expect(hex(new Uint8Array(words.buffer, 4 * ow, 32))).toBe(want);
        expect(hex(nodeHash(e.subarray(0, 32), e.subarray(32)))).toBe(hex(sha256(Buffer.from([1]), e)));
      }),
      { numRuns: 500 },
    );
    // Every value of the last byte (the second block's table row), under both prefixes.
    for (let b = 0; b < 256; b++) {
      const e = new Uint8Array(64).fill(b ^ 0x5a);
      e[63] = b;
      expect(hex(leafHash(e))).toBe(hex(sha256(Buffer.from([0]), e)));
      expect(hex(nodeHash(e.subarray(0, 32), e.subarray(32)))).toBe(hex(sha256(Buffer.from([1]), e)));
    }
  });

  it("the allocation-free forms write the same hashes at any offset, also over their own inputs", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40_000 }), fc.uint8Array({ minLength: 96, maxLength: 96 }), fc.nat(64), fc.nat(64), (e, buf, lo, ro) => {
        const out = new Uint8Array(64);
        leafHashInto(e, out, 7);
        expect(hex(out.subarray(7, 39))).toBe(hex(sha256(Buffer.from([0]), e)));
        const want = sha256(Buffer.from([1]), buf.subarray(lo, lo + 32), buf.subarray(ro, ro + 32));
        nodeHashInto(buf, lo, buf, ro, buf, ro); // output over the right child, as the integrator's carry does
        expect(hex(buf.subarray(ro, ro + 32))).toBe(hex(want));
      }),
      { numRuns: 200 },
    );
  });

  it("the word forms (the sequencer's hot path) write the same hashes at any word offset, also over their own inputs", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 20_000 }), fc.uint8Array({ minLength: 96, maxLength: 96 }), fc.nat(16), fc.nat(16), fc.nat(16), (e, bytes, lw, rw, ow) => {
        const words = new Int32Array(24);
        new Uint8Array(words.buffer).set(bytes);
        const at = (w: number) => new Uint8Array(words.buffer, 4 * w, 32);
        const want = sha256(Buffer.from([1]), at(lw), at(rw));
        nodeHashWords(words, lw, words, rw, words, ow); // the output may overwrite either child, as the carry does
        expect(hex(at(ow))).toBe(hex(want));
        leafHashWords(e, words, rw);
        expect(hex(at(rw))).toBe(hex(sha256(Buffer.from([0]), e)));
      }),
      { numRuns: 200 },
    );
  });

  it("the empty tree's root is SHA-256 of the empty string", () => {
    expect(hex(EMPTY_ROOT)).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("a leaf hash prefixes 0x00", () => {
    expect(hex(leafHash(Buffer.alloc(0)))).toBe("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
    expect(hex(leafHash(Buffer.from("L123456")))).toBe("395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56");
    // Entries longer than the framing scratch buffer take the other path; same definition.
    const big = Buffer.alloc(10_000, 0xab);
    expect(hex(leafHash(big))).toBe(hex(sha256(Buffer.from([0]), big)));
  });

  it("an interior node hash prefixes 0x01 and keeps the children's order", () => {
    expect(hex(nodeHash(Buffer.from("N123"), Buffer.from("N456")))).toBe("aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb");
    const [a, b] = [leafHash(Buffer.from("a")), leafHash(Buffer.from("b"))];
    expect(hex(nodeHash(a, b))).toBe(hex(sha256(Buffer.from([1]), a, b)));
    expect(hex(nodeHash(a, b))).not.toBe(hex(nodeHash(b, a)));
  });

  it("the tree reproduces the Certificate Transparency reference root at every size 0..8", () => {
    const t = new MerkleTree();
    expect(hex(t.root())).toBe(CT_ROOTS[0]);
    CT_LEAVES.forEach((leaf, i) => {
      t.appendEntry(leaf);
      expect(hex(t.root()), `size ${i + 1}`).toBe(CT_ROOTS[i + 1]);
    });
    for (let n = 0; n <= 8; n++) expect(hex(t.rootAt(n)), `rootAt ${n}`).toBe(CT_ROOTS[n]);
  });
});

describe("signed-note key and signature formats (known answers)", () => {
  // golang.org/x/mod/sumdb/note's documented example key.
  const GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
  const GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

  it("key id = SHA-256(name ‖ \\n ‖ algorithm ‖ public key)[:4], big-endian", () => {
    const k = parseSignerKey(GO_SKEY);
    expect(k.keyId).toBe(0xc74f20a3);
    expect(sha256(Buffer.from("PeterNeumann\n"), Buffer.from([1]), k.publicKey).readUInt32BE(0)).toBe(0xc74f20a3);
    expect(keyId("PeterNeumann", 1, k.publicKey)).toBe(0xc74f20a3);
    expect(verifierKeyString("PeterNeumann", 1, k.publicKey)).toBe(GO_VKEY);
  });

  it("a signature line is '— <name> base64(key id ‖ Ed25519 signature over the text)'", () => {
    const text = "hello\n";
    const k = parseSignerKey(GO_SKEY);
    const sig = sign(null, Buffer.from(text), ed25519PrivateKey(k.seed));
    const want = `${text}\n— PeterNeumann ${Buffer.concat([Buffer.from([0xc7, 0x4f, 0x20, 0xa3]), sig]).toString("base64")}\n`;
    expect(signNote(text, [newSigner(GO_SKEY)])).toBe(want);
  });

  it("cosignature/v1 signs 'cosignature/v1\\ntime <t>\\n' ‖ body and encodes key id ‖ u64 time ‖ signature", () => {
    const seed = Buffer.alloc(32, 7);
    const priv = ed25519PrivateKey(seed);
    const pub = createPublicKeyRaw(seed);
    const id = keyId("witness.example", ALG_COSIGNATURE_V1, pub);
    const skey = `PRIVATE+KEY+witness.example+${id.toString(16).padStart(8, "0")}+${Buffer.concat([Buffer.from([4]), seed]).toString("base64")}`;
    const body = "example.com/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    const t = 1_700_000_000;
    const cosigner = newCosigner(skey, { now: () => t * 1000 + 999 });
    const line = signNote(body, [cosigner]).slice(body.length + 1);
    const raw = Buffer.from(line.trim().split(" ")[2]!, "base64");
    expect(raw.readUInt32BE(0)).toBe(id);
    expect(raw.readBigUInt64BE(4)).toBe(BigInt(t));
    const expected = sign(null, Buffer.from(`cosignature/v1\ntime ${t}\n${body}`), priv);
    expect(hex(raw.subarray(12))).toBe(hex(expected));
    expect(newCosignatureVerifier(verifierKeyString("witness.example", ALG_COSIGNATURE_V1, pub)).verify(Buffer.from(body), raw.subarray(4))).toBe(true);
  });
});

describe("sparse Merkle tree primitives (known answers)", () => {
  it("empty leaf is 32 zero bytes, defaults chain with the 0x01 node prefix, leaves commit to key and SHA-256(value)", () => {
    expect(hex(DEFAULTS[0]!)).toBe("00".repeat(32));
    expect(hex(DEFAULTS[1]!)).toBe(hex(sha256(Buffer.from([1]), Buffer.alloc(64))));
    let d: Buffer = Buffer.alloc(32);
    for (let h = 0; h < 256; h++) d = sha256(Buffer.from([1]), d, d);
    expect(hex(DEFAULTS[256]!)).toBe(hex(d));
    const key = Buffer.alloc(32, 1);
    expect(hex(smtLeafHash(key, Buffer.from("v")))).toBe(hex(sha256(Buffer.from([0]), key, sha256(Buffer.from("v")))));
  });
});

/** Ed25519 public key of a seed, via node's JWK export (independent of note.ts's helpers). */
function createPublicKeyRaw(seed: Buffer): Buffer {
  return Buffer.from(createPublicKey(ed25519PrivateKey(seed)).export({ format: "jwk" }).x!, "base64url");
}
