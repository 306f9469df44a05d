/**
 * `meridian cert` through the real CLI: a chain with a committee hand-over syncs; a hand-over signed by the new
 * committee, a certificate short of the quorum and a fork (with its evidence written) are refused with exit 1.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../cli.js";

const dir = mkdtempSync(join(tmpdir(), "cert-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const p = (f: string) => join(dir, f);
const R1 = "11".repeat(32);
const R2 = "22".repeat(32);

function issue(file: string, args: string[]): void {
  const r = runCli(["cert", "issue", ...args]);
  expect(r.status, r.stderr).toBe(0);
  writeFileSync(p(file), r.stdout);
}
const members = (c: string, idx: number[]) => idx.map((i) => p(`${c}/member-${i}.key`));

describe("meridian cert", () => {
  it("syncs through a hand-over and refuses a self-installed committee, a missing quorum and a fork", () => {
    expect(runCli(["cert", "committee", "--members", "4", "--quorum", "3", p("old")]).status).toBe(0);
    expect(runCli(["cert", "committee", "--members", "7", "--quorum", "5", p("new")]).status).toBe(0);
    expect(runCli(["cert", "committee", "--members", "3", "--quorum", "2", p("weak")]).status).toBe(2); // not > 2/3
    const old = ["--committee", p("old/committee.json")];
    issue("c0.json", [...old, "--genesis", "--root", R1, "--signer", ...members("old", [0, 1, 2])]);
    issue("c1.json", [...old, "--parent", p("c0.json"), "--next", p("new/committee.json"), "--root", R2, "--signer", ...members("old", [1, 2, 3])]);
    issue("c2.json", ["--committee", p("new/committee.json"), "--parent", p("c1.json"), "--root", R1, "--signer", ...members("new", [0, 1, 2, 3, 6])]);
    const ok = runCli(["cert", "sync", ...old, p("c0.json"), p("c1.json"), p("c2.json")]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toBe(`head 2 ${R1} (final; committee of 7, quorum 5)\n`);

    issue("self.json", ["--committee", p("new/committee.json"), "--parent", p("c0.json"), "--next", p("new/committee.json"), "--root", R2, "--signer", ...members("new", [0, 1, 2, 3, 4])]);
    const self = runCli(["cert", "sync", ...old, p("c0.json"), p("self.json")]);
    expect(self.status).toBe(1);
    expect(self.stderr).toContain("hand-over not signed by the old quorum");

    issue("short.json", [...old, "--parent", p("c0.json"), "--root", R2, "--signer", ...members("old", [0, 1])]);
    const short = runCli(["cert", "sync", ...old, p("c0.json"), p("short.json")]);
    expect(short.status).toBe(1);
    expect(short.stderr).toContain("2 signatures, the quorum is 3");

    issue("fork.json", [...old, "--parent", p("c0.json"), "--root", R1, "--signer", ...members("old", [0, 1, 3])]);
    const fork = runCli(["cert", "sync", ...old, "--evidence", p("ev.json"), p("c0.json"), p("c1.json"), p("fork.json")]);
    expect(fork.status).toBe(1);
    expect(fork.stderr).toContain("fork at height 1: members 1, 3 signed two certificates");
    expect((JSON.parse(readFileSync(p("ev.json"), "utf8")) as { member: number }[]).map((e) => e.member)).toEqual([1, 3]);
  });

  it("names what is wrong in a malformed committee or certificate file (exit 2), before following any of the chain", () => {
    expect(runCli(["cert", "committee", "--members", "4", "--quorum", "3", p("m")]).status).toBe(0);
    writeFileSync(p("bad-committee.json"), JSON.stringify({ members: "x", quorum: 3 }));
    const committee = runCli(["cert", "sync", "--committee", p("bad-committee.json"), p("m/committee.json")]);
    expect(committee.status).toBe(2);
    expect(committee.stderr).toMatch(/bad-committee\.json: not a committee \(--committee\): members: /);
    expect(committee.stderr).not.toMatch(/TypeError|\n\s+at /);
    writeFileSync(p("bad-cert.json"), JSON.stringify({ height: "one" }));
    const cert = runCli(["cert", "sync", "--committee", p("m/committee.json"), p("bad-cert.json")]);
    expect(cert.status).toBe(2);
    expect(cert.stderr).toMatch(/bad-cert\.json: not a certificate \(CHECKPOINT\): height: /);
  });
});
