// `GET /proof/inclusion-batch` and `meridian log prove-batch|verify-batch` against a served log process: the route's
// proof equals the one built from an in-memory tree of the same entries, verifies under the signed checkpoint and
// is smaller than the single proofs the route next to it serves; the CLI bundle verifies offline, and a bundle
// with a hash removed or altered, an index changed, or an entry file that is not the logged entry is refused (exit 1).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killServers, serveCli } from "../cli.js";
import { runCliInProcess } from "../cli-in-process.js";
import { LogClient } from "../../runtime/prooflog/client.js";
import { generateKey, newVerifier } from "../../runtime/prooflog/note.js";
import { openCheckpoint } from "../../runtime/prooflog/checkpoint.js";
import { MerkleTree } from "../../runtime/prooflog/tree.js";
import { batchInclusionProof, verifyBatchInclusion } from "../../runtime/prooflog/proof/batch.js";

const ORIGIN = "meridian.test/batch-log";
const dir = mkdtempSync(join(tmpdir(), "log-batch-"));
const keys = generateKey(ORIGIN);
writeFileSync(join(dir, "log.key"), keys.signerKey);
const N = 300;
const entry = (i: number) => Buffer.from(`batch entry ${i}`);
let url = "";

beforeAll(async () => {
  ({ url } = await serveCli(["log", "serve", "--data", join(dir, "data"), "--port", "0", "--origin", ORIGIN, "--key", join(dir, "log.key"), "--checkpoint-interval", "20"]));
  const client = new LogClient(url);
  for (let i = 0; i < N; i++) await client.add(entry(i));
  for (;;) {
    if (Number((await client.checkpoint()).split("\n")[1]) >= N) break;
    await new Promise((r) => setTimeout(r, 20));
  }
});
afterAll(() => killServers());

describe("batch inclusion proofs over HTTP and the CLI", () => {
  it("GET /proof/inclusion-batch serves the reference proof, which verifies and undercuts the single proofs", async () => {
    const client = new LogClient(url);
    const { checkpoint } = openCheckpoint(await client.checkpoint(), [newVerifier(keys.verifierKey)], ORIGIN);
    const tree = new MerkleTree();
    for (let i = 0; i < checkpoint.size; i++) tree.appendEntry(entry(i));
    const indices = [3, 4, 5, 130, 257, 299];
    // Unsorted and repeated indices come back sorted and distinct.
    const got = await client.batchInclusionProof([257, 3, 5, 4, 130, 299, 5], checkpoint.size);
    expect(got.indices).toEqual(indices);
    expect(got.leafHashes.map((h) => h.toString("hex"))).toEqual(indices.map((i) => Buffer.from(tree.leafHash(i)).toString("hex")));
    expect(got.proof.map((h) => h.toString("hex"))).toEqual(batchInclusionProof(indices, checkpoint.size, tree.read).map((h) => Buffer.from(h).toString("hex")));
    verifyBatchInclusion(checkpoint.size, got.indices, got.leafHashes, got.proof, checkpoint.root);
    const singles = await Promise.all(indices.map((i) => client.inclusionProof(i, checkpoint.size)));
    expect(got.proof.length).toBeLessThan(singles.reduce((n, p) => n + p.length, 0));

    for (const [q, why] of [
      [`indices=1,${N}&size=${N}`, "index beyond size"],
      [`indices=1,x&size=${N}`, "comma-separated"],
      [`indices=&size=${N}`, "comma-separated"],
      [`indices=1&size=${N + 100}`, "size beyond tree"],
      [`indices=${[...Array(1025).keys()].join(",")}&size=${N}`, "at most 1024"],
    ] as const) {
      const res = await fetch(`${url}/proof/inclusion-batch?${q}`);
      expect(res.status, q.slice(0, 40)).toBe(400);
      expect(await res.text()).toContain(why);
    }
  });

  it("prove-batch writes a bundle verify-batch accepts offline; tampered bundles and wrong entries are refused", async () => {
    const bundle = join(dir, "batch.json");
    const made = await runCliInProcess(["log", "prove-batch", "--log", url, "--indices", "7,8,200", "--out", bundle]);
    expect(made.stderr).toBe("");
    expect(made.status).toBe(0);
    writeFileSync(join(dir, "e8"), entry(8));
    writeFileSync(join(dir, "wrong"), entry(9));
    const verify = (file: string, ...more: string[]) => runCliInProcess(["log", "verify-batch", "--proof", file, "--vkey", keys.verifierKey, ...more]);
    const ok = await verify(bundle, "--entry", `8=${join(dir, "e8")}`);
    expect(ok.stderr).toBe("");
    expect(ok.stdout).toMatch(new RegExp(`^ok: 3 entries \\(7, 8, 200\\) are in ${ORIGIN} at size ${N}; \\d+ proof hashes\\n$`));

    const b = JSON.parse(readFileSync(bundle, "utf8")) as { indices: number[]; proof: string[]; leafHashes: string[] };
    const flipped = (s: string) => {
      const h = Buffer.from(s, "base64");
      h[0]! ^= 1;
      return h.toString("base64");
    };
    const tampered: [string, object, RegExp][] = [
      ["hash removed", { proof: b.proof.slice(1) }, /wrong batch proof size/],
      ["hash altered", { proof: [flipped(b.proof[0]!), ...b.proof.slice(1)] }, /root mismatch/],
      ["index changed", { indices: [7, 9, 200] }, /root mismatch/],
      ["index removed", { indices: [7, 200], leafHashes: [b.leafHashes[0], b.leafHashes[2]] }, /wrong batch proof size|root mismatch/],
      ["leaf hash altered", { leafHashes: [b.leafHashes[0], flipped(b.leafHashes[1]!), b.leafHashes[2]] }, /root mismatch/],
    ];
    for (const [what, change, why] of tampered) {
      const file = join(dir, `${what.replace(/ /g, "-")}.json`);
      writeFileSync(file, JSON.stringify({ ...b, ...change }));
      const r = await verify(file);
      expect(r.status, what).toBe(1);
      expect(r.stderr, what).toMatch(why);
    }
    const wrong = await verify(bundle, "--entry", `8=${join(dir, "wrong")}`);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain("is not the entry the log holds there");
    const other = generateKey(ORIGIN);
    const forged = await runCliInProcess(["log", "verify-batch", "--proof", bundle, "--vkey", other.verifierKey]);
    expect(forged.status).toBe(1);
    expect(forged.stderr).toMatch(/verification failed/);
  });
});
