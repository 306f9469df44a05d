/**
 * The compact sparse Merkle tree (runtime/prooflog/csmt): its hashes against known answers computed independently —
 * once, by a throwaway python3 hashlib script (leaf = H(0x00‖key‖H(value)), node = H(0x01‖l‖r), empty = 32 zero
 * bytes, a one-key subtree hashed as its leaf; the root the recursive definition over the sorted key set), pasted here —
 * and against a naive reference written from the definition with node:crypto; the root is independent of the order of
 * the writes (deletes included: the trie stays canonical); batch proofs verify, recompute the root after a write, and
 * refuse tampered values, items and placements — among them a key's own leaf shown as its path's sibling, which would
 * prove it absent under the root where it is present.
 */
import fc from "fast-check";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { CompactMerkleTree, CSMT_EMPTY, csmtLeafHash, valueHashOf } from "../../../../runtime/prooflog/csmt/csmt.js";
import { csmtRootFromProof, decodeCsmtProof, encodeCsmtProof, proveCsmt, verifyCsmtBatch, type CsmtItem } from "../../../../runtime/prooflog/csmt/proof.js";
import { hashingReady, nodeHash, sha256Into, sha256Text } from "../../../../runtime/prooflog/rfc6962.js";
import { SmtError } from "../../../../runtime/prooflog/smt/hashing.js";

const H = (...b: Uint8Array[]) => createHash("sha256").update(Buffer.concat(b)).digest();
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const bitOf = (k: Uint8Array, i: number) => (k[i >> 3]! >> (7 - (i & 7))) & 1;

/** The definition, naively: the hash of the subtree at `depth` holding exactly `items`. */
function naive(items: readonly [Buffer, Buffer][], depth = 0): Buffer {
  if (items.length === 0) return Buffer.alloc(32);
  if (items.length === 1) return H(Buffer.from([0]), items[0]![0], H(items[0]![1]));
  const side = (b: number) =>
    naive(
      items.filter(([k]) => bitOf(k, depth) === b),
      depth + 1,
    );
  return H(Buffer.from([1]), side(0), side(1));
}

const tree = (items: Iterable<readonly [Uint8Array, Uint8Array | undefined]>) => {
  const t = new CompactMerkleTree();
  t.setMany(items);
  return t;
};

/** Keys that share long prefixes (so branches run down many levels), from a small pool. */
const keyArb = fc.oneof(
  fc.uint8Array({ minLength: 32, maxLength: 32 }),
  fc.nat({ max: 15 }).map((n) => {
    const k = Buffer.alloc(32, 0xa5);
    k[31] = n; // differ in the last byte only
    return k;
  }),
);
const valueArb = fc.option(fc.uint8Array({ maxLength: 8 }), { nil: undefined, freq: 4 });

