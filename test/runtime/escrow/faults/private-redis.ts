/**
 * A private redis-server for fault tests: its own port and directory, no automatic persistence, so a
 * test decides exactly what survives a kill -9 — nothing (restart empty), or an RDB snapshot it took
 * earlier in the sale (restart rolled back).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { BIND_FAILED, freePort, readLog, startOnFreePort } from "../../../ports.js";
import { dropPgSchema, ensurePgDatabase, uniqueName } from "../servers.js";

const LOG = "redis.log";

export class PrivateRedis {
  private proc: ChildProcess | null = null;
  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  /**
   * `nextPort`: where each start attempt's port comes from. The port was free when asked for, but another process
   * may bind it before redis-server does: then the first start moves to another one (test/ports.ts).
   */
  static async start(nextPort: () => Promise<number> = freePort): Promise<PrivateRedis> {
    const dir = mkdtempSync(join(tmpdir(), "meridian-redis-"));
    try {
      return await startOnFreePort({ start: (port) => new PrivateRedis(port, dir).launch(), log: () => readLog(join(dir, LOG)), nextPort });
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  /**
   * Start redis-server on this.port and wait until it (this process, not whatever else holds the port) answers;
   * else kill it and throw why, "the port is taken" when its log says the bind failed.
   */
  private async launch(): Promise<this> {
    const logfile = join(this.dir, LOG);
    const seen = readLog(logfile).length;
    const proc = spawn("redis-server", ["--port", String(this.port), "--bind", "127.0.0.1", "--dir", this.dir, "--logfile", logfile, "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no"], {
      stdio: "ignore",
    });
    this.proc = proc;
    const exited = new Promise<"exited">((res) => {
      if (proc.exitCode !== null || proc.signalCode !== null) res("exited");
      else proc.once("exit", () => res("exited"));
    });
    const failure = async (reason: string) => {
      await this.kill9();
      const why = BIND_FAILED.test(readLog(logfile).slice(seen)) ? "the port is taken" : reason;
      return new Error(`redis-server on port ${this.port} did not start: ${why}`);
    };
    for (let i = 0; i < 100; i++) {
      if (proc.exitCode !== null || proc.signalCode !== null) throw await failure(`it exited (${proc.exitCode ?? proc.signalCode})`);
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
        if (answered === true) return this;
      } catch {
        // not up yet
      } finally {
        c.disconnect();
      }
      await new Promise((res) => setTimeout(res, 50));
    }
    throw await failure("no answer within the wait");
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

  /** The server hangs (SIGSTOP): connections stay open, nothing is answered until SIGCONT. */
  signal(sig: "SIGSTOP" | "SIGCONT"): void {
    this.proc?.kill(sig);
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
    await startOnFreePort({ start: () => this.launch(), log: () => readLog(join(this.dir, LOG)), nextPort: () => Promise.resolve(this.port), attempts: 1 });
    if (from === "empty" && existsSync(dump)) throw new Error("expected no dump");
  }

  async stop(): Promise<void> {
    await this.kill9();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A private redis-server and a fresh journal schema for one test file's journaled stores: the server starts before
 * its tests; after them it stops and the schema is dropped.
 */
export function privateRedisForFile(schemaName: string): { readonly redis: PrivateRedis; readonly schema: string } {
  const schema = uniqueName(schemaName);
  let redis: PrivateRedis | undefined;
  beforeAll(async () => {
    await ensurePgDatabase();
    redis = await PrivateRedis.start();
  });
  afterAll(async () => {
    await redis?.stop();
    await dropPgSchema(schema);
  });
  return {
    get redis() {
      if (!redis) throw new Error("the private redis-server is not started (use it inside a test)");
      return redis;
    },
    schema,
  };
}
