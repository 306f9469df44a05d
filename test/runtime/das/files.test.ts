/**
 * An encoded blob on disk (files.ts) as `meridian das encode|decode|sample` use it, in-process: shard files removed,
 * tampered or truncated, and commitment.json missing or malformed. test/cli/das.test.ts runs the commands once per
 * exit code on top of this.
 */
import fc from "fast-check";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkShard, decodeBlob, encodeBlob, readCommitment, readShard, readShards, writeEncoded } from "../../../runtime/das/index.js";

const root = mkdtempSync(join(tmpdir(), "das-files-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let seq = 0;
const scratch = (name: string) => join(root, `${name}-${seq++}`);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** `size` pseudo-random bytes (fixed seed: reruns see the same data). */
function sample(size: number): Buffer {
  let x = 12345;
  return Buffer.from(Uint8Array.from({ length: size }, () => (x = (x * 1103515245 + 12345) >>> 0) >>> 24));
}

function encoded(k: number, n: number, blob: Uint8Array): string {
  const dir = scratch(`enc-${k}-${n}`);
  writeEncoded(dir, encodeBlob(blob, k, n));
  return dir;
}

describe("an encoded blob's files", () => {
  for (const [k, n, size] of [
    [4, 8, 10_000],
    [16, 32, 40_001],
  ] as const) {
    it(`k=${k} n=${n}: any ${k} surviving shard files rebuild it; ${k - 1} are refused, naming the missing shards`, () => {
      const blob = sample(size);
      const dir = encoded(k, n, blob);
      expect(readFileSync(join(dir, "0")).length).toBe(Math.ceil(size / k));
      const commitment = readCommitment(dir);
      expect(commitment).toMatchObject({ k, n, length: size, shardSize: Math.ceil(size / k) });
      expect(commitment.root).toMatch(/^[0-9a-f]{64}$/);
      fc.assert(
        fc.property(fc.shuffledSubarray(range(n), { minLength: k, maxLength: k }), (keep) => {
          const copy = scratch("dec");
          cpSync(dir, copy, { recursive: true });
          for (const i of range(n)) if (!keep.includes(i)) rmSync(join(copy, String(i)));
          expect(Buffer.from(decodeBlob(readCommitment(copy), readShards(copy, n)).blob).equals(blob)).toBe(true);

          rmSync(join(copy, String(keep[0])));
          const missing = range(n).filter((i) => !keep.slice(1).includes(i));
          expect(() => decodeBlob(readCommitment(copy), readShards(copy, n))).toThrow(`need ${k} of ${n} shards that match the commitment, have ${k - 1}; missing: ${missing.join(", ")}`);
        }),
        { numRuns: 4 },
      );
    });
  }

  it("a truncated shard file is caught by its size before any hashing; an absent one reads as undefined", () => {
    const dir = encoded(4, 8, sample(5000));
    writeFileSync(join(dir, "6"), readFileSync(join(dir, "6")).subarray(1));
    rmSync(join(dir, "3"));
    const c = readCommitment(dir);
    expect(checkShard(c, 6, readShard(dir, 6)!)).toBe("is 1249 bytes, expected 1250");
    expect(readShard(dir, 3)).toBeUndefined();
  });

  it("commitment.json missing, not JSON or not a commitment: an error naming the file and the fields", () => {
    expect(() => readCommitment(join(root, "nodir"))).toThrow(/nodir\/commitment\.json: no such file/);
    const dir = encoded(2, 3, sample(100));
    const c = JSON.parse(readFileSync(join(dir, "commitment.json"), "utf8")) as { proofs: string[][]; root: string };
    writeFileSync(join(dir, "commitment.json"), "{not json");
    expect(() => readCommitment(dir)).toThrow(/commitment\.json: not JSON/);
    writeFileSync(join(dir, "commitment.json"), JSON.stringify({ ...c, root: "xyz", proofs: c.proofs.slice(1) }));
    expect(() => readCommitment(dir)).toThrow(/not a commitment written by `meridian das encode`: root: expected 32 bytes.*proofs: expected 3 proofs, got 2/);
  });
});
