/**
 * Reed–Solomon encode/decode. The known encoding is Backblaze JavaReedSolomon's ReedSolomonTest.testOneEncode
 * (5 data + 5 parity shards of 2 bytes; klauspost/reedsolomon builds the same Vandermonde matrix and gives the same
 * parity), so our parity bytes interoperate with theirs. Property tests: any k of n shards rebuild the data.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DasError, decodeBlob, encodeBlob, ReedSolomon } from "../../../runtime/das/index.js";
import { commit } from "../../../runtime/das/core/commitment.js";
import { invert, multiply, vandermonde } from "../../../runtime/das/core/matrix.js";

/** A random subset of size `size` of 0..n−1 (fast-check shrinks it). */
const subsetOf = (n: number, size: number) =>
  fc.shuffledSubarray(
    Array.from({ length: n }, (_, i) => i),
    { minLength: size, maxLength: size },
  );

describe("Reed–Solomon over GF(2^8)", () => {
  it("gives Backblaze's parity for their 5+5 example", () => {
    const rs = new ReedSolomon(5, 10);
    const data = [
      [0, 1],
      [4, 5],
      [2, 3],
      [6, 7],
      [8, 9],
    ].map((d) => Uint8Array.from(d));
    expect(rs.encodeParity(data).map((p) => [...p])).toEqual([
      [12, 13],
      [10, 11],
      [14, 15],
      [90, 91],
      [94, 95],
    ]);
  });

  it("is systematic: the top k rows of the encoding matrix are the identity", () => {
    const rs = new ReedSolomon(4, 8);
    rs.matrix.slice(0, 4).forEach((row, r) => expect([...row]).toEqual([0, 1, 2, 3].map((c) => (c === r ? 1 : 0))));
  });

  it("inverts matrices: M · M⁻¹ = I for Vandermonde squares", () => {
    const v = vandermonde(6, 6);
    expect(multiply(v, invert(v)).map((r) => [...r])).toEqual(Array.from({ length: 6 }, (_, i) => Array.from({ length: 6 }, (_, j) => (i === j ? 1 : 0))));
  });

  it("rebuilds the data from any k of n shards (small k, n)", () => {
    const params = fc
      .tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 12 }), fc.integer({ min: 1, max: 40 }))
      .chain(([k, extra, size]) =>
        fc.record({ k: fc.constant(k), n: fc.constant(k + extra), data: fc.array(fc.uint8Array({ minLength: size, maxLength: size }), { minLength: k, maxLength: k }), keep: subsetOf(k + extra, k) }),
      );
    fc.assert(
      fc.property(params, ({ k, n, data, keep }) => {
        const rs = new ReedSolomon(k, n);
        const all = rs.encode(data);
        const survivors = all.map((s, i) => (keep.includes(i) ? s : undefined));
        expect(rs.reconstructData(survivors).map((d) => [...d])).toEqual(data.map((d) => [...d]));
      }),
      { numRuns: 200 },
    );
  });

  it("rejects bad shapes", () => {
    expect(() => new ReedSolomon(5, 4)).toThrow(/n must be an integer ≥ k/);
    expect(() => new ReedSolomon(4, 257)).toThrow(/n must be ≤ 256/);
    expect(() => new ReedSolomon(0, 4)).toThrow(/k must be/);
    expect(new ReedSolomon(200, 256).n).toBe(256);
  });
});

describe("blobs with a Merkle commitment", () => {
  for (const [k, n] of [
    [4, 8],
    [16, 32],
  ] as const) {
    it(`k=${k} n=${n}: any ${k} shards rebuild the blob; fewer are refused naming the missing ones`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 0, maxLength: 3000 }), subsetOf(n, k), fc.integer({ min: 0, max: n - k }), (blob, keep, more) => {
          const { shards, commitment } = encodeBlob(blob, k, n);
          const extra = Array.from({ length: n }, (_, i) => i)
            .filter((i) => !keep.includes(i))
            .slice(0, more);
          const present = new Set([...keep, ...extra]);
          const decoded = decodeBlob(
            commitment,
            shards.map((s, i) => (present.has(i) ? s : undefined)),
          );
          expect(Buffer.from(decoded.blob).equals(Buffer.from(blob))).toBe(true);
          expect(decoded.missing).toEqual(Array.from({ length: n }, (_, i) => i).filter((i) => !present.has(i)));
          const fewer = new Set(keep.slice(1));
          const tooFew = shards.map((s, i) => (fewer.has(i) ? s : undefined));
          const absent = Array.from({ length: n }, (_, i) => i).filter((i) => !fewer.has(i));
          expect(() => decodeBlob(commitment, tooFew)).toThrow(`need ${k} of ${n} shards that match the commitment, have ${k - 1}; missing: ${absent.join(", ")}`);
        }),
        { numRuns: 60 },
      );
    });
  }

  it("excludes a tampered shard and still decodes from the rest; refuses when that leaves fewer than k", () => {
    const blob = Uint8Array.from({ length: 1000 }, (_, i) => (i * 31) & 0xff);
    const { shards, commitment } = encodeBlob(blob, 4, 8);
    const tampered = shards.map((s) => Uint8Array.from(s));
    tampered[2]![7]! ^= 1;
    const d = decodeBlob(commitment, tampered);
    expect(Buffer.from(d.blob).equals(Buffer.from(blob))).toBe(true);
    expect(d.bad.map((b) => b.index)).toEqual([2]);
    const fewer = tampered.map((s, i) => (i < 4 ? s : undefined));
    expect(() => decodeBlob(commitment, fewer)).toThrow(/have 3; missing: 4, 5, 6, 7; failing their proof: 2/);
  });

  it("refuses a commitment over shards that are not one codeword, whichever k survive", () => {
    const { shards } = encodeBlob(
      Uint8Array.from({ length: 64 }, (_, i) => i),
      4,
      8,
    );
    shards[6]![0]! ^= 0xff; // a dishonest encoder commits to a corrupted parity shard
    const dishonest = commit(shards, 4, 64);
    expect(() => decodeBlob(dishonest, shards)).toThrow(/not one Reed–Solomon codeword/);
    expect(() =>
      decodeBlob(
        dishonest,
        shards.map((s, i) => (i >= 4 ? s : undefined)),
      ),
    ).toThrow(DasError);
  });
});
