/**
 * `meridian local` as a user meets it: bad arguments refused before anything starts, a taken port named
 * before any region runs, a second estate beside a running one, Ctrl-C with a dashboard tab open, and a
 * supervisor killed with -9 leaving no region behind.
 */
import { afterAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import net from "node:net";
import { MERIDIAN_BIN, REPO_ROOT } from "../cli.js";
import { runCliInProcess } from "../cli-in-process.js";
import { freePort } from "../ports.js";

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function start(args: string[], command = process.execPath, prefix = [MERIDIAN_BIN, "local"]): Running {
  const child = spawn(command, [...prefix, ...args], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function until<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Processes of `meridian <command>` (the regions', or the proof log's) whose parent is `ppid`, from /proc. */
function childrenOf(ppid: number, command = "local-region"): number[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const parent = Number(readFileSync(`/proc/${d}/stat`, "utf8").split(") ")[1]!.split(" ")[1]);
        return parent === ppid && readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0").includes(command);
      } catch {
        return false;
      }
    })
    .map(Number);
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const ready = (r: Running) =>
  until("the estate to be up", () => (/Ctrl-C stops everything/.test(r.stdout()) ? true : r.child.exitCode !== null ? Promise.reject(new Error(r.stderr())) : undefined), 90_000);

// Concurrent, as the lifecycle cases below are: the two groups run side by side (the checks while the estates start),
// and the real bin's case beside the in-process ones (which take turns in this process, test/cli-in-process.ts).
describe.concurrent("meridian local: arguments are checked before anything starts", () => {
  it("local --regions nope → exit 2 from the real bin, one line, nothing started", async () => {
    const r = start(["--regions", "nope"]);
    const status = await r.exited;
    expect(r.stderr()).toBe('meridian: --regions: no region "nope" in stack local; expected one of local-aws, local-gcp, local-azure\n');
    expect(status).toBe(2);
  }, 30_000);

  // In this process (a process per case costs a second or more of start-up; the bin's own wiring is the case above):
  // the command's own checks, with the status and stderr cli/main.ts gives them.
  it.each([
    [["--regions", "nope"], /--regions: no region "nope" in stack local; expected one of local-aws, local-gcp, local-azure/],
    [["--regions", "9"], /--regions: stack local has 3 regions; expected 1-3, got 9/],
    [["--port", "http"], /--port: expected a port number 0-65535/],
    [["--base-port", "70000"], /--base-port: expected a port number 0-65535/],
    [["--redis", "http://127.0.0.1:6379"], /--redis: expected a redis: or rediss: URL/],
    [["--stack", "nope"], /no such stack/],
    [["--routing", "random"], /--routing: expected one of weighted, geo, latency, failover, anycast, got "random"/],
    [["--weights", "local-aws=300"], /--weights: expected region=weight \(0-255\), got "local-aws=300"/],
    [["--weights", "nope=5"], /--weights: no region "nope" in stack local; expected one of local-aws, local-gcp, local-azure/],
    [["--query-log", "/nonexistent-dir/q.log"], /--query-log: directory \/nonexistent-dir does not exist/],
  ])("local %j → exit 2", async (args, message) => {
    const r = await runCliInProcess(["local", ...args]);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/starting|\n\s+at /);
    expect(r.status).toBe(2);
  });
});

