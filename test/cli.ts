/** Run the real `meridian` CLI (bin/meridian.mjs) from this checkout, with the test's Node. */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
export const MERIDIAN_BIN = fileURLToPath(new URL("../bin/meridian.mjs", import.meta.url));

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, [MERIDIAN_BIN, ...args], {
    cwd: REPO_ROOT,
    input: options.input,
    env: { ...process.env, ...options.env },
    encoding: "utf8",
    timeout: options.timeoutMs ?? 180_000, // generous: CI machines may be loaded; a hang still ends the test
    // `plan --json` of the prod estate is over spawnSync's 1 MiB default.
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const servers: ChildProcess[] = [];

/**
 * A long-running `meridian` server (`log serve`, `log witness`, `map serve`, …): resolves once its ready
 * line names its URL (the kit's `… at http://…`, or JSON with `"url"`), rejects with its stderr if it exits
 * first. `killServers()` (in afterAll) SIGKILLs every one still running.
 */
export function serveCli(args: string[], env?: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [MERIDIAN_BIN, ...args], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], env: env && { ...process.env, ...env } });
  servers.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /at (http:\/\/\S+)/.exec(out) ?? /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (m) resolve({ child, url: m[1]! });
    });
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    child.on("exit", (code) => reject(new Error(`meridian ${args.slice(0, 2).join(" ")} exited (${code}): ${err.slice(-2000)}`)));
  });
}

export function killServers(): void {
  for (const c of servers) if (c.exitCode === null) c.kill("SIGKILL");
}
