/**
 * A real 3-master Redis Cluster on loopback ports in a temp dir, for tests that must see Redis Cluster's
 * own rules (slots, CROSSSLOT, MOVED): `redis-server --cluster-enabled yes` three times, then
 * `redis-cli --cluster create`. Start it once per test file; `stop()` kills the servers and removes
 * the directory.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";

export interface RedisCluster {
  nodes: { host: string; port: number }[];
  /** `host:port,host:port,…` as `--redis-cluster` takes it. */
  spec: string;
  stop(): Promise<void>;
}

/** A port that is free and whose cluster bus port (port + 10000) is free too. */
async function freePortPair(): Promise<number> {
  const tryPort = (p: number) =>
    new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once("error", () => resolve(false));
      s.listen(p, "127.0.0.1", () => s.close(() => resolve(true)));
    });
  for (let i = 0; i < 200; i++) {
    const p = 20000 + Math.floor(Math.random() * 30000);
    if ((await tryPort(p)) && (await tryPort(p + 10000))) return p;
  }
  throw new Error("no free port pair for a Redis Cluster node");
}

async function waitFor(cond: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startRedisCluster(): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), "mrl-cluster-"));
  const procs: ChildProcess[] = [];
  const ports: number[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const port = await freePortPair();
      ports.push(port);
      const p = spawn(
        "redis-server",
        [
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--dir",
          dir,
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          `nodes-${port}.conf`,
          "--cluster-node-timeout",
          "2000",
          "--appendonly",
          "no",
          "--save",
          "",
          "--protected-mode",
          "no",
          "--logfile",
          join(dir, `${port}.log`),
        ],
        { stdio: "ignore" },
      );
      procs.push(p);
    }
    for (const port of ports) await waitFor(async () => (await ping(port)) === "PONG", `redis-server :${port}`);
    const create = spawnSync("redis-cli", ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "0", "--cluster-yes"], { encoding: "utf8", timeout: 30_000 });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    for (const port of ports) await waitFor(async () => (await info(port)).includes("cluster_state:ok"), `cluster_state:ok on :${port}`);
  } catch (err) {
    for (const p of procs) p.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const nodes = ports.map((port) => ({ host: "127.0.0.1", port }));
  return {
    nodes,
    spec: nodes.map((n) => `${n.host}:${n.port}`).join(","),
    async stop() {
      for (const p of procs) p.kill("SIGKILL");
      await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once("exit", r)))));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function ping(port: number): Promise<string> {
  const r = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on("error", () => {});
  try {
    await r.connect();
    return await r.ping();
  } finally {
    r.disconnect();
  }
}

async function info(port: number): Promise<string> {
  const r = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on("error", () => {});
  try {
    await r.connect();
    return (await r.cluster("INFO")) as string;
  } finally {
    r.disconnect();
  }
}