// Side by side: each case runs a `meridian local` of its own, on ports of its own (a taken one, free ones or
// --auto-ports), and looks only at its own processes (by its supervisor's pid) and output. An estate's start is
// mostly CPU (five Node processes loading), so they overlap where a core is free.
describe.concurrent("meridian local: ports and lifecycle", () => {
  const started: Running[] = [];
  afterAll(async () => {
    for (const r of started) if (r.child.exitCode === null) r.child.kill("SIGKILL");
  });

  it("a busy dashboard port ends the start at once, naming the port, with no region started", async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = start(["--port", String(port), "--auto-ports"]);
      started.push(r);
      expect(await r.exited).toBe(1);
      expect(r.stderr()).toContain(`meridian local: 127.0.0.1:${port} (dashboard) is already in use`);
      expect(r.stderr()).toContain("--port <n>");
      expect(r.stderr()).not.toMatch(/starting region|\n\s+at /);
    } finally {
      blocker.close();
    }
  });

  it("a busy region address is named with the flag that moves it", async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.1.2", r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = start(["--base-port", String(port), "--auto-ports"]);
      started.push(r);
      expect(await r.exited).toBe(1);
      expect(r.stderr()).toContain(`127.0.1.2:${port} (region local-gcp) is already in use`);
      expect(r.stderr()).toContain("--base-port <n>");
    } finally {
      blocker.close();
    }
  });

  it("a second `npm start` beside a running one is refused clearly; Ctrl-C with a dashboard tab open stops everything", async () => {
    const ports = ["--port", String(await freePort()), "--dns-port", String(await freePort()), "--base-port", String(await freePort())];
    const first = start(ports);
    started.push(first);
    await ready(first);
    const regions = childrenOf(first.child.pid!);
    expect(regions).toHaveLength(3);
    const prooflog = childrenOf(first.child.pid!, "local-prooflog");
    expect(prooflog).toHaveLength(1);
    expect(first.stderr()).toMatch(/starting region local-aws …[\s\S]*region local-aws ready at http:\/\/127\.0\.1\.1:\d+ \(\d+\.\d s\)/);

    const second = start(["--", ...ports], "npm", ["start"]);
    started.push(second);
    expect(await second.exited).not.toBe(0);
    expect(second.stderr()).toMatch(/meridian local: 127\.0\.0\.1:\d+ \(dashboard\) is already in use — is another `meridian local` running\?/);
    expect(childrenOf(first.child.pid!).sort()).toEqual(regions.sort());

    // A dashboard tab: an open event stream.
    const dashboard = /dashboard\s+(http:\S+)/.exec(first.stdout())![1]!;
    const events = await fetch(`${dashboard}/api/events`);
    const reader = events.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toMatch(/^data: /);

    // The summary shows how to break it from another terminal, and that command works; a fault in force does not hold up Ctrl-C.
    const chaos = /^ {2}chaos\s+npx meridian (chaos skew --region local-azure --skew-ms \d+ --duration 30 --dashboard http:\S+) {3}/m.exec(first.stdout());
    expect(chaos, first.stdout()).not.toBeNull();
    // As a process that does not block this one (the other cases' estates are starting beside it).
    const injected = start(chaos![1]!.split(" "), process.execPath, [MERIDIAN_BIN]);
    await injected.exited;
    expect(injected.stderr()).toBe("");
    expect(injected.stdout()).toMatch(/^fault 1 on local-azure: clock skew \d+ ms for 30 s; reverts by itself at /);

    first.child.kill("SIGINT");
    expect(await first.exited).toBe(0);
    await until("the event stream to end", async () => ((await reader.read().catch(() => ({ done: true }))).done ? true : undefined), 5000);
    await until("every region process to exit", () => (regions.every((pid) => !isAlive(pid)) ? true : undefined), 5000);
    expect(prooflog.filter(isAlive)).toEqual([]);
  }, 150_000);

  it("SIGTERM stops every process the supervisor started — the regions and the proof log's — and exits 0", async () => {
    const r = start(["--auto-ports"]);
    started.push(r);
    await ready(r);
    const children = [...childrenOf(r.child.pid!), ...childrenOf(r.child.pid!, "local-prooflog")];
    expect(children).toHaveLength(4);
    r.child.kill("SIGTERM");
    expect(await r.exited).toBe(0);
    // Stopped in order before the supervisor exits, not left to notice it is gone.
    expect(children.filter(isAlive)).toEqual([]);
    expect(r.stderr()).not.toMatch(/is gone/);
  }, 120_000);

  it("a supervisor killed with -9 leaves no region process behind, nor the proof log's", async () => {
    const r = start(["--auto-ports"]);
    started.push(r);
    await ready(r);
    const regions = childrenOf(r.child.pid!);
    expect(regions).toHaveLength(3);
    const prooflog = childrenOf(r.child.pid!, "local-prooflog");
    expect(prooflog).toHaveLength(1);
    r.child.kill("SIGKILL");
    await until("every region process to exit", () => (regions.every((pid) => !isAlive(pid)) ? true : undefined), 5000);
    await until("the proof-log process to exit", () => (prooflog.every((pid) => !isAlive(pid)) ? true : undefined), 5000);
    // The supervisor can say nothing after -9; each region tells the terminal itself (the supervisor's stderr).
    await until("each region's notice on the terminal", () => ((r.stderr().match(/^meridian local: region \S+: the supervisor .*is gone.*; stopping/gm) ?? []).length === 3 ? true : undefined), 5000);
  }, 120_000);
});
