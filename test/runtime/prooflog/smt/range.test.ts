/**
 * The sparse Merkle tree's key-range proofs (runtime/prooflog/smt/range.ts) on their own: for any tree and bounds
 * the proof lists exactly the keys in [lo, hi] and verifies; an entry dropped from the middle (or anywhere),
 * one slipped in, a value altered, an outside hash dropped or a bound widened over more keys is refused.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { SparseMerkleTree, verifyRangeProof } from "../../../../runtime/prooflog/index.js";

// 32-byte keys that share long prefixes: a few distinct leading and trailing bytes, zeros between.
const key = fc.tuple(fc.constantFrom(0x00, 0x01, 0x80, 0xff), fc.constantFrom(0x00, 0x01, 0x7f), fc.nat(7)).map(([a, b, c]) => {
  const k = Buffer.alloc(32);
  k[0] = a;
  k[1] = b;
  k[31] = c;
  return k;
});
const contents = fc.uniqueArray(fc.tuple(key, fc.uint8Array({ minLength: 1, maxLength: 8 })), { selector: ([k]) => k.toString("hex"), maxLength: 30 });

describe("SMT key-range proofs", () => {
  it("list exactly the keys in [lo, hi] and verify; a dropped, added or altered entry or a moved bound is refused", () => {
    fc.assert(
      fc.property(contents, key, key, fc.nat(), key, (entries, a, b, pick, fake) => {
        const t = new SparseMerkleTree();
        for (const [k, v] of entries) t.set(k, v);
        const [lo, hi] = Buffer.compare(a, b) <= 0 ? [a, b] : [b, a];
        const root = t.root();
        const p = t.proveRange(lo, hi);
        const want = entries
          .map(([k]) => k)
          .filter((k) => Buffer.compare(k, lo) >= 0 && Buffer.compare(k, hi) <= 0)
          .sort(Buffer.compare);
        expect(p.entries.map((e) => Buffer.from(e.key).toString("hex"))).toEqual(want.map((k) => k.toString("hex")));
        expect(verifyRangeProof(root, lo, hi, p)).toBe(true);

        const n = p.entries.length;
        if (n >= 3) {
          const middle = 1 + (pick % (n - 2));
          expect(verifyRangeProof(root, lo, hi, { ...p, entries: p.entries.filter((_, i) => i !== middle) })).toBe(false);
        }
        if (n > 0) {
          const i = pick % n;
          expect(verifyRangeProof(root, lo, hi, { ...p, entries: p.entries.filter((_, j) => j !== i) })).toBe(false);
          const altered = p.entries.map((e, j) => (j === i ? { key: e.key, value: Uint8Array.of(...e.value, 1) } : e));
          expect(verifyRangeProof(root, lo, hi, { ...p, entries: altered })).toBe(false);
        }
        if (Buffer.compare(fake, lo) >= 0 && Buffer.compare(fake, hi) <= 0 && t.get(fake) === undefined) {
          const added = [...p.entries, { key: fake, value: Uint8Array.of(9) }].sort((x, y) => Buffer.compare(Buffer.from(x.key), Buffer.from(y.key)));
          expect(verifyRangeProof(root, lo, hi, { ...p, entries: added })).toBe(false);
        }
        if (p.outside.length > 0) expect(verifyRangeProof(root, lo, hi, { ...p, outside: p.outside.slice(0, -1) })).toBe(false);
        const wider = Buffer.alloc(32);
        const more = entries.filter(([k]) => Buffer.compare(k, hi) <= 0).length > n;
        if (more) expect(verifyRangeProof(root, wider, hi, p)).toBe(false);
      }),
      { numRuns: 60 },
    );
  });
});
