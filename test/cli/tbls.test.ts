/**
 * `meridian tbls` (in process, test/cli-in-process.ts): a 3-of-5 dealing, partial signatures, combination of any 3 into a signature
 * that @noble/curves verifies as ordinary BLS under the group key, refusal with 2, exclusion of a bad partial.
 */
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCliInProcess } from "../cli-in-process.js";

const dir = mkdtempSync(join(tmpdir(), "tbls-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const bls = bls12_381.shortSignatures;

describe("meridian tbls", () => {
  const keys = join(dir, "keys");
  const msg = join(dir, "checkpoint");
  writeFileSync(msg, "example.com/log\n42\nqUdNEyDE3XO6YMIaQGjSQhSXxvJuLLbU8rTz3Cbp9tw=\n");
  const group = join(keys, "group.json");

  it("3-of-5: any 3 partial signatures combine into a BLS signature noble verifies under the group key; 2 cannot", async () => {
    const dealt = await runCliInProcess(["tbls", "deal", "--t", "3", "--n", "5", keys]);
    expect(dealt.status, dealt.stderr).toBe(0);
    expect(statSync(join(keys, "share-1.json")).mode & 0o777).toBe(0o600);
    const groupKey = (JSON.parse(readFileSync(group, "utf8")) as { groupPublicKey: string }).groupPublicKey;
    expect(dealt.stdout).toContain(groupKey);
    expect((await runCliInProcess(["tbls", "verify-share", "--group", group, join(keys, "share-4.json")])).status).toBe(0);

    const partial = async (i: number) => {
      const r = await runCliInProcess(["tbls", "sign", "--share", join(keys, `share-${i}.json`), msg]);
      expect(r.status, r.stderr).toBe(0);
      const file = join(dir, `partial-${i}.json`);
      writeFileSync(file, r.stdout);
      return file;
    };
    // Every 3-subset giving the same signature is test/runtime/tbls/threshold.test.ts (in-process, all ten subsets).
    const [p1, p3, p5] = [await partial(1), await partial(3), await partial(5)];

    const a = await runCliInProcess(["tbls", "combine", "--group", group, msg, p1!, p3!, p5!]);
    expect(a.status, a.stderr).toBe(0);
    const sig = a.stdout.trim();
    expect(sig).toMatch(/^[0-9a-f]{96}$/);
    expect(bls.verify(Buffer.from(sig, "hex"), bls.hash(readFileSync(msg)), Buffer.from(groupKey, "hex"))).toBe(true);
    expect((await runCliInProcess(["tbls", "verify", "--group", group, "--signature", sig, msg])).stdout).toBe("valid\n");

    const two = await runCliInProcess(["tbls", "combine", "--group", group, msg, p1!, p3!]);
    expect(two.status).toBe(1);
    expect(two.stderr).toMatch(/need 3 good partial signatures from distinct participants, have 2 \(1, 3\)/);

    // A partial relabelled as another participant's is excluded; with 3 good ones left the combination still works.
    const forged = join(dir, "forged.json");
    writeFileSync(forged, JSON.stringify({ ...(JSON.parse(readFileSync(p5!, "utf8")) as object), index: 2 }));
    const c = await runCliInProcess(["tbls", "combine", "--group", group, msg, forged, p1!, p3!, p5!]);
    expect(c.status).toBe(0);
    expect(c.stderr).toMatch(/excluded .*forged\.json \(participant 2: signature does not verify under its key share\)/);
    expect(c.stdout.trim()).toBe(sig);
  });

  it("usage mistakes exit 2 naming the input", async () => {
    const tooMany = await runCliInProcess(["tbls", "deal", "--t", "6", "--n", "5", join(dir, "x")]);
    expect([tooMany.status, tooMany.stderr]).toEqual([2, "meridian: --t 6 is greater than --n 5\n"]);
    const badGroup = join(dir, "bad-group.json");
    writeFileSync(badGroup, JSON.stringify({ scheme: "meridian-tbls/v1", t: 3, n: 5, groupPublicKey: "00", commitments: [] }));
    const r = await runCliInProcess(["tbls", "verify", "--group", badGroup, "--signature", "00".repeat(48), msg]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/bad-group\.json: not a group\.json from .*groupPublicKey: expected 96 bytes/);
  });
});
