/**
 * Properties of the Verkle tree and its proofs (small trees: every commitment costs real pairing-curve work). Keys
 * draw their stems from a tiny alphabet so that stems share prefixes and every kind of path occurs — a stem's own
 * leaf, an empty slot, another stem's leaf — and several keys share a stem. The root depends on the contents only;
 * a multi-key proof verifies exactly the tree's values and absences; any other claimed value, any altered byte of
 * the proof, another root, or a proof moved to other keys is refused.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { proofSize, VerkleError, VerkleProofError, VerkleTree, verifyProof, type VerkleProof } from "../../../runtime/verkle/index.js";

const key = fc.tuple(fc.constantFrom(0, 1, 2), fc.constantFrom(0, 1), fc.constantFrom(0, 0x80), fc.constantFrom(0, 1, 255)).map(([a, b, c, suffix]) => {
  const k = new Uint8Array(32);
  k.set([a, b, c]);
  k[31] = suffix;
  return k;
});
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const value = fc.uint8Array({ minLength: 0, maxLength: 40 });
const contents = fc.uniqueArray(fc.tuple(key, value), { selector: ([k]) => hex(k), minLength: 1, maxLength: 8 });
const RUNS = { numRuns: 4 };

function build(entries: readonly (readonly [Uint8Array, Uint8Array])[]): VerkleTree {
  const t = new VerkleTree();
  for (const [k, v] of entries) t.put(k, v);
  return t;
}
const claims = (t: VerkleTree, keys: readonly Uint8Array[]) => keys.map((k) => ({ key: k, value: t.get(k) ?? null }));
const EMPTY_ROOT = `c0${"00".repeat(47)}`;

describe("Verkle roots", () => {
  it("do not depend on insertion order, nor on keys inserted and deleted again", () => {
    fc.assert(
      fc.property(contents, contents, (entries, extra) => {
        const a = build(entries);
        const present = new Set(entries.map(([k]) => hex(k)));
        const transient = extra.filter(([k]) => !present.has(hex(k)));
        const b = build([...transient, ...[...entries].reverse()]);
        for (const [k] of transient) expect(b.delete(k)).toBe(true);
        expect(hex(b.root())).toBe(hex(a.root()));
        for (const [k, v] of entries) expect(a.get(k)).toEqual(v);
        expect(a.size).toBe(entries.length);
        for (const [k] of entries) a.delete(k);
        expect(hex(a.root())).toBe(EMPTY_ROOT);
      }),
      RUNS,
    );
  });

  it("change when any value changes", () => {
    const t = build([[new Uint8Array(32), Uint8Array.of(1)]]);
    const before = hex(t.root());
    t.put(new Uint8Array(32), Uint8Array.of(2));
    expect(hex(t.root())).not.toBe(before);
    expect(() => t.put(new Uint8Array(31), Uint8Array.of(1))).toThrow(/31 bytes; a Verkle key is 32/);
  });
});

describe("Verkle bulk build", () => {
  it("builds the tree that puts build, entry by entry: same root, values and size, and its proofs verify", () => {
    // Keys may repeat (the later entry wins, as with put); several suffixes share a stem; stems share prefixes.
    const listed = fc.array(fc.tuple(key, value), { minLength: 0, maxLength: 10 });
    fc.assert(
      fc.property(listed, key, (entries, absent) => {
        const bulk = VerkleTree.fromEntries(entries);
        const one = build(entries);
        expect(hex(bulk.root())).toBe(hex(one.root()));
        expect(bulk.size).toBe(one.size);
        expect([...bulk.entries()].map(([k, v]) => hex(k) + hex(v))).toEqual([...one.entries()].map(([k, v]) => hex(k) + hex(v)));
        const keys = [...new Map([...entries.map(([k]) => k), absent].map((k) => [hex(k), k])).values()];
        expect(() => verifyProof(bulk.root(), claims(bulk, keys), bulk.prove(keys))).not.toThrow();
        // It stays an ordinary tree: a put afterwards moves the root as it moves the other's.
        bulk.put(absent, Uint8Array.of(7));
        one.put(absent, Uint8Array.of(7));
        expect(hex(bulk.root())).toBe(hex(one.root()));
      }),
      RUNS,
    );
    expect(() => VerkleTree.fromEntries([[new Uint8Array(33), Uint8Array.of(1)]])).toThrow(/33 bytes; a Verkle key is 32/);
  });
});

describe("Verkle proofs", () => {
  it("verify exactly the tree's values and absences for any set of keys, and refuse any other claim", () => {
    fc.assert(
      fc.property(contents, fc.uniqueArray(key, { selector: hex, minLength: 1, maxLength: 5 }), fc.nat(), value, (entries, queried, pick, other) => {
        const t = build(entries);
        const root = t.root();
        const keys = [...queried, entries[0]![0]].filter((k, i, all) => all.findIndex((x) => hex(x) === hex(k)) === i);
        const proof = t.prove(keys);
        const truth = claims(t, keys);
        expect(() => verifyProof(root, truth, proof)).not.toThrow();
        expect(proofSize(proof)).toBe(keys.length + 31 * proof.otherStems.length + 48 * proof.commitments.length + 96);
        // One claim changed: a different value, a present key claimed absent, an absent key claimed present.
        const i = pick % keys.length;
        const wrong = truth.map((c, j) => (j !== i ? c : { key: c.key, value: c.value === null ? other : hex(c.value) === hex(other) ? null : other }));
        expect(() => verifyProof(root, wrong, proof)).toThrow(VerkleProofError);
      }),
      RUNS,
    );
  });

  it("refuse a proof with any byte altered", () => {
    const parts = (p: VerkleProof) => [p.depthStatus, ...p.otherStems, ...p.commitments, p.d, p.pi];
    fc.assert(
      fc.property(contents, fc.nat(), fc.integer({ min: 1, max: 255 }), (entries, at, flip) => {
        const t = build(entries);
        const keys = [entries[0]![0], Uint8Array.from({ length: 32 }, (_, j) => (j === 0 ? 2 : j === 31 ? 7 : 0))];
        const proof = t.prove(keys);
        const bytes = parts(proof);
        const total = bytes.reduce((s, b) => s + b.length, 0);
        let pos = at % total;
        const tampered = bytes.map((b) => Uint8Array.from(b));
        for (const b of tampered) {
          if (pos < b.length) {
            b[pos]! ^= flip;
            break;
          }
          pos -= b.length;
        }
        const [depthStatus, ...rest] = tampered;
        const p = { depthStatus: depthStatus!, otherStems: rest.slice(0, proof.otherStems.length), commitments: rest.slice(proof.otherStems.length, -2), d: rest.at(-2)!, pi: rest.at(-1)! };
        expect(() => verifyProof(t.root(), claims(t, keys), p)).toThrow(VerkleError);
      }),
      RUNS,
    );
  });

  it("cover the three kinds of path and refuse another root, other keys, and a missing or extra commitment", () => {
    const k = (a: number, b: number, suffix = 0) => Uint8Array.from({ length: 32 }, (_, j) => (j === 0 ? a : j === 1 ? b : j === 31 ? suffix : 0));
    const t = build([
      [k(1, 0), Uint8Array.of(10)],
      [k(1, 1), Uint8Array.of(11)],
      [k(2, 0), Uint8Array.of(20)],
    ]);
    const root = t.root();
    // present (depth 2), same stem other suffix (absent value), another stem's leaf (depth 1), empty slot (depth 1 and 2)
    const keys = [k(1, 0), k(1, 0, 9), k(2, 5), k(3, 0), k(1, 7)];
    const proof = t.prove(keys);
    expect([...proof.depthStatus]).toEqual([(2 << 3) | 2, (2 << 3) | 2, (1 << 3) | 1, (1 << 3) | 0, (2 << 3) | 0]);
    expect(proof.otherStems.map(hex)).toEqual([hex(k(2, 0).subarray(0, 31))]);
    expect(() => verifyProof(root, claims(t, keys), proof)).not.toThrow();
    expect(claims(t, keys).map((c) => c.value && hex(c.value))).toEqual(["0a", null, null, null, null]);

    const other = build([[k(1, 0), Uint8Array.of(10)]]);
    expect(() => verifyProof(other.root(), claims(t, keys), proof)).toThrow(/do not verify against the root/);
    expect(() => verifyProof(root, claims(t, [k(1, 1), ...keys.slice(1)]), proof)).toThrow(VerkleProofError);
    expect(() => verifyProof(root, claims(t, keys), { ...proof, commitments: proof.commitments.slice(1) })).toThrow(/carries 2 commitment\(s\); the keys' paths need 3/);
    expect(() => verifyProof(root, claims(t, keys), { ...proof, otherStems: [...proof.otherStems, new Uint8Array(31)] })).toThrow(/other stem\(s\) no key's path uses/);
    expect(() => verifyProof(root, claims(t, keys), { ...proof, otherStems: [k(1, 0).subarray(0, 31)] })).toThrow(/does not sit on the key's path/);
    expect(() => verifyProof(root, [...claims(t, keys), claims(t, keys)[0]!], proof)).toThrow(/listed twice/);
  });
});