describe("compact sparse Merkle tree", () => {
  it("known answers (python3 hashlib): empty, leaf, node, and the roots of small fixed key sets", () => {
    expect(hex(CSMT_EMPTY)).toBe("00".repeat(32));
    expect(hex(new CompactMerkleTree().root())).toBe("00".repeat(32));
    expect(hex(csmtLeafHash(H(Buffer.from("k")), H(Buffer.from("v"))))).toBe("d3fe0580181b0f36b3f5a4dd0197ea9d60fd141d0332aa4262b6d7300ec490a4");
    expect(hex(nodeHash(Buffer.alloc(32), Buffer.alloc(32, 0x11)))).toBe("a7b6a88afe611b23a8bb9836e3cd13ba706cb05d6de647d92bf05bb0aace72ee");
    const names = ["alpha", "beta", "gamma", "delta", "epsilon"];
    const items = names.map((n) => [H(Buffer.from(n)), Buffer.from(n.toUpperCase())] as const);
    expect(hex(tree(items).root())).toBe("7fffaa7e3ece6509cdd23e0d2a4a0a7fed5f929ea58155d43317e8cc7b068404");
    // One key: its leaf hash at the root (no chain of default siblings).
    expect(hex(tree(items.slice(0, 1)).root())).toBe("7ebd06000ad7d237d010d048d5354c3b6f523af17320f5340d64c0a33bfedebb");
    // 00…00 and 00…01: a branch at depth 255 and 255 node hashes above it with an empty sibling each.
    const long = tree([
      [Buffer.alloc(32), Buffer.from("x")],
      [Buffer.concat([Buffer.alloc(31), Buffer.from([1])]), Buffer.from("y")],
    ]);
    expect(hex(long.root())).toBe("882b4f30348ff52d323364f243c43d46111caacef80ad6288256b4aa31d084f6");
    // Deleting every key again gives the empty root.
    long.setMany([
      [Buffer.alloc(32), undefined],
      [Buffer.concat([Buffer.alloc(31), Buffer.from([1])]), undefined],
    ]);
    expect(hex(long.root())).toBe("00".repeat(32));
    expect(() => tree([[Buffer.alloc(31), Buffer.from("x")]])).toThrow(SmtError);
  });

  it("property: after any writes and deletes the root is the naive definition's over the key set, whatever the order", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(keyArb, valueArb), { maxLength: 40 }), fc.nat(), (writes, seed) => {
        const t = new CompactMerkleTree();
        const model = new Map<string, [Buffer, Buffer]>();
        for (const [k, v] of writes) {
          t.setMany([[k, v]]);
          if (v === undefined) model.delete(hex(k));
          else model.set(hex(k), [Buffer.from(k), Buffer.from(v)]);
        }
        const items = [...model.values()];
        expect(hex(t.root())).toBe(hex(naive(items)));
        for (const [k, v] of items) expect(Buffer.from(t.get(k)!)).toEqual(v);
        expect([...t.entries()].map((e) => hex(e.key))).toEqual(items.map(([k]) => hex(k)).sort());
        // The same key set inserted fresh, in a shuffled order: the same root (no history in the hash).
        const shuffled = items.map((x, i) => [x, (i * 7919 + seed) % 1009] as const).sort((a, b) => a[1] - b[1]);
        expect(hex(tree(shuffled.map(([x]) => x)).root())).toBe(hex(t.root()));
      }),
      { numRuns: 200 },
    );
  });

  it("property: every batch proof of one or two keys verifies, gives the root after writing them, and refuses tampering", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(keyArb, fc.uint8Array({ maxLength: 8 })), { maxLength: 30 }),
        fc.uniqueArray(keyArb, { minLength: 1, maxLength: 2, selector: hex }),
        fc.boolean(),
        fc.array(valueArb, { minLength: 2, maxLength: 2 }),
        fc.nat(),
        (state, picked, fromState, writes, which) => {
          const t = tree(state);
          // Batch keys: present ones (from the state) or any.
          const keys =
            fromState && state.length > 0 ? [...new Map(picked.map((_, i) => state[(which + i) % state.length]![0]).map((k) => [hex(k), Buffer.from(k)])).values()] : picked.map((k) => Buffer.from(k));
          const entries = keys.map((k) => [k, t.get(k)] as [Buffer, Uint8Array | undefined]);
          const proof = proveCsmt(t, keys);
          expect(verifyCsmtBatch(t.root(), entries, proof)).toBe(true);
          expect(verifyCsmtBatch(t.root(), [...entries].reverse(), decodeCsmtProof(JSON.parse(JSON.stringify(encodeCsmtProof(proof)))))).toBe(true);
          // The same proof with new values: the root the tree has after writing them (lifts and splits included).
          const next = keys.map((k, i) => [k, writes[i]] as [Buffer, Uint8Array | undefined]);
          const post = csmtRootFromProof(next, proof);
          t.setMany(next);
          expect(hex(post)).toBe(hex(t.root()));
          t.setMany(entries);
          // A tampered value (changed, dropped or made up) does not verify.
          const [k0, v0] = entries[0]!;
          const lie: Uint8Array | undefined = v0 === undefined ? Buffer.from("made up") : which % 2 === 0 ? undefined : Buffer.concat([v0, Buffer.from("!")]);
          expect(verifyCsmtBatch(t.root(), [[k0, lie], ...entries.slice(1)], proof)).toBe(false);
          // Nor does any item changed: a hash's byte flipped, an item dropped or added.
          const at = which % proof.length;
          const item = proof[at]!;
          const flip = (h: Uint8Array) => {
            const c = Buffer.from(h);
            c[which % 32]! ^= 1;
            return c;
          };
          if (item !== null && item !== "down") {
            const bad: CsmtItem = "key" in item ? { key: item.key, valueHash: flip(item.valueHash) } : { left: flip(item.left), right: item.right };
            expect(verifyCsmtBatch(t.root(), entries, proof.with(at, bad))).toBe(false);
          }
          expect(verifyCsmtBatch(t.root(), entries, proof.toSpliced(at, 1))).toBe(false);
          expect(verifyCsmtBatch(t.root(), entries, [...proof, null])).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("refuses a key's own leaf placed off its path: it would prove the key absent under a root where it is present", () => {
    const k = H(Buffer.from("the key"));
    const v = Buffer.from("its value");
    const side = bitOf(k, 0);
    // A tree holding k alone: its root is k's leaf hash. The forgery: k's side of the root empty, and k's own leaf
    // given as the other side, which the definition lifts to the root — the same root, with k "absent".
    const t = tree([[k, v]]);
    const own: CsmtItem = { key: k, valueHash: valueHashOf(v) };
    const forged: CsmtItem[] = side === 0 ? ["down", null, own] : ["down", own, null];
    expect(hex(t.root())).toBe(hex(csmtLeafHash(k, valueHashOf(v)))); // what the forgery's lift would give: the root
    expect(() => csmtRootFromProof([[k, undefined]], forged)).toThrow(/is not under its subtree/);
    expect(verifyCsmtBatch(t.root(), [[k, undefined]], forged)).toBe(false);
    // Another key's leaf on the side its first bit does not choose is refused alike.
    const other = H(Buffer.from("another key"));
    const misplaced: CsmtItem = { key: other, valueHash: valueHashOf(v) };
    expect(() => csmtRootFromProof([[k, undefined]], bitOf(other, 0) === 1 ? ["down", misplaced, null] : ["down", null, misplaced])).toThrow(/is not under its subtree/);
    // A batch key's own leaf given as "another key" at its path's end, and k's leaf passed off as a branch: refused.
    expect(() => csmtRootFromProof([[k, undefined]], [own])).toThrow(/a batch key's own leaf/);
    expect(verifyCsmtBatch(t.root(), [[k, undefined]], [{ left: Buffer.alloc(32), right: Buffer.alloc(32) }])).toBe(false);
    // The honest proofs: present under this root; absent under the empty one.
    expect(verifyCsmtBatch(t.root(), [[k, v]], proveCsmt(t, [k]))).toBe(true);
    expect(verifyCsmtBatch(CSMT_EMPTY, [[k, undefined]], proveCsmt(new CompactMerkleTree(), [k]))).toBe(true);
  });

  it("absence proofs: an empty subtree on the path, or another key's leaf where the path ends", () => {
    const a = Buffer.alloc(32, 0x00);
    const b = Buffer.alloc(32, 0xff);
    const c = Buffer.from(a);
    c[31] = 1; // shares 255 bits with a
    const t = tree([[a, Buffer.from("A")]]);
    // c absent: a's leaf is where c's path ends.
    const p = proveCsmt(t, [c]);
    expect(p).toEqual([{ key: a, valueHash: valueHashOf(Buffer.from("A")) }]);
    expect(verifyCsmtBatch(t.root(), [[c, undefined]], p)).toBe(true);
    expect(verifyCsmtBatch(t.root(), [[c, Buffer.from("A")]], p)).toBe(false);
    // Writing c splits a's leaf 255 levels down: the same proof gives that root.
    expect(hex(csmtRootFromProof([[c, Buffer.from("C")]], p))).toBe(
      hex(
        tree([
          [a, Buffer.from("A")],
          [c, Buffer.from("C")],
        ]).root(),
      ),
    );
    // b absent: an empty subtree on its path (after one split), with a's leaf as the sibling.
    t.setMany([[c, Buffer.from("C")]]);
    const q = proveCsmt(t, [b]);
    expect(q[0]).toBe("down");
    expect(q).toHaveLength(3);
    expect(verifyCsmtBatch(t.root(), [[b, undefined]], q)).toBe(true);
    // Deleting a with a proof that shows c as a branch's children would not lift c: a leaf cannot be shown as a node.
    const pa = proveCsmt(t, [a]);
    expect(hex(csmtRootFromProof([[a, undefined]], pa))).toBe(hex(tree([[c, Buffer.from("C")]]).root()));
  });

  it("hashes in WebAssembly as node:crypto does: plain SHA-256 of any bytes and of a string's UTF-8 (rfc6962.ts)", async () => {
    await hashingReady;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.string({ unit: "grapheme", maxLength: 200 }), (bytes, text) => {
        const out = new Uint8Array(40);
        sha256Into(bytes, out, 5);
        expect(hex(out.subarray(5, 37))).toBe(H(bytes).toString("hex"));
        expect(hex(valueHashOf(bytes))).toBe(H(bytes).toString("hex"));
        expect(hex(sha256Text(text))).toBe(createHash("sha256").update(text, "utf8").digest("hex"));
      }),
    );
    const long = Buffer.alloc(40_000, 7); // longer than the module's buffer
    expect(hex(valueHashOf(long))).toBe(H(long).toString("hex"));
    expect(hex(sha256Text("x".repeat(20_000)))).toBe(createHash("sha256").update("x".repeat(20_000)).digest("hex"));
  });

  it("a root or proof hash handed out stays as it was when the tree is written again (branch hashes are rewritten in place)", async () => {
    await hashingReady;
    const t = new CompactMerkleTree();
    const keys = Array.from({ length: 64 }, (_, i) => H(Buffer.from([i])));
    t.setMany(keys.map((k) => [k, Buffer.from("v")] as const));
    const root = t.root();
    const before = hex(root);
    const proof = proveCsmt(t, [keys[0]!]);
    const proofBefore = encodeCsmtProof(proof);
    const owned = new CompactMerkleTree();
    owned.setManyOwned(keys.map((k) => [Buffer.from(k), Buffer.from("v")] as const));
    expect(hex(owned.root())).toBe(before);
    for (let i = 0; i < 64; i++) t.setMany([[keys[i]!, Buffer.from(`w${i}`)]]);
    expect(hex(root)).toBe(before);
    expect(encodeCsmtProof(proof)).toEqual(proofBefore);
    expect(hex(t.root())).toBe(hex(naive(keys.map((k, i) => [k, Buffer.from(`w${i}`)] as [Buffer, Buffer]).sort((a, b) => Buffer.compare(a[0], b[0])))));
  });
});
