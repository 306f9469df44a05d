// `npm run bench -- vmap`: the verifiable map service beside the transport ceiling, in one run on one machine.
//  1. writes: POST /v1/maps/bench/writes, one key per request; concurrent requests are group-committed, each batch appended to the proof log (file store) and
//     recorded in the map's file store before it is acknowledged;
//  2. proof reads: GET /v1/maps/bench/keys/:key, an inclusion proof in a map of VMAP_BENCH_KEYS keys;
// each beside a bare fastify server doing no work on the same route, 64 keep-alive clients (autocannon), the ratio
// reported. VMAP_BENCH_SECONDS (default 8) sets each load's length, VMAP_BENCH_KEYS (default 100,000) the map's size.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { report, row } from "./lib/report.js";

const SECONDS = Number(process.env["VMAP_BENCH_SECONDS"] ?? 8);
const KEYS = Number(process.env["VMAP_BENCH_KEYS"] ?? 100_000);
const CONNECTIONS = 64;
const VALUE = Buffer.from("a balance of about this size").toString("base64");
let written = 0;
const CHILD = fileURLToPath(new URL("./lib/vmap-child.ts", import.meta.url));

function child(args: string[]): Promise<{ proc: ChildProcess; url: string; token?: string }> {
  const proc = spawn(process.execPath, ["--import", "tsx", CHILD, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const line = out.split("\n").find((l) => l.startsWith('{"url"'));
      if (line) resolve({ proc, ...(JSON.parse(line) as { url: string; token?: string }) });
    });
    proc.on("exit", (c) => reject(new Error(`bench child ${args[0]} exited ${c}`)));
  });
}
const stop = async (c: { proc: ChildProcess }) => {
  c.proc.kill("SIGTERM");
  await new Promise((r) => c.proc.once("exit", r));
};

/** CPU seconds a child has used (Linux /proc; null elsewhere): the servers' CPU per request, whatever else runs. */
function cpuOf(pid: number | undefined): number | null {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ on Linux
  } catch {
    return null;
  }
}

interface Load {
  rate: number;
  errors: number;
  cpuPerReqUs: number | null;
}
async function load(server: { proc: ChildProcess; url: string; token?: string }, kind: "write" | "read"): Promise<Load> {
  const cpu0 = cpuOf(server.proc.pid);
  const auth = server.token ? { authorization: `Bearer ${server.token}` } : {};
  const r = await autocannon({
    url: server.url,
    connections: CONNECTIONS,
    duration: SECONDS,
    requests: [
      kind === "write"
        ? {
            method: "POST",
            path: "/v1/maps/bench/writes",
            headers: { "content-type": "application/json", ...auth },
            // A new key per write (keys are at most 32 bytes, so not autocannon's ids).
            setupRequest: (req: object) => ({ ...req, body: JSON.stringify({ writes: [{ key: `w${++written}`, value: VALUE }] }) }),
          }
        : { method: "GET", path: `/v1/maps/bench/keys/k${Math.floor(KEYS / 2)}` },
    ],
  });
  const cpu1 = cpuOf(server.proc.pid);
  // Only answered writes and proofs count: a refused request (4xx/5xx) is an error, not throughput.
  return { rate: r["2xx"] / r.duration, errors: r.errors + r.non2xx, cpuPerReqUs: cpu0 === null || cpu1 === null ? null : ((cpu1 - cpu0) / r.requests.total) * 1e6 };
}

const bare = await child(["bare"]);
const bareWrite = await load(bare, "write");
const bareRead = await load(bare, "read");
await stop(bare);
const dir = mkdtempSync(join(tmpdir(), "vmap-bench-"));
const map = await child(["map", dir, String(KEYS)]);
const mapWrite = await load(map, "write");
const mapRead = await load(map, "read");
await stop(map);
rmSync(dir, { recursive: true, force: true });

const us = (x: number | null) => (x === null ? "n/a" : `${x.toFixed(0)} µs`);
const cpu = (ours: Load, peer: Load) => `server CPU per request ${us(ours.cpuPerReqUs)} vs ${us(peer.cpuPerReqUs)}; errors ${ours.errors}/${peer.errors}`;
report("vmap", [
  row(
    "map writes (HTTP, logged + stored)",
    "writes/s",
    mapWrite.rate,
    bareWrite.rate,
    `one key per request; requests arriving while a batch is in flight are merged into the next (group commit), each batch appended to the proof log (file store, same machine) and recorded in the map's file store before its writers are answered vs a bare fastify server answering the same route, ${CONNECTIONS} keep-alive connections, ${SECONDS} s each; ${cpu(mapWrite, bareWrite)}`,
  ),
  row(
    "proof reads (HTTP, inclusion proof)",
    "reads/s",
    mapRead.rate,
    bareRead.rate,
    `GET /v1/maps/bench/keys/:key in a map of ${KEYS.toLocaleString("en-US")} keys (256-level sparse Merkle tree, compressed proof) vs a bare fastify server answering the same route, ${CONNECTIONS} keep-alive connections, ${SECONDS} s each; ${cpu(mapRead, bareRead)}`,
  ),
]);
