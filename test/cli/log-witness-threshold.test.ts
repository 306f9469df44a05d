// `meridian log witness --threshold --share`, `log serve --witness-threshold` and `log verify --threshold`, as real
// processes: three witnesses hold shares of a 2-of-3 group key from a Pedersen DKG, except that witness 3 was given
// another group's share. The log combines the partial signatures into one group signature on every checkpoint it
// publishes and logs witness 3 (by URL and share) as the sender of a forged partial; `log verify --threshold`
// accepts the checkpoint under the group key and refuses it under another group's. A witness whose share is not on
// its group's polynomial does not start.
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killServers, serveCli } from "../cli.js";
import { runCliInProcess } from "../cli-in-process.js";
import { LogClient } from "../../runtime/prooflog/client.js";
import { ALG_COSIGNATURE_V1, generateKey, newVerifier } from "../../runtime/prooflog/note.js";
import { verifyThresholdCheckpoint } from "../../runtime/prooflog/witness/threshold.js";
import { contribute, deal, finish, groupJson, readGroup, shareJson } from "../../runtime/tbls/index.js";

const ORIGIN = "meridian.test/threshold-cli";
const NAME = "quorum.test/witnesses";
const dir = mkdtempSync(join(tmpdir(), "log-threshold-"));
const file = (name: string) => join(dir, name);
const logKey = generateKey(ORIGIN);
writeFileSync(file("log.key"), logKey.signerKey);
const wKeys = [1, 2, 3].map((i) => generateKey(`w${i}.test/witness`, ALG_COSIGNATURE_V1));
wKeys.forEach((k, i) => writeFileSync(file(`w${i + 1}.key`), k.signerKey));

// The DKG (pure runtime/tbls/dkg.ts; `meridian tbls dkg` writes the same files), and a stranger's dealing.
const cs = [1, 2, 3].map((j) => contribute(j, 2, 3));
const tr = { t: 2, n: 3, commitments: new Map(cs.map((c) => [c.dealer, c.commitments])), complaints: new Map(), reveals: new Map() };
const results = [1, 2, 3].map((i) => finish(tr, i, new Map(cs.map((c) => [c.dealer, c.shares.get(i)!]))));
writeFileSync(file("group.json"), JSON.stringify(groupJson({ t: 2, n: 3, commitments: results[0]!.commitments, shares: [] })));
results.forEach((r) => writeFileSync(file(`share-${r.share.index}.json`), JSON.stringify(shareJson(r.share))));
const stranger = deal(2, 3);
writeFileSync(file("stranger.json"), JSON.stringify(groupJson(stranger)));
writeFileSync(file("stranger-share-3.json"), JSON.stringify(shareJson(stranger.shares[2]!)));

afterAll(() => killServers());

const witness = (i: number, group: string, share: string) =>
  serveCli(["log", "witness", "--key", file(`w${i}.key`), "--log-vkey", logKey.verifierKey, "--data", file(`w${i}`), "--port", "0", "--threshold", `${NAME}=${group}`, "--share", share]);

describe("threshold witnessing with real processes", () => {
  it("publishes group-signed checkpoints, names the forger, and verify --threshold checks the group key", async () => {
    const refused = await runCliInProcess([
      "log",
      "witness",
      "--key",
      file("w3.key"),
      "--log-vkey",
      logKey.verifierKey,
      "--data",
      ":memory:",
      "--port",
      "0",
      "--threshold",
      `${NAME}=${file("group.json")}`,
      "--share",
      file("stranger-share-3.json"),
    ]);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/threshold: share 3 does not lie on the group's committed polynomial/);

    const ws = await Promise.all([
      witness(1, file("group.json"), file("share-1.json")),
      witness(2, file("group.json"), file("share-2.json")),
      witness(3, file("stranger.json"), file("stranger-share-3.json")),
    ]);
    const log = await serveCli([
      "log",
      "serve",
      "--data",
      file("log"),
      "--port",
      "0",
      "--origin",
      ORIGIN,
      "--key",
      file("log.key"),
      "--checkpoint-interval",
      "50",
      ...ws.flatMap((w, i) => ["--witness", `${w.url}=${wKeys[i]!.verifierKey}`]),
      "--witness-threshold",
      `${NAME}=${file("group.json")}`,
    ]);
    let logOutput = "";
    log.child.stderr!.on("data", (d: Buffer) => (logOutput += d.toString()));
    log.child.stdout!.on("data", (d: Buffer) => (logOutput += d.toString()));
    const client = new LogClient(log.url);
    for (let i = 0; i < 5; i++) await client.add(Buffer.from(`threshold entry ${i}`));
    const group = { ...readGroup(file("group.json")), name: NAME };
    let size = 0;
    for (let tries = 0; tries < 500 && size < 5; tries++) {
      try {
        size = verifyThresholdCheckpoint(await client.checkpoint(), [newVerifier(logKey.verifierKey)], group, ORIGIN).size;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    expect(size).toBe(5);
    for (let tries = 0; tries < 200 && !logOutput.includes("sent a partial signature for share 3"); tries++) await new Promise((r) => setTimeout(r, 50));
    expect(logOutput).toContain(`witness ${ws[2]!.url} sent a partial signature for share 3 that does not verify under that share's public key`);

    const verify = (groupFile: string) =>
      runCliInProcess(["log", "verify", "--log", log.url, "--vkey", logKey.verifierKey, "--state", file(`state-${groupFile}`), "--threshold", `${NAME}=${file(groupFile)}`, "--index", "4"]);
    const ok = await verify("group.json");
    expect(ok.stderr).toBe("");
    expect(ok.stdout).toContain(`threshold signature of ${NAME} (2 of 3 witnesses) verified under the group key`);
    expect(ok.stdout).toContain("entry 4 (17 bytes) is included");
    const foreign = await verify("stranger.json");
    expect(foreign.status).toBe(1);
    expect(foreign.stderr).toContain(`verification failed: the checkpoint carries no threshold signature of ${NAME}`);

    // Offline: a tlog-proof bundle carries the group-signed checkpoint, and --threshold checks it there too.
    const bundle = await runCliInProcess(["log", "proof", "--log", log.url, "--index", "1", "--entry-out", file("entry1")]);
    expect(bundle.status).toBe(0);
    writeFileSync(file("proof1"), bundle.stdout);
    const offline = (groupFile: string) =>
      runCliInProcess(["log", "verify", "--vkey", logKey.verifierKey, "--proof", file("proof1"), "--entry", file("entry1"), "--threshold", `${NAME}=${file(groupFile)}`]);
    expect((await offline("group.json")).stdout).toMatch(new RegExp(`^ok: entry 1 is in ${ORIGIN} at size \\d+; threshold signature of ${NAME} verified\n$`));
    const offlineForeign = await offline("stranger.json");
    expect(offlineForeign.status).toBe(1);
    expect(offlineForeign.stderr).toContain("no threshold signature");
  });
});
