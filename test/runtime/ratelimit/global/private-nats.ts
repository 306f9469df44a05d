/**
 * A private nats-server for identity tests: its own loopback port and directory, started from a config file the test
 * writes (an `authorization` block of nkey users), so what a client may publish is the server's own answer, not the
 * shared 127.0.0.1:4222's (which takes anyone).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readLog, startOnFreePort } from "../../../ports.js";

const NATS_SERVER = "/usr/sbin/nats-server";
const LOG = "nats.log";

/** True once something on the port greets as NATS does (`INFO {…}`) and reports our server's port. */
function greets(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: "127.0.0.1", port });
    let seen = "";
    s.setTimeout(1000, () => (s.destroy(), resolve(false)));
    s.on("data", (c) => {
      seen += c.toString("latin1");
      if (seen.includes("\n")) {
        s.destroy();
        resolve(seen.startsWith("INFO ") && seen.includes(`"port":${port}`));
      }
    });
    s.on("error", () => resolve(false));
  });
}

export class PrivateNats {
  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly proc: ChildProcess,
  ) {}

  /** Start nats-server with `conf` (nats-server's config syntax; JSON is a subset) on a free loopback port. */
  static async start(conf: string): Promise<PrivateNats> {
    const dir = mkdtempSync(join(tmpdir(), "meridian-nats-"));
    const file = join(dir, "nats.conf");
    writeFileSync(file, conf);
    try {
      return await startOnFreePort({ start: (port) => PrivateNats.launch(port, dir, file), log: () => readLog(join(dir, LOG)) });
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  private static async launch(port: number, dir: string, file: string): Promise<PrivateNats> {
    const proc = spawn(NATS_SERVER, ["-c", file, "-a", "127.0.0.1", "-p", String(port), "-l", join(dir, LOG)], { stdio: "ignore" });
    for (let i = 0; i < 100; i++) {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`nats-server on port ${port} exited (${proc.exitCode ?? proc.signalCode}): ${readLog(join(dir, LOG)).slice(-2000)}`);
      if (await greets(port)) return new PrivateNats(port, dir, proc);
      await new Promise((r) => setTimeout(r, 50));
    }
    proc.kill("SIGKILL");
    throw new Error(`nats-server on port ${port} did not greet within 5 s`);
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise((r) => this.proc.once("exit", r));
      this.proc.kill("SIGTERM");
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
