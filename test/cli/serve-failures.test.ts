// Every `serve` command on a taken port prints one line naming the port and exits 1; on an unreachable store,
// one line naming the store and exit 1 — promptly, never a stack trace, a retry storm or a hang.
import { spawn } from "node:child_process";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GENESIS_PARENT, issue, memberKey } from "../../runtime/certchain/index.js";
import { NtpServer } from "../../runtime/clock/ntp/server.js";
import { encodeBlob, writeEncoded } from "../../runtime/das/index.js";
import { ALG_COSIGNATURE_V1, generateKey } from "../../runtime/prooflog/note.js";
import { MERIDIAN_BIN, REPO_ROOT } from "../cli.js";
import pLimit from "p-limit";
import { dropSchema, ensureQuotaDb, PG_URL, TREE, uniqueSchema } from "../runtime/quota/fixture.js";

const dir = mkdtempSync(join(tmpdir(), "serve-failures-"));
const logKey = generateKey("meridian.test/ports");
const witnessKey = generateKey("w.test/witness", ALG_COSIGNATURE_V1);
const quotaSchema = uniqueSchema("quota_ports");
/** A quota config whose store answers (the port check comes after the store probe and the writer lock). */
const quotaConfig = (postgres: string) => {
  const file = join(dir, `quota-${postgres.includes("5432") ? "up" : "down"}.json`);
  writeFileSync(file, JSON.stringify({ ...TREE, postgres, schema: quotaSchema, log: "http://127.0.0.1:9/" }));
  return file;
};
writeFileSync(join(dir, "w.key"), witnessKey.signerKey);
writeFileSync(join(dir, "rules.yaml"), "domain: d\ndescriptors:\n  - key: k\n    rate_limit: {unit: second, requests_per_unit: 5}\n");
writeFileSync(join(dir, "health.json"), JSON.stringify({ region: "r1", signals: [{ name: "none", path: "/healthz/none", probes: [] }] }));
writeFileSync(join(dir, "replication.json"), JSON.stringify({ region: "r1", copies: [{ writer: "w", url: "postgres://postgres@127.0.0.1:5432/postgres" }] }));
writeFileSync(join(dir, "allocator.yaml"), "resources:\n  - { id: checkout, capacity: 100 }\n");
writeFileSync(join(dir, "policy.txt"), `log ${logKey.verifierKey}\nquorum none\n`);
writeFileSync(join(dir, "log.key"), logKey.signerKey);
const certMembers = [1, 2, 3, 4].map((i) => memberKey(new Uint8Array(32).fill(i)));
const certCommittee = { members: certMembers.map((k) => k.publicKey), quorum: 3 };
writeFileSync(join(dir, "cert-committee.json"), JSON.stringify(certCommittee));
writeFileSync(
  join(dir, "cert-start.json"),
  JSON.stringify(
    issue(
      { height: 0, parent: GENESIS_PARENT, root: "11".repeat(32) },
      certCommittee,
      [0, 1, 2].map((index) => ({ index, key: certMembers[index]! })),
    ),
  ),
);
writeEncoded(join(dir, "das"), encodeBlob(new TextEncoder().encode("shards to serve"), 2, 4));
writeFileSync(
  join(dir, "attest.json"),
  JSON.stringify({
    key: generateKey("meridian.test/attest").signerKey,
    nodes: { n1: { ak: readFileSync(new URL("../testdata/attest/ak.pem", import.meta.url), "utf8"), reference: { sha256: { "16": "00".repeat(32) } } } },
  }),
);

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Two CLI processes at a time (the cases below run side by side): more would only take the other worker's CPU. */
const slots = pLimit(2);

/** Run the CLI to its exit; a hang is killed after 20 s and shows as code null. */
function run(args: string[]): Promise<Exit> {
  return slots(() => runNow(args));
}

function runNow(args: string[]): Promise<Exit> {
  const child = spawn(process.execPath, [MERIDIAN_BIN, ...args], { cwd: REPO_ROOT });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  return new Promise((resolve) => child.on("exit", (code) => (clearTimeout(killer), resolve({ code, stdout, stderr }))));
}

let tcp: Server;
let udp: UdpSocket;
let takenTcp = 0;
let takenUdp = 0;
let refused = 0;
/**
 * The relays' reference: `time relay` asks its references once before it listens, and an address that never answers
 * held each relay case for its 1 s query timeout before the port was even tried. This one answers (stratum 1).
 */
