/**
 * Key-range proofs: for any trie and bounds the proof verifies and lists exactly the keys in [lo, hi]; dropping an
 * entry (from the middle or an end), adding one, altering a value, or moving a bound is refused.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { bytesToHex } from "@noble/hashes/utils.js";
import { checkRangeProof, MerklePatriciaTrie, MptProofError, proveRange, verifyRangeProof, type RangeProof } from "../../../runtime/mpt/index.js";

const key = fc.uint8Array({ minLength: 0, maxLength: 4 }).map((b) => b.map((x) => [0x00, 0x01, 0x10, 0x11, 0xff][x % 5]!));
const value = fc.uint8Array({ minLength: 1, maxLength: 40 });
const contents = fc.uniqueArray(fc.tuple(key, value), { selector: ([k]) => bytesToHex(k), maxLength: 40 });
const cmp = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b));

function build(entries: readonly (readonly [Uint8Array, Uint8Array])[], secure = false): MerklePatriciaTrie {
  const t = new MerklePatriciaTrie({ secure });
  for (const [k, v] of entries) t.put(k, v);
  return t;
}

/** Bounds drawn from the trie's own keys or arbitrary keys, ordered. */
const bounds = (extra: Uint8Array[], t: MerklePatriciaTrie, i: number, j: number): [Uint8Array, Uint8Array] => {
  const pool = [...[...t.entries()].map((e) => e.key), ...extra];
  const a = pool[i % pool.length]!;
  const b = pool[j % pool.length]!;
  return cmp(a, b) <= 0 ? [a, b] : [b, a];
};

describe("MPT key-range proofs", () => {
  it("verify, and list exactly the trie's keys in [lo, hi]", () => {
    fc.assert(
      fc.property(contents, fc.array(key, { minLength: 2, maxLength: 4 }), fc.nat(), fc.nat(), (entries, extra, i, j) => {
        const t = build(entries);
        const [lo, hi] = bounds(extra, t, i, j);
        const p = proveRange(t, lo, hi);
        const want = entries.filter(([k]) => cmp(k, lo) >= 0 && cmp(k, hi) <= 0).map(([k]) => bytesToHex(k));
        expect(p.entries.map((e) => bytesToHex(e.key)).sort()).toEqual(want.sort());
        checkRangeProof(t.rootHash(), p);
      }),
      { numRuns: 300 },
    );
  });

  it("refuse an entry dropped, added or altered, a bound moved, or a boundary node missing", () => {
    fc.assert(
      fc.property(
        contents.filter((e) => e.length >= 2),
        fc.array(key, { minLength: 2, maxLength: 4 }),
        fc.nat(),
        fc.nat(),
        fc.nat(),
        key,
        (entries, extra, i, j, pick, fake) => {
          const t = build(entries);
          const root = t.rootHash();
          const [lo, hi] = bounds(extra, t, i, j);
          const p = proveRange(t, lo, hi);
          const n = p.entries.length;
          if (n > 0) {
            const drop = pick % n;
            expect(verifyRangeProof(root, { ...p, entries: p.entries.filter((_, x) => x !== drop) })).toBe(false);
            const altered = p.entries.map((e, x) => (x === drop ? { key: e.key, value: Uint8Array.of(...e.value, 1) } : e));
            expect(verifyRangeProof(root, { ...p, entries: altered })).toBe(false);
          }
          // A key in the range the trie does not hold, slipped in.
          if (cmp(fake, lo) >= 0 && cmp(fake, hi) <= 0 && t.get(fake) === null) {
            const added = [...p.entries, { key: fake, value: Uint8Array.of(9) }].sort((a, b) => cmp(a.key, b.key));
            expect(verifyRangeProof(root, { ...p, entries: added })).toBe(false);
          }
          if (p.proof.length > 1) expect(verifyRangeProof(root, { ...p, proof: p.proof.filter((_, x) => x !== pick % p.proof.length) })).toBe(false);
          // Claiming a wider range with the same entries: refused when the widened range holds more keys.
          const wider: RangeProof = { ...p, lo: new Uint8Array(0) };
          if ([...t.entries()].filter((e) => cmp(e.key, hi) <= 0).length > n) expect(verifyRangeProof(root, wider)).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("work over a secure trie's hashed keys", () => {
    const t = build(
      Array.from({ length: 200 }, (_, i) => [Buffer.from(`account-${i}`), Buffer.from(`balance-${i}`)] as const),
      true,
    );
    const keys = [...t.entries()].map((e) => e.key);
    const p = proveRange(t, keys[50]!, keys[80]!);
    expect(p.entries).toHaveLength(31);
    checkRangeProof(t.rootHash(), p);
    const middle = { ...p, entries: p.entries.filter((_, x) => x !== 15) };
    expect(() => checkRangeProof(t.rootHash(), middle)).toThrow(/an entry in the range was dropped, added or altered/);
  });

  it("name malformed claims", () => {
    const t = build([
      [Uint8Array.of(1), Uint8Array.of(1)],
      [Uint8Array.of(2), Uint8Array.of(2)],
      [Uint8Array.of(3), Uint8Array.of(3)],
    ]);
    const p = proveRange(t, Uint8Array.of(1), Uint8Array.of(2));
    const root = t.rootHash();
    expect(() => checkRangeProof(root, { ...p, entries: [...p.entries].reverse() })).toThrow(/entry 1 .* is not above the entry before it/);
    expect(() => checkRangeProof(root, { ...p, entries: [...p.entries, { key: Uint8Array.of(3), value: Uint8Array.of(3) }] })).toThrow(/entry 2 .* lies outside the range/);
    expect(() => checkRangeProof(root, { ...p, lo: Uint8Array.of(3) })).toThrow(MptProofError);
  });
});
