// `meridian escrow htlc` against a service it cannot reach: one line naming the URL and why, exit 1 — never
// fetch's bare "fetch failed" or a stack trace. (The full swap through the CLI runs in docs/trust.md.)
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCliInProcess } from "../cli-in-process.js";

/** A loopback port nobody listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe("meridian escrow htlc with the service down", () => {
  it("status, claim and refund print one line naming the URL and the cause, exit 1", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const tokenFile = join(mkdtempSync(join(tmpdir(), "htlc-cli-")), "token");
    writeFileSync(tokenFile, "a.b.c\n");
    for (const args of [
      ["status", "--url", url, "--id", "swap-1"],
      ["claim", "--url", url, "--token-file", tokenFile, "--id", "swap-1", "--preimage", "00".repeat(32)],
      ["refund", "--url", url, "--token-file", tokenFile, "--id", "swap-1"],
    ]) {
      const r = await runCliInProcess(["escrow", "htlc", ...args]);
      expect(r.status, r.stderr).toBe(1);
      const lines = r.stderr.split("\n").filter(Boolean);
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^meridian: (GET|POST) ${url}/v1/htlc/locks/swap-1\\S*: cannot reach the escrow service \\(.*ECONNREFUSED.*\\)$`));
    }
  });
});

describe("meridian escrow htlc id", () => {
  it("prints the id a ledger derives for the terms, offline (the known-answer vector of test/runtime/escrow/htlc/lock-id.test.ts)", async () => {
    const hashlock = "02d449a31fbb267c8f352e9968a79e3e5fc95c1bbeaa502fd6454ebde5a4bedc";
    const terms = ["--owner", "alice", "--recipient", "bob", "--asset", "gold", "--qty", "5", "--hashlock", hashlock, "--timelock", "4102444800000"];
    const r = await runCliInProcess(["escrow", "htlc", "id", ...terms]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe("51309d582a3fb418a8c142fdbd5b1a86137afe5658c50ee4074a9bd41b5a1b8d\n");
    const bad = await runCliInProcess(["escrow", "htlc", "id", ...terms.slice(0, -3), "ABC", "--timelock", "4102444800000"]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/--hashlock: got "ABC"/);
  });
});