const reference = new NtpServer({
  now: () => Date.now(),
  state: () => ({ leap: 0, synchronized: true, referenceId: "TEST", referenceMs: Date.now(), rootDispersionS: 0.001, precision: -20 }),
});
let referencePort = 0;
beforeAll(async () => {
  referencePort = await reference.listen(0, "127.0.0.1");
  tcp = createServer();
  await new Promise<void>((r) => tcp.listen(0, "127.0.0.1", r));
  takenTcp = (tcp.address() as { port: number }).port;
  udp = createSocket("udp4");
  await new Promise<void>((r) => udp.bind(0, "127.0.0.1", r));
  takenUdp = udp.address().port;
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
  refused = (closed.address() as { port: number }).port;
  await new Promise<void>((r) => closed.close(() => r()));
  await ensureQuotaDb();
});
afterAll(async () => {
  await dropSchema(quotaSchema);
  await reference.close();
  udp?.close();
  return new Promise<void>((r) => tcp.close(() => r()));
});

interface Row {
  command: string;
  args: () => string[];
  /** What the one line must say. */
  line: () => RegExp;
}

const takenPort: Row[] = [
  {
    command: "time serve",
    args: () => ["time", "serve", "--port", String(takenTcp), "--region", "r1", "--max-offset-ms", "250"],
    line: () => new RegExp(`^meridian time serve: cannot listen on 127\\.0\\.0\\.1:${takenTcp} \\(http\\): address already in use$`),
  },
  {
    command: "time grandmaster (NTP port)",
    args: () => ["time", "grandmaster", "--port", String(takenUdp)],
    line: () => new RegExp(`^meridian time grandmaster: cannot listen on 127\\.0\\.0\\.1:${takenUdp} \\(ntp\\): address already in use$`),
  },
  {
    command: "time grandmaster (admin port)",
    args: () => ["time", "grandmaster", "--port", "0", "--http-port", String(takenTcp)],
    line: () => new RegExp(`^meridian time grandmaster: cannot listen on 127\\.0\\.0\\.1:${takenTcp} \\(http\\): address already in use$`),
  },
  {
    command: "log witness",
    args: () => ["log", "witness", "--key", join(dir, "w.key"), "--log-vkey", logKey.verifierKey, "--data", join(dir, "w"), "--port", String(takenTcp)],
    line: () => new RegExp(`^meridian log witness: cannot listen on 127\\.0\\.0\\.1:${takenTcp} \\(http\\): address already in use$`),
  },
  {
    command: "log serve",
    args: () => ["log", "serve", "--data", join(dir, "log"), "--origin", "meridian.test/ports", "--key", join(dir, "log.key"), "--port", String(takenTcp)],
    line: () => new RegExp(`^meridian log serve: cannot listen on 127\\.0\\.0\\.1:${takenTcp} \\(http\\): address already in use$`),
  },
  {
    command: "ratelimit quota",
    args: () => ["ratelimit", "quota", "--config", quotaConfig(PG_URL), "--port", String(takenTcp)],
    line: () => new RegExp(`^meridian ratelimit quota: cannot listen on 127\\.0\\.0\\.1:${takenTcp} \\(http\\): address already in use$`),
  },
  {
    command: "escrow serve",
    args: () => ["escrow", "serve", "--stack", "local", "--port", String(takenTcp)],
    line: () => new RegExp(`^meridian escrow serve: cannot listen on 127\\.0\\.0\\.1:${takenTcp} \\(http\\): address already in use$`),
  },
  {
    command: "ratelimit serve (HTTP port)",
    args: () => ["ratelimit", "serve", "--rules", join(dir, "rules.yaml"), "--port", String(takenTcp), "--grpc-port", "0"],
    line: () => new RegExp(`^meridian ratelimit serve: cannot listen on 127\\.0\\.0\\.1:${takenTcp} \\(http\\): address already in use$`),
  },
  {
    command: "ratelimit serve (gRPC port)",
    args: () => ["ratelimit", "serve", "--rules", join(dir, "rules.yaml"), "--port", "0", "--grpc-port", String(takenTcp)],
    line: () => new RegExp(`^meridian ratelimit serve: cannot listen on 127\\.0\\.0\\.1:${takenTcp} \\(grpc\\): address already in use$`),
  },
  {
    command: "ratelimit allocator",
    args: () => ["ratelimit", "allocator", "--config", join(dir, "allocator.yaml"), "--port", String(takenTcp)],
    line: () => new RegExp(`^meridian ratelimit allocator: cannot listen on 127\\.0\\.0\\.1:${takenTcp} \\(http\\): address already in use$`),
  },
  {
    command: "map serve",
    args: () => ["map", "serve", "--map", "m", "--port", String(takenTcp)],
    line: () => new RegExp(`^meridian map serve: cannot listen on 127\\.0\\.0\\.1:${takenTcp} \\(http\\): address already in use$`),
  },
  {
    command: "health serve",
    args: () => ["health", "serve", "--config", join(dir, "health.json"), "--port", String(takenTcp)],
    line: () => new RegExp(`^meridian health serve: cannot listen on 127\\.0\\.0\\.1:${takenTcp} \\(http\\): address already in use$`),
  },
  {
    command: "replication monitor",
    args: () => ["replication", "monitor", "--config", join(dir, "replication.json"), "--port", String(takenTcp)],
    line: () => new RegExp(`^meridian replication monitor: cannot listen on 127\\.0\\.0\\.1:${takenTcp} \\(http\\): address already in use$`),
  },
  {
    command: "log monitor",
    args: () => ["log", "monitor", "--log", "http://127.0.0.1:9/", "--policy", join(dir, "policy.txt"), "--port", String(takenTcp)],
    line: () => new RegExp(`^meridian log monitor: cannot listen on 127\\.0\\.0\\.1:${takenTcp} \\(http\\): address already in use$`),
  },
  {
    command: "das serve",
    args: () => ["das", "serve", "--dir", join(dir, "das"), "--port", String(takenTcp)],
    line: () => new RegExp(`^meridian das serve: cannot listen on 127\\.0\\.0\\.1:${takenTcp} \\(http\\): address already in use$`),
  },
  {
    command: "cert serve",
    args: () => ["cert", "serve", "--committee", join(dir, "cert-committee.json"), "--start", join(dir, "cert-start.json"), "--port", String(takenTcp)],
    line: () => new RegExp(`^meridian cert serve: cannot listen on 127\\.0\\.0\\.1:${takenTcp} \\(http\\): address already in use$`),
  },
  {
    command: "mpt serve",
    args: () => ["mpt", "serve", "--port", String(takenTcp)],
    line: () => new RegExp(`^meridian mpt serve: cannot listen on 127\\.0\\.0\\.1:${takenTcp} \\(http\\): address already in use$`),
  },
  {
    command: "fraud serve",
    args: () => ["fraud", "serve", "--vkey", logKey.verifierKey, "--port", String(takenTcp)],
    line: () => new RegExp(`^meridian fraud serve: cannot listen on 127\\.0\\.0\\.1:${takenTcp} \\(http\\): address already in use$`),
  },
  {
    command: "time relay (NTP port)",
    args: () => ["time", "relay", "--reference", `a=127.0.0.1:${referencePort}`, "--port", String(takenUdp)],
    line: () => new RegExp(`^meridian time relay: cannot listen on 127\\.0\\.0\\.1:${takenUdp} \\(ntp\\): address already in use$`),
  },
  {
    command: "time relay (HTTP port)",
    args: () => ["time", "relay", "--reference", `a=127.0.0.1:${referencePort}`, "--port", "0", "--http-port", String(takenTcp)],
    line: () => new RegExp(`^meridian time relay: cannot listen on 127\\.0\\.0\\.1:${takenTcp} \\(http\\): address already in use$`),
  },
  {
    command: "attest serve",
    args: () => ["attest", "serve", "--config", join(dir, "attest.json"), "--port", String(takenTcp)],
    line: () => new RegExp(`^meridian attest serve: cannot listen on 127\\.0\\.0\\.1:${takenTcp} \\(http\\): address already in use$`),
  },
];

