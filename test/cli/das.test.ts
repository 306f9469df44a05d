/**
 * `meridian das` in process (test/cli-in-process.ts; `das serve` through the bin), once per command and exit code: the done-when cases of issue 20 (decode from
 * k of n shards for 4/8 and 16/32, refuse with fewer naming the missing shards, detect a tampered shard), sampling,
 * serving, and usage errors (exit 2). Any-k-of-n over random subsets, truncated shards and malformed commitment
 * files are test/runtime/das/files.test.ts (in-process, over the same files).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { encodeBlob, writeEncoded } from "../../runtime/das/index.js";
import { killServers, serveCli } from "../cli.js";
import { runCliInProcess } from "../cli-in-process.js";

const root = mkdtempSync(join(tmpdir(), "das-cli-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let seq = 0;
const scratch = (name: string) => join(root, `${name}-${seq++}`);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** A file of `size` pseudo-random bytes (fixed seed: reruns see the same data). */
function sampleFile(size: number): string {
  const file = scratch("in");
  let x = 12345;
  writeFileSync(
    file,
    Uint8Array.from({ length: size }, () => (x = (x * 1103515245 + 12345) >>> 0) >>> 24),
  );
  return file;
}

async function encode(k: number, n: number, file: string): Promise<string> {
  const dir = scratch(`enc-${k}-${n}`);
  const r = await runCliInProcess(["das", "encode", "--k", String(k), "--n", String(n), file, dir]);
  expect(r.status, r.stderr).toBe(0);
  return dir;
}

/** What `das encode` writes, written in-process (for the cases about the other commands). */
function encoded(k: number, n: number, file: string): string {
  const dir = scratch(`enc-${k}-${n}`);
  writeEncoded(dir, encodeBlob(readFileSync(file), k, n));
  return dir;
}

