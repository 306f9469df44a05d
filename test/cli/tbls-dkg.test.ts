/**
 * `meridian tbls dkg`: five real processes on port 0 run a 3-of-5 Pedersen DKG over HTTP (they learn each other's
 * URLs from a peers file written once all five are up). A dishonest dealer (test hook: one bad share) is complained
 * against and corrected by its public reveal. The shares they write then go through the existing
 * `meridian tbls sign|combine|verify`: 3 combine into a signature @noble/curves verifies under the group key, 2 are
 * refused; every share passes Feldman's check and any 3 give the same signature (in-process, on the files written).
 * A dealer that shows one participant other commitments (test hook: a second, self-consistent dealing) is caught by
 * the echo round and disqualified by all four others, who agree on a key any 3 of their shares sign under, and each
 * writes evidence.json that `meridian tbls evidence` checks against the roster alone: dealer 2's two signed round-1
 * messages with different vectors (a tampered copy proves nothing).
 * The dealer that reveals a bad share too and is disqualified is test/runtime/tbls/dkg-http.test.ts (the same HTTP
 * participants, in one process).
 */
import { bls12_381 } from "@noble/curves/bls12-381.js";
import type { ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { generateKey } from "../../runtime/prooflog/note.js";
import { combine, partialSign, readGroup, readShare, verifyShare } from "../../runtime/tbls/index.js";
import { killServers, serveCli } from "../cli.js";
import { runCliInProcess } from "../cli-in-process.js";

const root = mkdtempSync(join(tmpdir(), "tbls-dkg-"));
afterAll(() => {
  killServers();
  rmSync(root, { recursive: true, force: true });
});
const bls = bls12_381.shortSignatures;
const msg = join(root, "checkpoint");
writeFileSync(msg, "example.com/log\n42\nqUdNEyDE3XO6YMIaQGjSQhSXxvJuLLbU8rTz3Cbp9tw=\n");

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Start n participants, hand them each other's URLs, wait for all to exit. */
async function dkg(name: string, t: number, n: number, extra: (i: number) => string[] = () => []): Promise<{ dir: string; outcomes: Outcome[] }> {
  const dir = join(root, name);
  const peersFile = join(dir, "peers.json");
  mkdirSync(dir, { recursive: true });
  const keys = Array.from({ length: n }, (_, k) => generateKey(`dkg-${name}-${k + 1}`));
  keys.forEach((key, k) => writeFileSync(join(dir, `p${k + 1}.key`), `${key.signerKey}\n${key.verifierKey}\n`, { mode: 0o600 }));
  const started = await Promise.all(
    Array.from({ length: n }, (_, k) =>
      serveCli([
        "tbls",
        "dkg",
        "--index",
        String(k + 1),
        "--t",
        String(t),
        "--n",
        String(n),
        "--port",
        "0",
        "--peers-file",
        peersFile,
        "--key",
        join(dir, `p${k + 1}.key`),
        "--phase-timeout",
        "60",
        ...extra(k + 1),
        join(dir, `p${k + 1}`),
      ]),
    ),
  );
  const outcomes = started.map(({ child }) => collect(child));
  writeFileSync(`${peersFile}.tmp`, JSON.stringify(started.map((s, k) => ({ url: s.url, vkey: keys[k]!.verifierKey }))));
  renameSync(`${peersFile}.tmp`, peersFile); // whole or absent: the participants poll for it
  return { dir, outcomes: await Promise.all(outcomes) };
}

function collect(child: ChildProcess): Promise<Outcome> {
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, stdout, stderr })));
}

const resultOf = (o: Outcome) => JSON.parse(o.stdout.trim().split("\n").at(-1)!) as { index: number; groupPublicKey: string; qual: number[]; disqualified: { dealer: number; reason: string }[] };

async function partial(dir: string, i: number): Promise<string> {
  const r = await runCliInProcess(["tbls", "sign", "--share", join(dir, `p${i}`, `share-${i}.json`), msg]);
  expect(r.status, r.stderr).toBe(0);
  const file = join(dir, `partial-${i}.json`);
  writeFileSync(file, r.stdout);
  return file;
}

