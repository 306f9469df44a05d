/**
 * A real 3-master Redis Cluster on loopback ports in a temp dir, for tests that must see Redis Cluster's
 * own rules (slots, CROSSSLOT, MOVED): `redis-server --cluster-enabled yes` three times, then
 * `redis-cli --cluster create`. Start it once per test file; `stop()` kills the servers and removes
 * the directory.
 *
 * `secure: true` starts it as managed clusters run: TLS only (`port 0`, `tls-port`, `tls-cluster yes` for the
 * bus too) with a server certificate from a test CA for 127.0.0.1 and `redis.test` (or the `san` given), the default user behind a
 * password and an ACL user `meridian` limited to `mrl:*` keys, whose name and password are files in
 * `secretDir` as a mounted Secret holds them. The node configs are files: no password on a command line.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis, type RedisOptions } from "ioredis";
import { readLog, startOnFreePort } from "../../ports.js";

export interface RedisCluster {
  nodes: { host: string; port: number }[];
  /** `host:port,host:port,…` as `--redis-cluster` takes it. */
  spec: string;
  /** With `secure`: the CA bundle, the name the certificates carry, and a Secret-like dir with `username` and `password`. */
  secure?: { caFile: string; serverName: string; secretDir: string; username: string; password: string };
  /** Options for a test's own (administrative) connections: TLS and the default user's password when secure. */
  admin: RedisOptions;
  stop(): Promise<void>;
}

/**
 * A command run to its end without holding up this process's event loop (spawnSync did: two clusters started side by
 * side took turns, each `redis-cli --cluster create` waiting for its cluster to join).
 */
