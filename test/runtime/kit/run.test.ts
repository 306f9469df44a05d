// A kit service as a process (`meridian time serve`): one JSON ready line, SIGTERM drains and exits 0, a taken
// port or a bad config file is one line on stderr and a prompt exit (1 and 2).
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MERIDIAN_BIN, REPO_ROOT } from "../../cli.js";

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the CLI; `onReady` is called with the parsed ready line when one appears. */
function run(args: string[], onReady?: (line: { url: string; pid: number }, child: ReturnType<typeof spawn>) => void): Promise<Exit> {
  const child = spawn(process.execPath, [MERIDIAN_BIN, ...args], { cwd: REPO_ROOT });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
    const line = stdout.split("\n").find((l) => l.startsWith("{"));
    if (line && onReady) {
      const ready = onReady;
      onReady = undefined;
      ready(JSON.parse(line) as { url: string; pid: number }, child);
    }
  });
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  return new Promise((resolve) => child.on("exit", (code) => (clearTimeout(killer), resolve({ code, stdout, stderr }))));
}

describe("runService", () => {
  let blocker: Server;
  let taken: number;
  const dir = mkdtempSync(join(tmpdir(), "kit-run-"));
  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    taken = (blocker.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => blocker.close(() => r())));

  it("prints one JSON ready line, serves, and exits 0 on SIGTERM", async () => {
    const config = join(dir, "clock.yaml");
    writeFileSync(config, "region: r1\nmaxOffsetMs: 250\nserver:\n  port: 0\n");
    let health = 0;
    const exit = await run(["time", "serve", "--config", config], (line, child) => {
      void fetch(`${line.url}/healthz`).then((r) => {
        health = r.status;
        child.kill("SIGTERM");
      });
    });
    expect(exit.code).toBe(0);
    expect(health).toBe(200);
    const lines = exit.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ ready: true, service: "clock", url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), endpoints: { http: expect.any(String) } });
  });

  it("a taken port: one line naming host:port, exit 1", async () => {
    const exit = await run(["time", "serve", "--port", String(taken), "--region", "r1", "--max-offset-ms", "250"]);
    expect(exit.code).toBe(1);
    expect(exit.stderr).toBe(`meridian time serve: cannot listen on 127.0.0.1:${taken} (http): address already in use\n`);
    expect(exit.stdout).toBe("");
  });

  it("the grandmaster names its NTP port when that is the one taken", async () => {
    const udp = (await import("node:dgram")).createSocket("udp4");
    await new Promise<void>((r) => udp.bind(0, "127.0.0.1", r));
    try {
      const port = udp.address().port;
      const exit = await run(["time", "grandmaster", "--port", String(port)]);
      expect(exit.code).toBe(1);
      expect(exit.stderr).toBe(`meridian time grandmaster: cannot listen on 127.0.0.1:${port} (ntp): address already in use\n`);
    } finally {
      udp.close();
    }
  });

  it("a bad config file: one line naming the file and the keys, exit 2", async () => {
    const config = join(dir, "bad.yaml");
    writeFileSync(config, "region: r1\nmaxOffsetMs: fast\nserver:\n  port: 0\n  timeout: 5\n");
    const exit = await run(["time", "serve", "--config", config]);
    expect(exit.code).toBe(2);
    expect(exit.stderr.trim().split("\n")).toHaveLength(1);
    expect(exit.stderr).toMatch(new RegExp(`^meridian time serve: config ${config.replace(/[.]/g, "\\.")}: server: Unrecognized key: "timeout"; maxOffsetMs: `));
  });
});