describe("meridian tbls dkg (five processes over HTTP)", () => {
  afterAll(killServers);

  it("refuses to start without an identity key, or with a peer whose verifier key is malformed (exit 2, naming it)", async () => {
    const dir = join(root, "nokey");
    mkdirSync(dir, { recursive: true });
    const args = ["tbls", "dkg", "--index", "1", "--t", "1", "--n", "2", "--port", "0"];
    const none = await runCliInProcess([...args, "--peers", "a+00000000+AQ==@http://127.0.0.1:1,b@http://127.0.0.1:2", join(dir, "out")]);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/required option '--key <file>' not specified/);
    const missing = await runCliInProcess([...args, "--key", join(dir, "absent.key"), "--peers", "x@http://127.0.0.1:1,y@http://127.0.0.1:2", join(dir, "out")]);
    expect([missing.status, missing.stderr]).toEqual([2, expect.stringMatching(/--key .*absent\.key: no such file/) as string]);
    const k = generateKey("dkg-nokey-1");
    writeFileSync(join(dir, "p1.key"), `${k.signerKey}\n`, { mode: 0o600 });
    const bad = await runCliInProcess([...args, "--key", join(dir, "p1.key"), "--peers", `${k.verifierKey}@http://127.0.0.1:1,not-a-key@http://127.0.0.1:2`, join(dir, "out")]);
    expect([bad.status, bad.stderr]).toEqual([2, expect.stringMatching(/participant 2: verifier key "not-a-key" must look like/) as string]);
  });

  it("3-of-5 with a dealer that sends one bad share and corrects it when complained against: 3 shares sign under the group key, 2 cannot", async () => {
    const { dir, outcomes } = await dkg("corrected", 3, 5, (i) => (i === 2 ? ["--dishonest-share-to", "4"] : []));
    for (const o of outcomes) expect(o.code, o.stderr).toBe(0);
    const results = outcomes.map(resultOf);
    const key = results[0]!.groupPublicKey;
    for (const r of results) expect([r.groupPublicKey, r.qual, r.disqualified]).toEqual([key, [1, 2, 3, 4, 5], []]);
    expect(outcomes[3]!.stderr).toContain("complaining against 2");
    // Corrected in public: nothing to convict it of, so no evidence.
    for (let i = 1; i <= 5; i++) expect(readFileSync(join(dir, `p${i}`, "evidence.json"), "utf8")).toBe("[]\n");
    const group = join(dir, "p1", "group.json");
    for (let i = 2; i <= 5; i++) expect(readFileSync(join(dir, `p${i}`, "group.json"), "utf8")).toBe(readFileSync(group, "utf8"));
    expect((JSON.parse(readFileSync(group, "utf8")) as { groupPublicKey: string }).groupPublicKey).toBe(key);
    expect((await runCliInProcess(["tbls", "verify-share", "--group", group, join(dir, "p1", "share-1.json")])).status).toBe(0);
    const commitments = readGroup(group).commitments;
    const shares = [1, 2, 3, 4, 5].map((i) => readShare(join(dir, `p${i}`, `share-${i}.json`)));
    for (const s of shares) expect(verifyShare(commitments, s)).toBe(true);

    const p = [await partial(dir, 1), await partial(dir, 4), await partial(dir, 5)];
    const a = await runCliInProcess(["tbls", "combine", "--group", group, msg, ...p]);
    expect(a.status, a.stderr).toBe(0);
    const sig = a.stdout.trim();
    const message = readFileSync(msg);
    expect(
      Buffer.from(
        combine(
          3,
          [2, 3, 4].map((i) => partialSign(message, shares[i - 1]!)),
        ),
      ).toString("hex"),
    ).toBe(sig);
    expect(bls.verify(Buffer.from(sig, "hex"), bls.hash(message), Buffer.from(key, "hex"))).toBe(true);
    expect((await runCliInProcess(["tbls", "verify", "--group", group, "--signature", sig, msg])).stdout).toBe("valid\n");
    const two = await runCliInProcess(["tbls", "combine", "--group", group, msg, p[0]!, p[1]!]);
    expect(two.status).toBe(1);
    expect(two.stderr).toMatch(/need 3 good partial signatures from distinct participants, have 2/);
  });

  it("a dealer that shows participant 4 other (self-consistent) commitments and shares is caught by the echo round: all honest peers disqualify it and agree on one key", async () => {
    // Without the echo nobody complains (4's shares match what 4 was shown) and 4 ends with another group key.
    const { dir, outcomes } = await dkg("equivocating", 3, 5, (i) => (i === 2 ? ["--equivocate-commitments-to", "4"] : []));
    const honest = [1, 3, 4, 5];
    for (const i of honest) expect(outcomes[i - 1]!.code, outcomes[i - 1]!.stderr).toBe(0);
    const results = honest.map((i) => resultOf(outcomes[i - 1]!));
    const key = results[0]!.groupPublicKey;
    for (const r of results) {
      expect([r.groupPublicKey, r.qual]).toEqual([key, honest]);
      expect(r.disqualified).toEqual([{ dealer: 2, reason: expect.stringMatching(/^showed participants \d and \d different commitments \(echo round\)$/) as string }]);
    }
    // Each honest process wrote evidence that convicts dealer 2 before anyone holding the roster: its two signed
    // round-1 messages with different vectors. Swapping one for a message dealer 2 did not sign proves nothing.
    const peersFile = join(dir, "peers.json");
    for (const i of honest) {
      const ev = await runCliInProcess(["tbls", "evidence", "--peers-file", peersFile, join(dir, `p${i}`, "evidence.json")]);
      expect(ev.status, ev.stderr).toBe(0);
      expect(ev.stdout).toMatch(/^guilty: dealer 2 signed two different commitment vectors in round 1 \(to participants \d and \d\)\n$/);
    }
    const evidence = JSON.parse(readFileSync(join(dir, "p1", "evidence.json"), "utf8")) as { messages: { payload: string }[] }[];
    evidence[0]!.messages[1]!.payload = evidence[0]!.messages[0]!.payload.replace(/"commitments":\["[0-9a-f]{4}/, '"commitments":["0000');
    writeFileSync(join(dir, "forged-evidence.json"), JSON.stringify(evidence));
    const forged = await runCliInProcess(["tbls", "evidence", "--peers-file", peersFile, join(dir, "forged-evidence.json")]);
    expect([forged.status, forged.stderr]).toEqual([1, expect.stringMatching(/evidence 1 proves nothing: the round1 message to \d is not signed by dealer 2 in this session/) as string]);
    const shares = honest.map((i) => readShare(join(dir, `p${i}`, `share-${i}.json`)));
    const commitments = readGroup(join(dir, "p4", "group.json")).commitments;
    for (const s of shares) expect(verifyShare(commitments, s)).toBe(true);
    const message = readFileSync(msg);
    for (const three of [
      [0, 1, 2],
      [1, 2, 3],
      [0, 2, 3],
    ]) {
      const sig = combine(
        3,
        three.map((k) => partialSign(message, shares[k]!)),
      );
      expect(bls.verify(sig, bls.hash(message), Buffer.from(key, "hex"))).toBe(true);
    }
  });
});