async function run(command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<void> {
  try {
    await promisify(execFile)(command, args, { encoding: "utf8", timeout: 30_000, ...(env && { env }) });
  } catch (e) {
    const r = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(" ")} failed: ${r.stdout ?? ""}${r.stderr ?? r.message}`, { cause: e });
  }
}

/** The test CA and a server certificate for 127.0.0.1 and redis.test (openssl, as the other TLS tests do). */
async function testCertificates(dir: string, san: string): Promise<{ ca: string; cert: string; key: string }> {
  const at = (f: string) => join(dir, f);
  const openssl = (args: string[]) => run("openssl", args);
  await openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=meridian test redis CA", "-keyout", at("ca.key"), "-out", at("ca.crt")]);
  await openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=redis.test", "-keyout", at("server.key"), "-out", at("server.csr")]);
  writeFileSync(at("san.ext"), `subjectAltName = ${san}\n`);
  await openssl(["x509", "-req", "-in", at("server.csr"), "-CA", at("ca.crt"), "-CAkey", at("ca.key"), "-CAcreateserial", "-days", "2", "-extfile", at("san.ext"), "-out", at("server.crt")]);
  return { ca: at("ca.crt"), cert: at("server.crt"), key: at("server.key") };
}

/**
 * A port that is free and whose cluster bus port (port + 10000) is free too, both below the kernel's ephemeral range
 * (32768 and up here): no port-0 listener or outgoing connection of another test is given either of them.
 */
export async function freePortPair(): Promise<number> {
  const tryPort = (p: number) =>
    new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once("error", () => resolve(false));
      s.listen(p, "127.0.0.1", () => s.close(() => resolve(true)));
    });
  for (let i = 0; i < 200; i++) {
    const p = 20000 + Math.floor(Math.random() * 2768);
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

/** `nextPort`: where each node's start attempts take their port from (its bus port is 10000 above). */
export async function startRedisCluster(opts: { secure?: boolean; san?: string; nextPort?: () => Promise<number> } = {}): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), "mrl-cluster-"));
  const procs: ChildProcess[] = [];
  const ports: number[] = [];
  let secure: RedisCluster["secure"];
  let admin: RedisOptions = {};
  let adminPassword = "";
  if (opts.secure) {
    const certs = await testCertificates(dir, opts.san ?? "IP:127.0.0.1, DNS:redis.test");
    adminPassword = randomBytes(18).toString("base64url");
    const password = randomBytes(18).toString("base64url");
    const secretDir = join(dir, "secret");
    mkdirSync(secretDir);
    writeFileSync(join(secretDir, "username"), "meridian\n");
    writeFileSync(join(secretDir, "password"), `${password}\n`);
    secure = { caFile: certs.ca, serverName: "redis.test", secretDir, username: "meridian", password };
    const san = opts.san ?? "";
    // Certificates for a name only: our own connections go to 127.0.0.1 and check that name.
    const name = opts.san && !san.includes("IP:127.0.0.1") ? /DNS:([^,\s]+)/.exec(san)?.[1] : undefined;
    admin = { tls: { ca: readFileSync(certs.ca), ...(name ? { servername: name } : {}) }, password: adminPassword };
  }
  try {
    // Each node on its own port pair; one that another process binds first (the pair was free when asked for) starts
    // again on another (test/ports.ts).
    for (let i = 0; i < 3; i++) {
      const log = join(dir, `node-${i}.log`);
      const start = async (port: number): Promise<number> => {
        const security = opts.secure
          ? (() => {
              const conf = join(dir, `tls-${port}.conf`);
              writeFileSync(
                conf,
                [
                  "port 0",
                  `tls-port ${port}`,
                  `tls-cert-file ${join(dir, "server.crt")}`,
                  `tls-key-file ${join(dir, "server.key")}`,
                  `tls-ca-cert-file ${join(dir, "ca.crt")}`,
                  "tls-auth-clients no",
                  "tls-cluster yes",
                  "tls-replication yes",
                  `masterauth ${adminPassword}`,
                  `user default on >${adminPassword} ~* &* +@all`,
                  `user meridian on >${secure!.password} ~mrl:* +@all`,
                  "",
                ].join("\n"),
              );
              return [conf];
            })()
          : ["--port", String(port)];
        const p = spawn(
          "redis-server",
          [
            ...security,
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
            log,
          ],
          { stdio: "ignore" },
        );
        procs.push(p);
        // Up once this very process answers: a node that cannot bind exits, and another server may hold the port.
        for (const end = Date.now() + 20_000; ; await new Promise((r) => setTimeout(r, 100))) {
          if (p.exitCode !== null || p.signalCode !== null) throw new Error(`redis-server :${port} exited (${p.exitCode ?? p.signalCode})`);
          if ((await processId(port, admin).catch(() => 0)) === p.pid) return port;
          if (Date.now() > end) {
            p.kill("SIGKILL");
            throw new Error(`timed out waiting for redis-server :${port}`);
          }
        }
      };
      ports.push(await startOnFreePort({ start, log: () => readLog(log), nextPort: opts.nextPort ?? freePortPair }));
    }
    const tlsArgs = opts.secure ? ["--tls", "--cacert", join(dir, "ca.crt")] : [];
    await run("redis-cli", [...tlsArgs, "--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "0", "--cluster-yes"], {
      ...process.env,
      ...(adminPassword ? { REDISCLI_AUTH: adminPassword } : {}),
    });
    for (const port of ports) await waitFor(async () => (await info(port, admin)).includes("cluster_state:ok"), `cluster_state:ok on :${port}`);
  } catch (err) {
    for (const p of procs) p.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const nodes = ports.map((port) => ({ host: "127.0.0.1", port }));
  return {
    nodes,
    spec: nodes.map((n) => `${n.host}:${n.port}`).join(","),
    ...(secure ? { secure } : {}),
    admin,
    async stop() {
      for (const p of procs) p.kill("SIGKILL");
      await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once("exit", r)))));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The process id of the server answering on `port`. */
async function processId(port: number, admin: RedisOptions): Promise<number> {
  const r = new Redis({ ...admin, port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000, commandTimeout: 1000 });
  r.on("error", () => {});
  try {
    await r.connect();
    return Number(/^process_id:(\d+)/m.exec(await r.info("server"))?.[1]);
  } finally {
    r.disconnect();
  }
}

async function info(port: number, admin: RedisOptions): Promise<string> {
  const r = new Redis({ ...admin, port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on("error", () => {});
  try {
    await r.connect();
    return (await r.cluster("INFO")) as string;
  } finally {
    r.disconnect();
  }
}

/** Every node of `cluster`, as its administrator: each command in turn (e.g. `ACL SETUSER …`, `CLIENT KILL USER …`). */
export async function onEveryNode(cluster: RedisCluster, commands: string[][]): Promise<void> {
  for (const n of cluster.nodes) {
    const admin = new Redis({ ...n, ...cluster.admin });
    try {
      for (const c of commands) await admin.call(c[0]!, ...c.slice(1));
    } finally {
      admin.disconnect();
    }
  }
}
