/**
 * The rate limit service on a Redis Cluster run as managed clusters are: TLS only (the cluster bus too) with a
 * test CA, an ACL user limited to `mrl:*` keys, its name and password read from files as a mounted Secret holds
 * them (never on the command line). Three real `meridian ratelimit serve` processes take concurrent load across
 * several per-second window boundaries and never admit more than a limit in the window each decision was made
 * in; a wrong password, an unknown CA or a certificate for another name is refused at start naming what is
 * wrong, and a password rotated under a running replica turns its /readyz 503.
 *
 * Attribution, as in ratelimit-exact.test.ts: an answer decided at t (Redis TIME) carries
 * duration_until_reset = end − t; with t in [sent, received] and a round trip under the period P, the window
 * end is the one multiple of P in [sent + duration, received + duration].
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MERIDIAN_BIN, REPO_ROOT } from "../cli.js";
import { d, rlsClient } from "../runtime/ratelimit/rls-client.js";
import { startRedisCluster, type RedisCluster } from "../runtime/ratelimit/redis-cluster.js";

const LIMITS = { a: 15, b: 9 } as const;
const P = 1000;
const dir = mkdtempSync(join(tmpdir(), "mrl-cluster-tls-"));
const rules = join(dir, "rules.yaml");
writeFileSync(
  rules,
  `domain: tls
descriptors:
  - key: a
    rate_limit: { unit: second, requests_per_unit: ${LIMITS.a} }
  - key: b
    rate_limit: { unit: second, requests_per_unit: ${LIMITS.b} }
`,
);
const children: ChildProcess[] = [];
let cluster: RedisCluster;
/** The second test's cluster (certificates for `localhost` only). */
let named: RedisCluster;

// Both clusters start side by side: most of a start is waiting (each node answering, the cluster agreeing on its slots).
beforeAll(async () => {
  const [main, byName] = await Promise.allSettled([startRedisCluster({ secure: true }), startRedisCluster({ secure: true, san: "DNS:localhost" })]);
  if (main.status === "fulfilled") cluster = main.value;
  if (byName.status === "fulfilled") named = byName.value;
  if (main.status === "rejected") throw main.reason;
  if (byName.status === "rejected") throw byName.reason;
}, 90_000);
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await Promise.all([cluster?.stop(), named?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

const access = (over: { ca?: string; serverName?: string; passwordFile?: string } = {}) => {
  const s = cluster.secure!;
  return [
    "--redis-cluster",
    cluster.spec,
    "--redis-tls-ca",
    over.ca ?? s.caFile,
    "--redis-tls-server-name",
    over.serverName ?? s.serverName,
    "--redis-username-file",
    join(s.secretDir, "username"),
    "--redis-password-file",
    over.passwordFile ?? join(s.secretDir, "password"),
  ];
};

/** A `serve` process: its HTTP and gRPC ports once ready, or its exit code and stderr when it refuses to start. */
function serve(args: string[], prefix: string): Promise<{ http: string; grpc: number; child: ChildProcess } | { exit: number | null; stderr: string }> {
  const child = spawn(
    process.execPath,
    [
      MERIDIAN_BIN,
      "ratelimit",
      "serve",
      "--rules",
      rules,
      ...args,
      "--redis-prefix",
      prefix,
      "--instances",
      "3",
      "--redis-timeout-ms",
      "3000",
      "--port",
      "0",
      "--grpc-port",
      "0",
      "--host",
      "127.0.0.1",
    ],
    { cwd: REPO_ROOT },
  );
  children.push(child);
  return new Promise((resolve) => {
    let out = "";
    let err = "";
    child.stderr!.on("data", (b: Buffer) => (err += b.toString()));
    child.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      if (!out.includes("\n")) return;
      const ready = JSON.parse(out.slice(0, out.indexOf("\n"))) as { endpoints: { http: string; grpc: string } };
      resolve({ http: ready.endpoints.http, grpc: Number(new URL(ready.endpoints.grpc).port), child });
    });
    child.once("exit", (code) => resolve({ exit: code, stderr: err }));
  });
}

async function ready(args: string[], prefix: string) {
  const r = await serve(args, prefix);
  if ("exit" in r) throw new Error(`serve exited ${r.exit}: ${r.stderr}`);
  return r;
}

