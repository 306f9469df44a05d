/**
 * A private redis-server for fault tests: its own port and directory, no automatic persistence, so a
 * test decides exactly what survives a kill -9 — nothing (restart empty), or an RDB snapshot it took
 * earlier in the sale (restart rolled back).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

export class PrivateRedis {
  private proc: ChildProcess | null = null;
  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  /**
   * `nextPort`: where each start attempt's port comes from. The port was free when asked for, but another process
   * may bind it before redis-server does: then the first start moves to another one (up to three attempts).
   */
  static async start(nextPort: () => Promise<number> = freePort): Promise<PrivateRedis> {
    const dir = mkdtempSync(join(tmpdir(), "meridian-redis-"));
    for (let attempt = 1; ; attempt++) {
      const r = new PrivateRedis(await nextPort(), dir);
      const failed = await r.launch();
      if (!failed) return r;
      if (attempt < 3 && failed.portTaken) continue;
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`redis-server on port ${r.port} did not start (attempt ${attempt}): ${failed.reason}\nredis log:\n${failed.log}`);
    }
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  private get logfile(): string {
    return join(this.dir, "redis.log");
  }

  private readLog(): string {
    try {
      return readFileSync(this.logfile, "utf8");
    } catch {
      return ""; // redis-server never started writing it
    }
  }

  /**
   * Start redis-server on this.port and wait until it (this process, not whatever else holds the port) answers.
   * Undefined once it does; else why not, whether its bind failed, and this launch's lines of its log.
   */
  private async launch(): Promise<{ reason: string; portTaken: boolean; log: string } | undefined> {
    const seen = this.readLog().length; // redis-server appends: this launch's lines follow the last one's
    const proc = spawn(
      "redis-server",
      ["--port", String(this.port), "--bind", "127.0.0.1", "--dir", this.dir, "--logfile", this.logfile, "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no"],
      { stdio: "ignore" },
    );
    this.proc = proc;
    const exited = new Promise<"exited">((res) => {
      if (proc.exitCode !== null || proc.signalCode !== null) res("exited");
      else proc.once("exit", () => res("exited"));
    });
    const failure = async (reason: string) => {
      await this.kill9();
      const log = this.readLog().slice(seen);
      const portTaken = /address already in use|could not create server tcp listening socket|failed listening on port/i.test(log);
      return { reason: portTaken ? "the port is taken" : reason, portTaken, log: log.trimEnd().split("\n").slice(-15).join("\n") };
    };
    for (let i = 0; i < 100; i++) {
      if (proc.exitCode !== null || proc.signalCode !== null) return failure(`redis-server exited (${proc.exitCode ?? proc.signalCode})`);
      const c = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000, commandTimeout: 1000 });
      c.on("error", () => undefined);
      try {
        const answered = await Promise.race([
          (async () => {
            await c.connect();
            // Loading an RDB answers LOADING until done.
            if ((await c.ping()) !== "PONG") return false;
            // Another server may hold the port (ours then exits): only our own process counts.
            return /^process_id:(\d+)/m.exec(await c.info("server"))?.[1] === String(proc.pid);
          })(),
          exited,
        ]);
        if (answered === true) return undefined;
      } catch {
        // not up yet
      } finally {
        c.disconnect();
      }
      await new Promise((res) => setTimeout(res, 50));
    }
    return failure("no answer within the wait");
  }

  /** An RDB snapshot of the data now, kept aside under `name`. */
  async snapshot(name: string): Promise<string> {
    const c = new Redis(this.url);
    await c.save();
    await c.quit();
    const file = join(this.dir, `${name}.rdb`);
    copyFileSync(join(this.dir, "dump.rdb"), file);
    return file;
  }

  async kill9(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((res) => p.once("exit", res));
    p.kill("SIGKILL");
    await exited;
  }

  /** Start again on the same port (never another: clients reconnect to it): empty, or from the given snapshot (what an RDB restore or a lagging replica gives). */
  async restart(from: "empty" | string): Promise<void> {
    await this.kill9();
    const dump = join(this.dir, "dump.rdb");
    if (from === "empty") rmSync(dump, { force: true });
    else copyFileSync(from, dump);
    // Clients reconnect to this port: a restart never moves. If something else took it meanwhile, say so.
    const failed = await this.launch();
    if (failed) throw new Error(`redis-server could not restart on port ${this.port}: ${failed.reason}\nredis log:\n${failed.log}`);
    if (from === "empty" && existsSync(dump)) throw new Error("expected no dump");
  }

  async stop(): Promise<void> {
    await this.kill9();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