// Each case is a CLI process of its own on shared, read-only fixtures (the taken ports, the refused port, files
// written at load): they run side by side, two processes at a time (run's slots), rather than one by one.
describe.concurrent("a serve command on a taken port", () => {
  for (const row of takenPort) {
    it(`${row.command}: one line naming the port, exit 1`, async () => {
      const exit = await run(row.args());
      expect(exit.code, exit.stderr).toBe(1);
      // Structured log lines (JSON) may precede it, as a service logs its start; the failure is one plain line.
      const plain = exit.stderr.split("\n").filter((l) => l && !l.startsWith("{"));
      expect(plain, exit.stderr).toHaveLength(1);
      expect(plain[0]).toMatch(row.line());
      expect(exit.stdout).not.toMatch(/"url"/); // log lines may precede the failure; never a ready line
    });
  }
});

describe.concurrent("a serve command with an unreachable store", () => {
  it("ratelimit quota --postgres: one line naming the store, exit 1", async () => {
    const exit = await run(["ratelimit", "quota", "--config", quotaConfig(`postgres://postgres@127.0.0.1:${refused}/quota`), "--port", "0"]);
    expect(exit.code, exit.stderr).toBe(1);
    expect(exit.stderr.split("\n").filter(Boolean)).toHaveLength(1);
    expect(exit.stderr.trim()).toMatch(new RegExp(`^meridian ratelimit quota: store postgres \\(postgres://postgres@127\\.0\\.0\\.1:${refused}/quota\\) unreachable: `));
    expect(exit.stdout).toBe("");
  });
  it("escrow serve --redis / --postgres: one line naming the store, exit 1", async () => {
    const pg = await run(["escrow", "serve", "--stack", "local", "--postgres", `postgres://postgres@127.0.0.1:${refused}/escrow`, "--port", "0"]);
    expect(pg.code, pg.stderr).toBe(1);
    expect(pg.stderr.split("\n").filter(Boolean)).toHaveLength(1);
    expect(pg.stderr.trim()).toMatch(new RegExp(`^meridian escrow serve: store postgres \\(postgres://postgres@127\\.0\\.0\\.1:${refused}/escrow\\) unreachable: `));
    expect(pg.stdout).toBe("");
    const redis = await run(["escrow", "serve", "--stack", "local", "--postgres", PG_URL, "--redis", `redis://127.0.0.1:${refused}/0`, "--port", "0"]);
    expect(redis.code, redis.stderr).toBe(1);
    expect(redis.stderr.split("\n").filter(Boolean)).toHaveLength(1);
    expect(redis.stderr.trim()).toMatch(new RegExp(`^meridian escrow serve: store redis \\(redis://127\\.0\\.0\\.1:${refused}/0\\) unreachable: `));
    expect(redis.stdout).toBe("");
  });
  it("ratelimit serve --redis: one line naming the store, exit 1", async () => {
    const exit = await run(["ratelimit", "serve", "--rules", join(dir, "rules.yaml"), "--redis", `redis://127.0.0.1:${refused}/0`, "--port", "0", "--grpc-port", "0"]);
    expect(exit.code, exit.stderr).toBe(1);
    expect(exit.stderr.split("\n").filter(Boolean)).toHaveLength(1);
    expect(exit.stderr.trim()).toMatch(new RegExp(`^meridian ratelimit serve: store redis \\(redis://127\\.0\\.0\\.1:${refused}/0\\) unreachable: `));
    expect(exit.stdout).toBe("");
  });
  it("ratelimit allocator --nats: one line naming the store, exit 1", async () => {
    const exit = await run(["ratelimit", "allocator", "--config", join(dir, "allocator.yaml"), "--nats", `nats://127.0.0.1:${refused}`, "--port", "0"]);
    expect(exit.code, exit.stderr).toBe(1);
    expect(exit.stderr.split("\n").filter(Boolean)).toHaveLength(1);
    expect(exit.stderr.trim()).toMatch(new RegExp(`^meridian ratelimit allocator: store nats \\(nats://127\\.0\\.0\\.1:${refused}\\) unreachable: `));
    expect(exit.stdout).toBe("");
  });
  it("log serve --postgres: one line naming the store, exit 1", async () => {
    const url = `postgres://postgres@127.0.0.1:${refused}/prooflog`;
    const exit = await run(["log", "serve", "--postgres", url, "--origin", "meridian.test/ports", "--key", join(dir, "log.key"), "--port", "0"]);
    expect(exit.code, exit.stderr).toBe(1);
    expect(exit.stderr.split("\n").filter(Boolean)).toHaveLength(1);
    expect(exit.stderr.trim()).toMatch(new RegExp(`^meridian log serve: store postgres \\(postgres://postgres@127\\.0\\.0\\.1:${refused}/prooflog\\) unreachable: `));
    expect(exit.stdout).toBe("");
  });
});
