/** Run the real `meridian` CLI (bin/meridian.mjs) from this checkout, with the test's Node. */
import { spawnSync } from "node:child_process";
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
