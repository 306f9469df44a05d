/**
 * `meridian tbls dkg`: five real processes on port 0 run a 3-of-5 Pedersen DKG over HTTP (they learn each other's
 * URLs from a peers file written once all five are up). The shares they write then go through the existing
 * `meridian tbls sign|combine|verify`: any 3 combine into a signature @noble/curves verifies under the group key, 2
 * are refused. A dishonest dealer (test hook: one bad share) is complained against and either corrected by its
 * public reveal or, when it reveals a bad share too, disqualified — the DKG completes with the rest.
 */
import { bls12_381 } from "@noble/curves/bls12-381.js";
import type { ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { killServers, runCli, serveCli } from "../cli.js";

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
        "--phase-timeout",
        "60",
        ...extra(k + 1),
        join(dir, `p${k + 1}`),
      ]),
    ),
  );
  const outcomes = started.map(({ child }) => collect(child));
  writeFileSync(`${peersFile}.tmp`, JSON.stringify(started.map((s) => s.url)));
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

function partial(dir: string, i: number): string {
  const r = runCli(["tbls", "sign", "--share", join(dir, `p${i}`, `share-${i}.json`), msg]);
  expect(r.status, r.stderr).toBe(0);
  const file = join(dir, `partial-${i}.json`);
  writeFileSync(file, r.stdout);
  return file;
}

describe("meridian tbls dkg (five processes over HTTP)", () => {
  afterAll(killServers);

  it("3-of-5 with a dealer that sends one bad share and corrects it when complained against: any 3 shares sign under the group key, 2 cannot", async () => {
    const { dir, outcomes } = await dkg("corrected", 3, 5, (i) => (i === 2 ? ["--dishonest-share-to", "4"] : []));
    for (const o of outcomes) expect(o.code, o.stderr).toBe(0);
    const results = outcomes.map(resultOf);
    const key = results[0]!.groupPublicKey;
    for (const r of results) expect([r.groupPublicKey, r.qual, r.disqualified]).toEqual([key, [1, 2, 3, 4, 5], []]);
    expect(outcomes[3]!.stderr).toContain("complaining against 2");
    const group = join(dir, "p1", "group.json");
    for (let i = 2; i <= 5; i++) expect(readFileSync(join(dir, `p${i}`, "group.json"), "utf8")).toBe(readFileSync(group, "utf8"));
    expect((JSON.parse(readFileSync(group, "utf8")) as { groupPublicKey: string }).groupPublicKey).toBe(key);
    for (let i = 1; i <= 5; i++) expect(runCli(["tbls", "verify-share", "--group", group, join(dir, `p${i}`, `share-${i}.json`)]).status).toBe(0);

    const p = [1, 2, 3, 4, 5].map((i) => partial(dir, i));
    const a = runCli(["tbls", "combine", "--group", group, msg, p[0]!, p[3]!, p[4]!]);
    const b = runCli(["tbls", "combine", "--group", group, msg, p[1]!, p[2]!, p[3]!]);
    expect([a.status, b.status], a.stderr + b.stderr).toEqual([0, 0]);
    const sig = a.stdout.trim();
    expect(b.stdout.trim()).toBe(sig);
    expect(bls.verify(Buffer.from(sig, "hex"), bls.hash(readFileSync(msg)), Buffer.from(key, "hex"))).toBe(true);
    expect(runCli(["tbls", "verify", "--group", group, "--signature", sig, msg]).stdout).toBe("valid\n");
    const two = runCli(["tbls", "combine", "--group", group, msg, p[0]!, p[3]!]);
    expect(two.status).toBe(1);
    expect(two.stderr).toMatch(/need 3 good partial signatures from distinct participants, have 2/);
  });

  it("a dealer that answers the complaint with a bad share is disqualified by everyone; the other four make the key", async () => {
    const { dir, outcomes } = await dkg("disqualified", 3, 5, (i) => (i === 2 ? ["--dishonest-share-to", "4", "--dishonest-reveal"] : []));
    for (const o of outcomes) expect(o.code, o.stderr).toBe(0);
    const results = outcomes.map(resultOf);
    const key = results[0]!.groupPublicKey;
    for (const r of results) {
      expect([r.groupPublicKey, r.qual]).toEqual([key, [1, 3, 4, 5]]);
      expect(r.disqualified).toEqual([{ dealer: 2, reason: "revealed a share for participant 4 that fails its commitments" }]);
    }
    const group = join(dir, "p1", "group.json");
    const p = [1, 3, 4].map((i) => partial(dir, i));
    const sig = runCli(["tbls", "combine", "--group", group, msg, ...p]);
    expect(sig.status, sig.stderr).toBe(0);
    expect(bls.verify(Buffer.from(sig.stdout.trim(), "hex"), bls.hash(readFileSync(msg)), Buffer.from(key, "hex"))).toBe(true);
  });
});
