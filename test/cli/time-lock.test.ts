// The clock service holds its dataDir for as long as it runs (runtime/common/dir-lock.ts): `meridian time
// reset` and a second `time serve` on the same directory are refused with one line naming the running
// process, changing nothing; after kill -9 the lock it left is stale and taken over — nothing blocks.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { UPPER_BOUND_FILE } from "../../runtime/clock/index.js";
import { DirectoryLockedError, lockDirectory } from "../../runtime/common/dir-lock.js";
import { killServers, serveCli } from "../cli.js";
import { runCliInProcess } from "../cli-in-process.js";

const dirs: string[] = [];
const scratch = () => {
  const d = mkdtempSync(join(tmpdir(), "hlc-lock-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  killServers();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const serve = (dir: string) => serveCli(["time", "serve", "--port", "0", "--region", "r1", "--max-offset-ms", "50", "--data-dir", dir]);

describe("the clock service's dataDir lock", () => {
  it("refuses `time reset` and a second `time serve` while the service runs; after kill -9 both go ahead", async () => {
    const dir = scratch();
    const s = await serve(dir);
    expect(JSON.parse(readFileSync(join(dir, "clock.lock"), "utf8"))).toMatchObject({ pid: s.child.pid });
    const stateBefore = readFileSync(join(dir, UPPER_BOUND_FILE), "utf8");

    const r = await runCliInProcess(["time", "reset", "--data-dir", dir, "--reason", "while running"]);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`refusing to reset: .* is in use by a running clock service \\(pid ${s.child.pid}\\).*stop it first, or reset the running service with POST /v1/time/reset`));
    // Nothing written: the running service's epoch is still 0.
    expect(JSON.parse(readFileSync(join(dir, UPPER_BOUND_FILE), "utf8")).epoch ?? 0).toBe(JSON.parse(stateBefore).epoch ?? 0);
    expect(((await (await fetch(`${s.url}/v1/time`)).json()) as { epoch: number }).epoch).toBe(0);

    await expect(serve(dir)).rejects.toThrow(new RegExp(`refusing to start: .* is in use by another clock service \\(pid ${s.child.pid}\\)`));

    const exited = new Promise((resolve) => s.child.once("exit", resolve));
    s.child.kill("SIGKILL");
    await exited;
    expect(existsSync(join(dir, "clock.lock"))).toBe(true); // kill -9 left it behind
    const after = await runCliInProcess(["time", "reset", "--data-dir", dir, "--reason", "after kill -9"]);
    expect(after.stderr).toBe("");
    expect(after.status).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject({ previousEpoch: 0, epoch: 1 });
    expect(existsSync(join(dir, "clock.lock"))).toBe(false); // the reset released its own lock
    const again = await serve(dir);
    expect(((await (await fetch(`${again.url}/v1/time`)).json()) as { epoch: number }).epoch).toBe(1);
  }, 120_000);

  it("lockDirectory: a live holder is refused by pid, a dead one's lock is taken over, a reused pid (other start time) too", async () => {
    const dir = scratch();
    const path = join(dir, "x.lock");
    const held = lockDirectory(dir, "x.lock");
    expect(() => lockDirectory(dir, "x.lock")).toThrow(DirectoryLockedError);
    expect(() => lockDirectory(dir, "x.lock")).toThrow(/in use by this process/);
    held.release();
    expect(existsSync(path)).toBe(false);

    // A process that has exited: its pid is dead.
    const child = spawn(process.execPath, ["-e", ""]);
    await new Promise((r) => child.once("exit", r));
    writeFileSync(path, JSON.stringify({ pid: child.pid, start: "1" }));
    const taken = lockDirectory(dir, "x.lock");
    expect(JSON.parse(readFileSync(path, "utf8"))).toMatchObject({ pid: process.pid });
    taken.release();

    // Our own pid but another start time: the pid was reused, the owner is gone.
    writeFileSync(path, JSON.stringify({ pid: process.pid, start: "0" }));
    lockDirectory(dir, "x.lock").release();

    // A live other process (this test's parent) holds it.
    writeFileSync(path, JSON.stringify({ pid: process.ppid, start: null }));
    expect(() => lockDirectory(dir, "x.lock", "a test holder")).toThrow(new RegExp(`in use by a test holder \\(pid ${process.ppid}\\)`));
  });
});
