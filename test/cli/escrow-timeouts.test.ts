/**
 * `meridian escrow serve --postgres-query-timeout MS --redis-command-timeout MS`: the stores' bounded waits (#17) set
 * from the command line, merged over the config file's postgresQueryTimeoutMs / redisCommandTimeoutMs and validated with
 * it. (That serve hands them to every store client: htlc/hung-ledger.test.ts, flashsale/hung-queue.test.ts.)
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { killServers, runCli, serveCli } from "../cli.js";
import { runCliInProcess } from "../cli-in-process.js";

const dir = mkdtempSync(join(tmpdir(), "escrow-timeouts-"));
afterAll(() => {
  killServers();
  rmSync(dir, { recursive: true, force: true });
});

describe("meridian escrow serve: store timeouts", () => {
  it("rejects a timeout that is not whole milliseconds, or out of the config key's bounds, naming it, with exit 2", async () => {
    const cases: [string[], RegExp][] = [
      [["--postgres-query-timeout", "soon"], /--postgres-query-timeout: got "soon"; expected whole milliseconds/],
      [["--redis-command-timeout", "1.5"], /--redis-command-timeout: got "1.5"; expected whole milliseconds/],
      [["--postgres-query-timeout", "50"], /postgresQueryTimeoutMs/],
      [["--redis-command-timeout", "999999"], /redisCommandTimeoutMs/],
    ];
    for (const [args, message] of cases) {
      const r = await runCliInProcess(["escrow", "serve", "--stack", "local", "--port", "0", ...args]);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it("reads them from the config file too (bounded there as well), and starts with them", async () => {
    const config = JSON.parse(runCli(["escrow", "config", "--stack", "local"]).stdout) as Record<string, unknown>;
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ ...config, postgresQueryTimeoutMs: 20 }));
    const r = await runCliInProcess(["escrow", "serve", "--config", bad, "--port", "0"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/postgresQueryTimeoutMs/);
    const good = join(dir, "good.json");
    writeFileSync(good, JSON.stringify({ ...config, postgresQueryTimeoutMs: 2_000, redisCommandTimeoutMs: 1_000 }));
    const { url } = await serveCli(["escrow", "serve", "--config", good, "--port", "0", "--redis-command-timeout", "500"]);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
  });
});