describe("serve on a TLS Redis Cluster with an ACL user from a mounted Secret", () => {
  it("three replicas under concurrent load across per-second windows never admit more than the limit in a window", async () => {
    const prefix = `mrl:test:tls:${process.pid}:`;
    const replicas = await Promise.all([0, 1, 2].map(() => ready(access(), prefix)));
    for (const r of replicas) expect(r.child.spawnargs.join(" ")).not.toContain(cluster.secure!.password);
    const clients = replicas.map((r) => rlsClient(`127.0.0.1:${r.grpc}`));
    // A round trip over one window makes its decision's window ambiguous: such a run proves nothing either way (a
    // loaded machine), so it is run again with fresh keys — up to three times — rather than judged.
    let admitted = new Map<string, number>();
    let calls = 0;
    let maxRtt = 0;
    for (let run = 0; run < 3 && (run === 0 || maxRtt >= P); run++) {
      admitted = new Map();
      calls = 0;
      maxRtt = 0;
      await load(`run${run}`);
    }
    async function load(tag: string) {
      const end = Date.now() + 4500;
      const worker = async (w: number) => {
        for (let i = 0; Date.now() < end; i++) {
          const key = (w + i) % 3 === 0 ? "b" : "a";
          const client = clients[(w + i) % clients.length]!;
          const sent = Date.now();
          const r = await client.call({ domain: "tls", descriptors: [d([[key, tag]])] });
          const received = Date.now();
          calls++;
          maxRtt = Math.max(maxRtt, received - sent);
          const s = r.statuses[0]!;
          if (s.code !== "OK") continue;
          const dur = s.duration_until_reset!.seconds * 1000 + s.duration_until_reset!.nanos / 1e6;
          const windowEnd = Math.ceil((sent + dur) / P) * P;
          expect(windowEnd, "one window end in [sent + duration, received + duration]").toBeLessThanOrEqual(received + dur + 1);
          admitted.set(`${key}@${windowEnd}`, (admitted.get(`${key}@${windowEnd}`) ?? 0) + 1);
        }
      };
      await Promise.all(Array.from({ length: 9 }, (_, w) => worker(w)));
    }
    const ctx = `${calls} calls, slowest round trip ${maxRtt} ms`;
    expect(maxRtt, `round trips must stay under one window for exact attribution (${ctx})`).toBeLessThan(P);
    for (const [k, n] of admitted) expect(n, `${k} admitted ${n} (${ctx})`).toBeLessThanOrEqual(LIMITS[k.split("@")[0] as keyof typeof LIMITS]);
    const windows = new Set([...admitted.keys()].map((k) => k.split("@")[1]));
    expect(windows.size, `windows seen (${ctx})`).toBeGreaterThanOrEqual(4);
    // Saturated: some window of each key reached exactly its limit.
    for (const key of ["a", "b"] as const) expect(Math.max(...[...admitted].filter(([k]) => k.startsWith(`${key}@`)).map(([, n]) => n)), ctx).toBe(LIMITS[key]);

    // The counters are on the cluster, as the ACL user wrote them (over TLS): a window's counter expires with its
    // window, so the one a call has just written is looked for (again after another call, should a loaded machine
    // take longer than the window between the two).
    const admin = new Cluster(cluster.nodes, { redisOptions: cluster.admin, dnsLookup: (a, cb) => cb(null, a) });
    try {
      await admin.ping();
      let keys: string[] = [];
      for (let tries = 0; tries < 5 && keys.length === 0; tries++) {
        await clients[0]!.call({ domain: "tls", descriptors: [d([["a", "keys"]])] });
        keys = (await Promise.all(admin.nodes("master").map((n) => n.keys(`${prefix}*`)))).flat();
      }
      expect(keys.length).toBeGreaterThan(0);
    } finally {
      admin.disconnect();
      for (const c of clients) c.close();
    }

    // The user's password rotated on the cluster: the running replica's /readyz says so (503) and names it.
    expect((await fetch(`${replicas[0]!.http}/readyz`)).status).toBe(200);
    const rotated = "rotated-" + Date.now();
    await Promise.all(
      cluster.nodes.map(async (n) => {
        const r = new Redis({ ...cluster.admin, ...n });
        try {
          await r.call("ACL", "SETUSER", "meridian", "resetpass", `>${rotated}`);
          // Connections already authenticated stay so; the user's live sessions go, as a rotation would end them.
          await r.call("CLIENT", "KILL", "USER", "meridian");
        } finally {
          r.disconnect();
        }
      }),
    );
    const notReady = await fetch(`${replicas[0]!.http}/readyz`);
    expect(notReady.status).toBe(503);
    expect(JSON.stringify(await notReady.json())).toMatch(/credentials refused: WRONGPASS/);
    // Restore, for the refusals below.
    await Promise.all(
      cluster.nodes.map(async (n) => {
        const r = new Redis({ ...cluster.admin, ...n });
        await r.call("ACL", "SETUSER", "meridian", "resetpass", `>${cluster.secure!.password}`).finally(() => r.disconnect());
      }),
    );
    for (const r of replicas) r.child.kill("SIGTERM");
  }, 60_000);

  // The two cases after the load test run side by side: they share no cluster (this one has its own), no process and
  // no file but the read-only ones, and neither times anything.
  it.concurrent(
    "seeds given by name: the nodes the cluster announces by address are checked against that name",
    async () => {
      // Certificates for `localhost` only (`named`, started beside the first cluster): a node reached at 127.0.0.1
      // verifies only under the seeds' name.
      const s = named.secure!;
      const seeds = named.nodes.map((n) => `localhost:${n.port}`).join(",");
      const args = ["--redis-cluster", seeds, "--redis-tls-ca", s.caFile, "--redis-username-file", join(s.secretDir, "username"), "--redis-password-file", join(s.secretDir, "password")];
      const r = await ready(args, `mrl:test:tls-named:${process.pid}:`);
      const client = rlsClient(`127.0.0.1:${r.grpc}`);
      // Keys in several slots, so the answer needs every master (each reached at the address it announces).
      const answers = await Promise.all(["k1", "k2", "k3", "k4", "k5", "k6"].map((v) => client.call({ domain: "tls", descriptors: [d([["a", v]])] })));
      client.close();
      expect(answers.map((a) => a.overall_code)).toEqual(Array(6).fill("OK"));
      r.child.kill("SIGTERM");
    },
    60_000,
  );

  it.concurrent(
    "a wrong password, an unknown CA or a certificate for another name is refused at start, naming what is wrong",
    async () => {
      const wrong = join(dir, "wrong-password");
      writeFileSync(wrong, "not-the-password\n");
      const prefix = `mrl:test:tls-refused:${process.pid}:`;
      // The system's CAs do not know the test CA.
      const otherCa = join(dir, "other-ca.crt");
      writeFileSync(otherCa, (await import("node:tls")).rootCertificates[0]!);
      // Five processes that each end by themselves, on nothing they share but the read-only files: side by side (the
      // plaintext one waits out its store timeout).
      const [badPassword, badCa, badName, plain, missing] = await Promise.all([
        serve(access({ passwordFile: wrong }), prefix),
        serve(access({ ca: otherCa }), prefix),
        serve(access({ serverName: "other.test" }), prefix),
        // No TLS at all towards a TLS-only cluster: it does not answer (no silent plaintext fallback).
        serve(["--redis-cluster", cluster.spec], prefix),
        serve(access({ passwordFile: join(dir, "no-such-file") }), prefix),
      ]);
      expect(badPassword).toMatchObject({ exit: 1 });
      expect((badPassword as { stderr: string }).stderr).toMatch(/credentials refused: WRONGPASS/);

      expect(badCa).toMatchObject({ exit: 1 });
      expect((badCa as { stderr: string }).stderr).toMatch(/TLS refused: .*certificate/);

      expect(badName).toMatchObject({ exit: 1 });
      expect((badName as { stderr: string }).stderr).toMatch(/TLS refused: .*other\.test/);

      expect(plain).toMatchObject({ exit: 1 });

      expect(missing).toMatchObject({ exit: 2 });
      expect((missing as { stderr: string }).stderr).toMatch(/redisAuth\.passwordFile: cannot read \(ENOENT\)/);
    },
    60_000,
  );
});