describe("meridian das", () => {
  for (const [k, n, size] of [
    [4, 8, 10_000],
    [16, 32, 40_001],
  ] as const) {
    it(`k=${k} n=${n}: decodes from any ${k} surviving shards; refuses with ${k - 1}, naming the missing shards`, async () => {
      const file = sampleFile(size);
      const encoded = await encode(k, n, file);
      expect(readFileSync(join(encoded, "0")).length).toBe(Math.ceil(size / k));
      const commitment = JSON.parse(readFileSync(join(encoded, "commitment.json"), "utf8")) as Record<string, unknown>;
      expect(commitment).toMatchObject({ k, n, length: size, shardSize: Math.ceil(size / k) });
      expect(commitment.root).toMatch(/^[0-9a-f]{64}$/);
      // The last k shards: parity ones among them for both shapes.
      const keep = range(n).slice(n - k);
      const dir = scratch("dec");
      cpSync(encoded, dir, { recursive: true });
      for (const i of range(n)) if (!keep.includes(i)) rmSync(join(dir, String(i)));
      const out = join(dir, "out");
      const ok = await runCliInProcess(["das", "decode", "--k", String(k), "--n", String(n), dir, out]);
      expect(ok.status, ok.stderr).toBe(0);
      expect(readFileSync(out).equals(readFileSync(file))).toBe(true);

      rmSync(out);
      rmSync(join(dir, String(keep[0])));
      const missing = range(n).filter((i) => !keep.slice(1).includes(i));
      const refused = await runCliInProcess(["das", "decode", "--k", String(k), "--n", String(n), dir, out]);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain(`need ${k} of ${n} shards that match the commitment, have ${k - 1}; missing: ${missing.join(", ")}`);
    });
  }

  it("detects a tampered shard: excluded and reported (exit 3) when k good ones remain, refused when not", async () => {
    const file = sampleFile(5000);
    const dir = encoded(4, 8, file);
    const shard = readFileSync(join(dir, "5"));
    shard[100]! ^= 0x40;
    writeFileSync(join(dir, "5"), shard);
    for (const i of [0, 1]) rmSync(join(dir, String(i)));
    const out = join(dir, "out");
    const r = await runCliInProcess(["das", "decode", "--k", "4", "--n", "8", dir, out]);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/shard 5 fails its inclusion proof/);
    expect(r.stdout).toMatch(/missing: 0, 1; excluded \(failed their proof\): 5/);
    expect(readFileSync(out).equals(readFileSync(file))).toBe(true);

    for (const i of [2, 3]) rmSync(join(dir, String(i)));
    rmSync(out);
    const refused = await runCliInProcess(["das", "decode", "--k", "4", "--n", "8", dir, out]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("have 3; missing: 0, 1, 2, 3; failing their proof: 5");
  });

  it("sample checks random shards against the commitment and prints the bound", async () => {
    const dir = encoded(4, 8, sampleFile(3000));
    const r = await runCliInProcess(["das", "sample", "--samples", "2", "--seed", "7", dir]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^sampled 2 of 8 shards without replacement: \d ok, \d ok\n/);
    expect(r.stdout).toContain("≤ 0.107143 (without replacement: C(3,2)/C(8,2))"); // 3/8 · 2/7 = 3/28
    expect(r.stdout).toContain("((k-1)/n)^s = 0.140625"); // (3/8)²
    const json = JSON.parse((await runCliInProcess(["das", "sample", "--samples", "8", "--json", dir])).stdout) as { available: boolean; samples: unknown[]; bound: { withoutReplacement: number } };
    expect(json.available).toBe(true);
    expect(json.samples).toHaveLength(8);
    expect(json.bound.withoutReplacement).toBe(0);

    rmSync(join(dir, "3"));
    const gone = await runCliInProcess(["das", "sample", "--samples", "8", dir]);
    expect(gone.status).toBe(1);
    expect(gone.stdout).toContain("3 MISSING");
    expect(gone.stderr).toMatch(/shard 3 is missing\n.*1 of 8 samples failed/);
  });

  it("usage mistakes exit 2 with a message naming the input", async () => {
    const file = sampleFile(100);
    const dir = encoded(2, 3, file);
    const cases: [string[], RegExp][] = [
      [["das", "encode", "--k", "5", "--n", "4", file, scratch("x")], /--k 5 is greater than --n 4/],
      [["das", "encode", "--k", "4", "--n", "257", file, scratch("x")], /--n 257: expected an integer from 1 to 256/],
      [["das", "encode", "--k", "2", "--n", "4", join(root, "nope"), scratch("x")], /nope: no such file to encode/],
      [["das", "decode", "--k", "2", "--n", "4", dir, scratch("out")], /--k 2 --n 4 do not match .*commitment\.json \(k 2, n 3\)/],
      [["das", "decode", "--k", "2", "--n", "3", join(root, "nodir"), scratch("out")], /commitment\.json: no such file/],
      [["das", "sample", "--samples", "4", dir], /--samples 4: at most n = 3/],
      [["das", "sample", "--samples", "1", join(root, "nodir")], /commitment\.json: no such file/],
    ];
    for (const [args, message] of cases) {
      const r = await runCliInProcess(args);
      expect([r.status, args.join(" ")]).toEqual([2, args.join(" ")]);
      expect(r.stderr).toMatch(message);
    }
  });
});

describe("meridian das serve", () => {
  afterAll(killServers);

  it("serves shards with proofs; sample --from checks them against the trusted root and names withheld ones", async () => {
    const dir = encoded(4, 8, sampleFile(4000));
    const root = (JSON.parse(readFileSync(join(dir, "commitment.json"), "utf8")) as { root: string }).root;
    const { url } = await serveCli(["das", "serve", "--dir", dir, "--port", "0"]);
    expect(await (await fetch(`${url}/v1/das/commitment`)).json()).toMatchObject({ k: 4, n: 8, length: 4000, shardSize: 1000, root });
    expect((await fetch(`${url}/v1/das/shards/8`)).status).toBe(400);

    const ok = await runCliInProcess(["das", "sample", "--samples", "8", "--from", url, "--root", root]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^sampled 8 of 8 shards without replacement: (\d ok(, )?){8}\n/);

    rmSync(join(dir, "6")); // withheld from now on
    const gone = await runCliInProcess(["das", "sample", "--samples", "8", "--from", url, "--root", root]);
    expect(gone.status).toBe(1);
    expect(gone.stderr).toContain("shard 6 is missing (HTTP 404)");

    // A root the client trusts that the server's shards do not lead to: every sample fails.
    const other = `${root.slice(0, 63)}${root.endsWith("0") ? "1" : "0"}`;
    const wrong = await runCliInProcess(["das", "sample", "--samples", "2", "--from", url, "--root", other]);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/fails its inclusion proof against the trusted root/);
    expect((await runCliInProcess(["das", "sample", "--samples", "2", "--from", url])).status).toBe(2);
  });
});
