/**
 * `meridian cert` (in process, test/cli-in-process.ts; its servers through the bin): a chain with a committee hand-over syncs; a hand-over signed by the new
 * committee, a certificate short of the quorum and a fork (with its evidence written) are refused with exit 1.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { generateKey, LogClient } from "../../runtime/prooflog/index.js";
import { killServers, serveCli } from "../cli.js";
import { runCliInProcess } from "../cli-in-process.js";

const dir = mkdtempSync(join(tmpdir(), "cert-cli-"));
afterAll(() => {
  killServers();
  rmSync(dir, { recursive: true, force: true });
});
const p = (f: string) => join(dir, f);
const R1 = "11".repeat(32);
const R2 = "22".repeat(32);

async function issue(file: string, args: string[]): Promise<void> {
  const r = await runCliInProcess(["cert", "issue", ...args]);
  expect(r.status, r.stderr).toBe(0);
  writeFileSync(p(file), r.stdout);
}
const members = (c: string, idx: number[]) => idx.map((i) => p(`${c}/member-${i}.key`));

describe("meridian cert", () => {
  it("syncs through a hand-over and refuses a self-installed committee, a missing quorum and a fork", async () => {
    expect((await runCliInProcess(["cert", "committee", "--members", "4", "--quorum", "3", p("old")])).status).toBe(0);
    expect((await runCliInProcess(["cert", "committee", "--members", "7", "--quorum", "5", p("new")])).status).toBe(0);
    expect((await runCliInProcess(["cert", "committee", "--members", "3", "--quorum", "2", p("weak")])).status).toBe(2); // not > 2/3
    const old = ["--committee", p("old/committee.json")];
    await issue("c0.json", [...old, "--genesis", "--root", R1, "--signer", ...members("old", [0, 1, 2])]);
    await issue("c1.json", [...old, "--parent", p("c0.json"), "--next", p("new/committee.json"), "--root", R2, "--signer", ...members("old", [1, 2, 3])]);
    await issue("c2.json", ["--committee", p("new/committee.json"), "--parent", p("c1.json"), "--root", R1, "--signer", ...members("new", [0, 1, 2, 3, 6])]);
    const ok = await runCliInProcess(["cert", "sync", ...old, p("c0.json"), p("c1.json"), p("c2.json")]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toBe(`head 2 ${R1} (final; committee of 7, quorum 5)\n`);

    await issue("self.json", ["--committee", p("new/committee.json"), "--parent", p("c0.json"), "--next", p("new/committee.json"), "--root", R2, "--signer", ...members("new", [0, 1, 2, 3, 4])]);
    const self = await runCliInProcess(["cert", "sync", ...old, p("c0.json"), p("self.json")]);
    expect(self.status).toBe(1);
    expect(self.stderr).toContain("hand-over not signed by the old quorum");

    await issue("short.json", [...old, "--parent", p("c0.json"), "--root", R2, "--signer", ...members("old", [0, 1])]);
    const short = await runCliInProcess(["cert", "sync", ...old, p("c0.json"), p("short.json")]);
    expect(short.status).toBe(1);
    expect(short.stderr).toContain("2 signatures, the quorum is 3");

    await issue("fork.json", [...old, "--parent", p("c0.json"), "--root", R1, "--signer", ...members("old", [0, 1, 3])]);
    const fork = await runCliInProcess(["cert", "sync", ...old, "--evidence", p("ev.json"), p("c0.json"), p("c1.json"), p("fork.json")]);
    expect(fork.status).toBe(1);
    expect(fork.stderr).toContain("fork at height 1: members 1, 3 signed two certificates");
    expect((JSON.parse(readFileSync(p("ev.json"), "utf8")) as { member: number }[]).map((e) => e.member)).toEqual([1, 3]);
  });

  it("names what is wrong in a malformed committee or certificate file (exit 2), before following any of the chain", async () => {
    expect((await runCliInProcess(["cert", "committee", "--members", "4", "--quorum", "3", p("m")])).status).toBe(0);
    writeFileSync(p("bad-committee.json"), JSON.stringify({ members: "x", quorum: 3 }));
    const committee = await runCliInProcess(["cert", "sync", "--committee", p("bad-committee.json"), p("m/committee.json")]);
    expect(committee.status).toBe(2);
    expect(committee.stderr).toMatch(/bad-committee\.json: not a committee \(--committee\): members: /);
    expect(committee.stderr).not.toMatch(/TypeError|\n\s+at /);
    writeFileSync(p("bad-cert.json"), JSON.stringify({ height: "one" }));
    const cert = await runCliInProcess(["cert", "sync", "--committee", p("m/committee.json"), p("bad-cert.json")]);
    expect(cert.status).toBe(2);
    expect(cert.stderr).toMatch(/bad-cert\.json: not a certificate \(CHECKPOINT\): height: /);
  });
});

describe("meridian cert serve + sync --from --log", () => {
  it("certifies the proof log's checkpoints, serves the chain, and a light client proves an entry against the certified checkpoint", async () => {
    const origin = "meridian.test/cert-log";
    const key = generateKey(origin);
    writeFileSync(p("log.key"), key.signerKey);
    const logSrv = await serveCli(["log", "serve", "--data", p("log"), "--origin", origin, "--key", p("log.key"), "--port", "0"]);
    const log = new LogClient(logSrv.url);
    const noteAt = async (size: number) => {
      for (;;) {
        const note = await log.checkpoint();
        if (Number(note.split("\n")[1]) >= size) return note;
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    for (const e of ["a", "b"]) await log.add(Buffer.from(e));
    writeFileSync(p("cp2.note"), await noteAt(2));
    for (const e of ["c", "d", "e"]) await log.add(Buffer.from(e));
    writeFileSync(p("cp5.note"), await noteAt(5));

    expect((await runCliInProcess(["cert", "committee", "--members", "4", "--quorum", "3", p("lc")])).status).toBe(0);
    const lc = ["--committee", p("lc/committee.json")];
    await issue("l0.json", [...lc, "--genesis", "--checkpoint", p("cp2.note"), "--signer", ...members("lc", [0, 1, 2])]);
    await issue("l1.json", [...lc, "--parent", p("l0.json"), "--checkpoint", p("cp5.note"), "--signer", ...members("lc", [1, 2, 3])]);
    expect((await runCliInProcess(["cert", "issue", ...lc, "--genesis", "--root", R1, "--checkpoint", p("cp2.note"), "--signer", ...members("lc", [0])])).stderr).toMatch(
      /give --root or --checkpoint/,
    );

    const certSrv = await serveCli(["cert", "serve", ...lc, "--start", p("l0.json"), "--port", "0"]);
    const posted = await fetch(`${certSrv.url}/v1/certs`, { method: "POST", headers: { "content-type": "application/json" }, body: readFileSync(p("l1.json"), "utf8") });
    expect(posted.status).toBe(201);

    const ok = await runCliInProcess(["cert", "sync", ...lc, p("l0.json"), "--from", certSrv.url, "--log", logSrv.url, "--index", "3", "--origin", origin]);
    expect(ok.stderr).toBe("");
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^head 1 [0-9a-f]{64} \(final; committee of 4, quorum 3\)\n/);
    expect(ok.stdout).toContain(`certified log checkpoint: ${origin} size 5 root `);
    expect(ok.stdout).toContain(`entry 3 (1 bytes) is included in ${origin} at the certified size 5`);

    const wrongLog = await runCliInProcess(["cert", "sync", ...lc, p("l0.json"), "--from", certSrv.url, "--log", logSrv.url, "--index", "3", "--origin", "other.example/log"]);
    expect(wrongLog.status).toBe(1);
    expect(wrongLog.stderr).toContain(`certifies log "${origin}", not "other.example/log"`);
    const beyond = await runCliInProcess(["cert", "sync", ...lc, p("l0.json"), "--from", certSrv.url, "--log", logSrv.url, "--index", "5"]);
    expect(beyond.status).toBe(1);
    expect(beyond.stderr).toContain("entry 5 is not below the certified size 5");
  });
});
