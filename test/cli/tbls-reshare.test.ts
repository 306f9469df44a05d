/**
 * `meridian tbls reshare|reshare-combine`: a 3-of-5 group moves to a 4-of-7 committee without changing its key.
 * Any 4 new partial signatures combine into a signature @noble/curves verifies under the ORIGINAL group key; 3 are
 * refused; a holder that reshares something other than its share is rejected.
 */
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../cli.js";

const dir = mkdtempSync(join(tmpdir(), "tbls-reshare-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const bls = bls12_381.shortSignatures;
const ok = (args: string[]) => {
  const r = runCli(args);
  expect(r.status, r.stderr).toBe(0);
  return r;
};

describe("meridian tbls reshare", () => {
  it("3-of-5 → 4-of-7 keeps the group key: any 4 new partials verify under it, 3 cannot; a foreign resharing is rejected", () => {
    const msg = join(dir, "checkpoint");
    writeFileSync(msg, "example.com/log 43\n");
    ok(["tbls", "deal", "--t", "3", "--n", "5", join(dir, "old")]);
    const oldGroup = join(dir, "old", "group.json");
    const key = (JSON.parse(readFileSync(oldGroup, "utf8")) as { groupPublicKey: string }).groupPublicKey;
    for (const i of [1, 3, 5]) ok(["tbls", "reshare", "--group", oldGroup, "--share", join(dir, "old", `share-${i}.json`), "--t", "4", "--n", "7", join(dir, "rs")]);
    // holder 2 reshares a share of another group: its constant commitment is not its old key share
    ok(["tbls", "deal", "--t", "3", "--n", "5", join(dir, "other")]);
    ok(["tbls", "reshare", "--group", join(dir, "other", "group.json"), "--share", join(dir, "other", "share-2.json"), "--t", "4", "--n", "7", join(dir, "rs")]);
    const files = [1, 2, 3, 5].map((i) => join(dir, "rs", `reshare-from-${i}.json`));
    for (let j = 1; j <= 7; j++) {
      const r = ok(["tbls", "reshare-combine", "--group", oldGroup, "--index", String(j), join(dir, "new"), ...files]);
      expect(r.stdout).toBe(`member ${j} of 4-of-7 from old holders 1, 3, 5; group key unchanged ${key}\n`);
      expect(r.stderr).toMatch(/rejected old holder 2: reshared something other than its old share/);
    }
    const newGroup = join(dir, "new", "group.json");
    expect(JSON.parse(readFileSync(newGroup, "utf8"))).toMatchObject({ t: 4, n: 7, groupPublicKey: key });
    const p = [1, 2, 3, 4, 5, 6, 7].map((j) => {
      const r = ok(["tbls", "sign", "--share", join(dir, "new", `share-${j}.json`), msg]);
      const f = join(dir, `p${j}.json`);
      writeFileSync(f, r.stdout);
      return f;
    });
    const a = ok(["tbls", "combine", "--group", newGroup, msg, p[0]!, p[2]!, p[4]!, p[6]!]).stdout.trim();
    const b = ok(["tbls", "combine", "--group", newGroup, msg, p[1]!, p[3]!, p[5]!, p[6]!]).stdout.trim();
    expect(b).toBe(a);
    expect(bls.verify(Buffer.from(a, "hex"), bls.hash(readFileSync(msg)), Buffer.from(key, "hex"))).toBe(true);
    expect(ok(["tbls", "verify", "--group", oldGroup, "--signature", a, msg]).stdout).toBe("valid\n");
    const three = runCli(["tbls", "combine", "--group", newGroup, msg, p[0]!, p[1]!, p[2]!]);
    expect(three.status).toBe(1);
    expect(three.stderr).toMatch(/need 4 good partial signatures from distinct participants, have 3/);
    // with only two honest resharings the old threshold is not met
    const few = runCli(["tbls", "reshare-combine", "--group", oldGroup, "--index", "1", join(dir, "x"), files[0]!, files[1]!, files[2]!]);
    expect(few.status).toBe(2);
    expect(few.stderr).toMatch(/only 2 valid resharings \(1, 3\), need the old threshold t = 3/);
  });
});
