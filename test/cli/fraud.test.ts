/**
 * `meridian fraud` (in process, test/cli-in-process.ts; one usage error through the bin): an honest sequencer's log has no fraud proof (prove exits 1); a wrong
 * post root and a logged overdraft each yield a proof that `check` accepts (exit 0); a proof with a lying balance
 * or checked under another key is refused (exit 1); bad input is a usage error (exit 2).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../cli.js";
import { runCliInProcess } from "../cli-in-process.js";

const dir = mkdtempSync(join(tmpdir(), "fraud-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const p = (f: string) => join(dir, f);

describe("meridian fraud", () => {
  const txs = [
    { op: "mint", to: "eu-west", amount: 100 },
    { op: "mint", to: "us-east", amount: 50 },
    { op: "transfer", from: "eu-west", to: "us-east", amount: 30 },
    { op: "transfer", from: "us-east", to: "ap-south", amount: 200 },
    { op: "transfer", from: "us-east", to: "ap-south", amount: 80 },
  ];
  writeFileSync(p("txs.json"), JSON.stringify(txs));
  beforeAll(async () => {
    const keys = (await runCliInProcess(["note", "keygen", "--name", "example.com/escrow-rollup"])).stdout.split("\n");
    writeFileSync(p("seq.key"), `${keys[0]}\n`);
    writeFileSync(p("seq.vkey"), `${keys[1]}\n`);
  });
  const vkey = ["--vkey", p("seq.vkey")];

  it("an honest log has no fraud proof", async () => {
    const s = await runCliInProcess(["fraud", "sequence", "--key", p("seq.key"), p("txs.json"), p("honest")]);
    expect(s.status, s.stderr).toBe(0);
    expect(s.stderr).toContain("tx 3 refused: overdraft: us-east has 80, transfer of 200");
    const r = await runCliInProcess(["fraud", "prove", ...vkey, p("honest")]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("no fraud: all 4 transitions check out");
  });

  it("a wrong post root is proven; a forged or misattributed proof is refused", async () => {
    expect((await runCliInProcess(["fraud", "sequence", "--key", p("seq.key"), "--wrong-post", "2", p("txs.json"), p("bad")])).status).toBe(0);
    const r = await runCliInProcess(["fraud", "prove", ...vkey, p("bad")]);
    expect(r.status, r.stderr).toBe(0);
    writeFileSync(p("bad.proof"), r.stdout);
    const c = await runCliInProcess(["fraud", "check", ...vkey, p("bad.proof")]);
    expect(c.status, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/^fraud proven: entry 2's post root is not the result of its tx/);
    writeFileSync(p("forged.proof"), readFileSync(p("bad.proof"), "utf8").replace('"balance":"100"', '"balance":"10"'));
    const f = await runCliInProcess(["fraud", "check", ...vkey, p("forged.proof")]);
    expect(f.status).toBe(1);
    expect(f.stderr).toContain("proof refused: the balances read are not those under entry 2's pre root");
    writeFileSync(p("other.vkey"), (await runCliInProcess(["note", "keygen", "--name", "example.com/escrow-rollup"])).stdout.split("\n")[1]!);
    const o = await runCliInProcess(["fraud", "check", "--vkey", p("other.vkey"), p("bad.proof")]);
    expect(o.status).toBe(1);
    expect(o.stderr).toContain("no signature from a known key");
  });

  it("a logged overdraft is proven", async () => {
    expect((await runCliInProcess(["fraud", "sequence", "--key", p("seq.key"), "--log-invalid", p("txs.json"), p("od")])).status).toBe(0);
    const r = await runCliInProcess(["fraud", "prove", ...vkey, p("od")]);
    expect(r.status, r.stderr).toBe(0);
    writeFileSync(p("od.proof"), r.stdout);
    const c = await runCliInProcess(["fraud", "check", ...vkey, p("od.proof")]);
    expect(c.status, c.stderr).toBe(0);
    expect(c.stdout).toContain("fraud proven: entry 3 logs an invalid tx: overdraft: us-east has 80, transfer of 200");
  });

  it("bad input is a usage error", async () => {
    writeFileSync(p("notjson"), "{");
    // Through the bin once: its exit status for a usage error is cli/main.ts's.
    expect(runCli(["fraud", "check", ...vkey, p("notjson")]).status).toBe(2);
    expect((await runCliInProcess(["fraud", "sequence", "--key", p("seq.key"), "--wrong-post", "9", p("txs.json"), p("x")])).status).toBe(2);
    expect((await runCliInProcess(["fraud", "prove", ...vkey, p("nonexistent")])).status).toBe(2);
  });

  it("bisect: a wrong final root loses the game at its step; honest roots stand; a challenge after the window is refused", async () => {
    expect((await runCliInProcess(["fraud", "sequence", "--key", p("seq.key"), "--wrong-post", "4", p("txs.json"), p("bad-end")])).status).toBe(0);
    const lost = await runCliInProcess(["fraud", "bisect", ...vkey, p("bad-end")]);
    expect(lost.status, lost.stderr).toBe(0);
    expect(lost.stdout).toMatch(
      /^round 1: steps 0\.\.4, asserter's root after 2 = [0-9a-f]{16}…, challenger agrees\nround 2: steps 2\.\.4, asserter's root after 3 = [0-9a-f]{16}…, challenger agrees\n/,
    );
    expect(lost.stdout).toContain("step 4: the asserter claims");
    expect(lost.stdout).toContain("challenger wins after 2 rounds over 4 steps: the checkpoint is rejected");
    const json = JSON.parse((await runCliInProcess(["fraud", "bisect", ...vkey, "--json", p("bad-end")])).stdout) as { winner: string; step: number };
    expect(json).toMatchObject({ winner: "challenger", step: 4 });

    const stands = await runCliInProcess(["fraud", "bisect", ...vkey, p("honest")]);
    expect(stands.status).toBe(1);
    expect(stands.stdout).toContain("asserter wins after 0 rounds over 4 steps: the checkpoint is final");

    const late = await runCliInProcess(["fraud", "bisect", ...vkey, "--window", "1000", "--asserted-at", "5000", "--challenged-at", "6000", p("bad-end")]);
    expect(late.status).toBe(1);
    expect(late.stderr).toContain("challenge refused: claim checkpoint is final: the window closed at 6000");
    expect((await runCliInProcess(["fraud", "bisect", ...vkey, "--window", "soon", p("bad-end")])).status).toBe(2);
  });
});
