/**
 * Properties of the trie and its single-key proofs: the root depends on the contents only (not insertion order,
 * not keys inserted then deleted), proofs round-trip for present and absent keys in plain and secure tries, and a
 * proof with a node altered, dropped, added or checked against another root is refused.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { bytesToHex } from "@noble/hashes/utils.js";
import { MerklePatriciaTrie, MptProofError, verifyProof } from "../../../runtime/mpt/index.js";

// Keys from a small alphabet share long prefixes, so extensions, branch values and splits all occur; values of
// 1..40 bytes give nodes both under 32 bytes (embedded in their parent) and over (referenced by hash).
const key = fc.uint8Array({ minLength: 0, maxLength: 4 }).map((b) => b.map((x) => [0x00, 0x01, 0x10, 0x11, 0xff][x % 5]!));
const value = fc.uint8Array({ minLength: 1, maxLength: 40 });
const contents = fc.uniqueArray(fc.tuple(key, value), { selector: ([k]) => bytesToHex(k), maxLength: 40 });
const hex = (b: Uint8Array) => bytesToHex(b);

function build(entries: readonly (readonly [Uint8Array, Uint8Array])[], secure = false): MerklePatriciaTrie {
  const t = new MerklePatriciaTrie({ secure });
  for (const [k, v] of entries) t.put(k, v);
  return t;
}

describe("trie roots", () => {
  it("do not depend on insertion order, nor on keys inserted and deleted again", () => {
    fc.assert(
      fc.property(contents, fc.infiniteStream(fc.nat()), contents, fc.boolean(), (entries, rand, extra, secure) => {
        const a = build(entries, secure);
        const shuffled = [...entries].sort(() => (rand.next().value % 3) - 1);
        const b = build(shuffled, secure);
        const present = new Set(entries.map(([k]) => hex(k)));
        const transient = extra.filter(([k]) => !present.has(hex(k)));
        const c = build([...transient, ...entries], secure);
        for (const [k] of transient) c.delete(k);
        expect(hex(b.rootHash())).toBe(hex(a.rootHash()));
        expect(hex(c.rootHash())).toBe(hex(a.rootHash()));
        // Deleting everything leaves the empty trie; get() reads back what was put.
        for (const [k, v] of entries) expect(a.get(k)).toEqual(v);
        for (const [k] of entries) a.delete(k);
        expect(hex(a.rootHash())).toBe(hex(new MerklePatriciaTrie().rootHash()));
      }),
      { numRuns: 200 },
    );
  });

  it("an empty value deletes, as in go-ethereum", () => {
    const t = build([[Uint8Array.of(1), Uint8Array.of(2)]]);
    t.put(Uint8Array.of(1), new Uint8Array(0));
    expect(t.get(Uint8Array.of(1))).toBeNull();
    expect(hex(t.rootHash())).toBe(hex(new MerklePatriciaTrie().rootHash()));
  });
});

describe("proofs", () => {
  it("round-trip for present and absent keys, plain and secure", () => {
    fc.assert(
      fc.property(contents, fc.array(key, { maxLength: 5 }), fc.boolean(), (entries, probes, secure) => {
        const t = build(entries, secure);
        const root = t.rootHash();
        for (const k of [...entries.map(([k]) => k), ...probes]) {
          const got = verifyProof(root, k, t.prove(k), { secure });
          expect(got === null ? null : hex(got)).toBe(t.get(k) === null ? null : hex(t.get(k)!));
        }
      }),
      { numRuns: 200 },
    );
  });

  it("are refused when a node is altered, dropped or added, or the root is another trie's", () => {
    fc.assert(
      fc.property(
        contents.filter((e) => e.length > 0),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        key,
        (entries, pick, at, xor, probe) => {
          const t = build(entries);
          const root = t.rootHash();
          const k = pick % 2 === 0 ? entries[pick % entries.length]![0] : probe;
          const proof = t.prove(k);
          const i = pick % proof.length;

          const altered = proof.map((n) => Uint8Array.from(n));
          altered[i]![at % altered[i]!.length]! ^= xor;
          expect(() => verifyProof(root, k, altered)).toThrow(MptProofError);

          const dropped = proof.filter((_, j) => j !== i);
          expect(() => verifyProof(root, k, dropped)).toThrow(MptProofError);

          const other = build([...entries, [Uint8Array.of(0xab, 0xcd, 0xef), Uint8Array.of(1, 2, 3)]]);
          const added = [...proof, ...other.prove(Uint8Array.of(0xab, 0xcd, 0xef)).filter((n) => !proof.some((p) => hex(p) === hex(n)))];
          if (added.length > proof.length) expect(() => verifyProof(root, k, added)).toThrow(/not on the proven path/);
          expect(() => verifyProof(other.rootHash(), k, proof)).toThrow(MptProofError);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("name the missing node and refuse garbage", () => {
    const t = build([
      [Uint8Array.of(1, 2), new Uint8Array(40).fill(7)],
      [Uint8Array.of(1, 3), new Uint8Array(40).fill(8)],
    ]);
    const proof = t.prove(Uint8Array.of(1, 2));
    expect(() => verifyProof(t.rootHash(), Uint8Array.of(1, 2), proof.slice(0, 1))).toThrow(/proof lacks the node with hash 0x[0-9a-f]{64} at nibble/);
    expect(() => verifyProof(t.rootHash(), Uint8Array.of(1, 2), [])).toThrow(/proof lacks the node with hash .* for the root/);
    expect(() => verifyProof(new Uint8Array(31), Uint8Array.of(1, 2), proof)).toThrow(/root is 31 bytes/);
  });
});
