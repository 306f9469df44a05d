/**
 * `meridian tbls reshare|reshare-combine`: a 3-of-5 group moves to a 4-of-7 committee without changing its key.
 * 4 new partial signatures combine into a signature @noble/curves verifies under the ORIGINAL group key; 3 are
 * refused; a holder that reshares something other than its share is rejected. That any 4 of the 7 new shares sign
 * (and every new member's share checks against the new commitments) is test/runtime/tbls/dkg.test.ts, in-process.
 */
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { deal, groupJson, shareJson } from "../../runtime/tbls/index.js";
import { runCliInProcess } from "../cli-in-process.js";

const dir = mkdtempSync(join(tmpdir(), "tbls-reshare-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const bls = bls12_381.shortSignatures;
const ok = async (args: string[]) => {
  const r = await runCliInProcess(args);
  expect(r.status, r.stderr).toBe(0);
  return r;
};

describe("meridian tbls reshare", () => {
  it("3-of-5 → 4-of-7 keeps the group key: 4 new partials verify under it, 3 cannot; a foreign resharing is rejected", async () => {
    const msg = join(dir, "checkpoint");
    writeFileSync(msg, "example.com/log 43\n");
    await ok(["tbls", "deal", "--t", "3", "--n", "5", join(dir, "old")]);
    const oldGroup = join(dir, "old", "group.json");
    const key = (JSON.parse(readFileSync(oldGroup, "utf8")) as { groupPublicKey: string }).groupPublicKey;
    for (const i of [1, 3, 5]) await ok(["tbls", "reshare", "--group", oldGroup, "--share", join(dir, "old", `share-${i}.json`), "--t", "4", "--n", "7", join(dir, "rs")]);
    // holder 2 reshares a share of another group (dealt as `tbls deal` writes it): its constant commitment is not its old key share
    const other = deal(3, 5);
    mkdirSync(join(dir, "other"));
    writeFileSync(join(dir, "other", "group.json"), JSON.stringify(groupJson(other)));
    writeFileSync(join(dir, "other", "share-2.json"), JSON.stringify(shareJson(other.shares[1]!)));
    await ok(["tbls", "reshare", "--group", join(dir, "other", "group.json"), "--share", join(dir, "other", "share-2.json"), "--t", "4", "--n", "7", join(dir, "rs")]);
    const files = [1, 2, 3, 5].map((i) => join(dir, "rs", `reshare-from-${i}.json`));
    const members = [2, 3, 6, 7];
    for (const j of members) {
      const r = await ok(["tbls", "reshare-combine", "--group", oldGroup, "--index", String(j), join(dir, "new"), ...files]);
      expect(r.stdout).toBe(`member ${j} of 4-of-7 from old holders 1, 3, 5; group key unchanged ${key}\n`);
      expect(r.stderr).toMatch(/rejected old holder 2: reshared something other than its old share/);
    }
    const newGroup = join(dir, "new", "group.json");
    expect(JSON.parse(readFileSync(newGroup, "utf8"))).toMatchObject({ t: 4, n: 7, groupPublicKey: key });
    const p: string[] = [];
    for (const j of members) {
      const r = await ok(["tbls", "sign", "--share", join(dir, "new", `share-${j}.json`), msg]);
      const f = join(dir, `p${j}.json`);
      writeFileSync(f, r.stdout);
      p.push(f);
    }
    const a = (await ok(["tbls", "combine", "--group", newGroup, msg, ...p])).stdout.trim();
    expect(bls.verify(Buffer.from(a, "hex"), bls.hash(readFileSync(msg)), Buffer.from(key, "hex"))).toBe(true);
    expect((await ok(["tbls", "verify", "--group", oldGroup, "--signature", a, msg])).stdout).toBe("valid\n");
    const three = await runCliInProcess(["tbls", "combine", "--group", newGroup, msg, p[0]!, p[1]!, p[2]!]);
    expect(three.status).toBe(1);
    expect(three.stderr).toMatch(/need 4 good partial signatures from distinct participants, have 3/);
    // with only two honest resharings the old threshold is not met
    const few = await runCliInProcess(["tbls", "reshare-combine", "--group", oldGroup, "--index", "1", join(dir, "x"), files[0]!, files[1]!, files[2]!]);
    expect(few.status).toBe(2);
    expect(few.stderr).toMatch(/only 2 valid resharings \(1, 3\), need the old threshold t = 3/);
  });
});
