/**
 * A private redis-server for fault tests: its own port and directory, no automatic persistence, so a
 * test decides exactly what survives a kill -9 — nothing (restart empty), or an RDB snapshot it took
 * earlier in the sale (restart rolled back).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
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

  static async start(): Promise<PrivateRedis> {
    const r = new PrivateRedis(await freePort(), mkdtempSync(join(tmpdir(), "meridian-redis-")));
    await r.launch();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  private async launch(): Promise<void> {
    this.proc = spawn("redis-server", ["--port", String(this.port), "--bind", "127.0.0.1", "--dir", this.dir, "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
    for (let i = 0; i < 100; i++) {
      const c = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      c.on("error", () => undefined);
      try {
        await c.connect();
        // Loading an RDB answers LOADING until done.
        if ((await c.ping()) === "PONG") return;
      } catch {
        // not up yet
      } finally {
        c.disconnect();
      }
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error(`redis-server on ${this.port} did not start`);
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

  /** Start again on the same port: empty, or from the given snapshot (what an RDB restore or a lagging replica gives). */
  async restart(from: "empty" | string): Promise<void> {
    await this.kill9();
    const dump = join(this.dir, "dump.rdb");
    if (from === "empty") rmSync(dump, { force: true });
    else copyFileSync(from, dump);
    await this.launch();
    if (from === "empty" && existsSync(dump)) throw new Error("expected no dump");
  }

  async stop(): Promise<void> {
    await this.kill9();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
