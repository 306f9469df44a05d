// `npm run bench -- prooflog`: the proof log beside its ceilings, in one run on one machine.
//  1. in-memory sequencer appends as a share of raw SHA-256 of 65-byte inputs (interleaved rounds, medians);
//  2. appends past 2×10^6 (duplicate detection full and evicting) against the first 10^6;
//  3. durable HTTP appends (file store, 64 keep-alive clients) beside a bare fastify server doing no work;
//  4. restart time and RSS at 10^3, 10^6 and 10^7 entries (file store, each opened in a fresh process);
//  5. inclusion proofs at 10^6 leaves beside merkletreejs.
// Sizes: PROOFLOG_BENCH_RESTART_MAX (default 1e7) caps item 4.
import { spawn, type ChildProcess } from "node:child_process";
import { hash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { createSHA256 } from "hash-wasm";
import { MerkleTree as PeerTree } from "merkletreejs";
import { report, row } from "./lib/report.js";
import { TransparencyLog } from "../runtime/prooflog/log.js";
import { MemoryStore } from "../runtime/prooflog/storage/store.js";
import { FileStore } from "../runtime/prooflog/storage/file.js";
import { Integrator } from "../runtime/prooflog/integrate.js";
import { signCheckpoint } from "../runtime/prooflog/checkpoint.js";
import { generateKey, newSigner } from "../runtime/prooflog/note.js";
import { MerkleTree } from "../runtime/prooflog/tree.js";
import { hashBackend, hashingReady, leafHash, nodeHashInto } from "../runtime/prooflog/rfc6962.js";

const ORIGIN = "bench.example/log";
const keys = generateKey(ORIGIN);
const signer = newSigner(keys.signerKey);
const perSecond = (n: number, ms: number) => (n / ms) * 1000;
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const time = async (fn: () => unknown) => {
  const t = performance.now();
  await fn();
  return performance.now() - t;
};
// 64-byte entries: the leaf hash input is then exactly 65 bytes, like a node hash.
const entry = (i: number, salt: number) => {
  const b = Buffer.alloc(64, salt);
  b.writeUInt32BE(i >>> 0, 0);
  b.writeUInt32BE(Math.floor(i / 2 ** 32), 4);
  return b;
};
const WAVE = 20_000;
async function appendEntries(log: TransparencyLog, es: Uint8Array[]): Promise<void> {
  for (let at = 0; at < es.length; at += WAVE) {
    let last: Promise<void> = Promise.resolve();
    for (let i = at; i < Math.min(es.length, at + WAVE); i++) last = log.append(es[i]!).durable;
    await last;
  }
}
async function appendRange(log: TransparencyLog, from: number, to: number, salt: number): Promise<void> {
  for (let at = from; at < to; at += WAVE) {
    let last: Promise<void> = Promise.resolve();
    for (let i = at; i < Math.min(to, at + WAVE); i++) last = log.append(entry(i, salt)).durable;
    await last;
  }
}

// 1. Raw SHA-256 vs the in-memory sequencer, interleaved so both see the same machine load, timed in the process's
// CPU time (the machine is shared: wall time would count the other processes' turns). The raw rate is the faster,
// per round, of the two fastest honest ways to hash a 65-byte input in Node: node:crypto's one-shot hash() and
// hash-wasm's reused WebAssembly SHA-256 state (init/update/digest, a fresh output array each). Entries are built
// before the timing, as the raw hash's input is, and a full collection then moves them out of the young generation:
// otherwise the young-generation collections inside the timing spend their time copying the bench's own 40,000
// prepared entries (measured: ~50 ms a round, a third of it), which is no cost of the log's. The log's own
// allocations are collected inside the timing as before. Each round alternates the two in SLICES short slices (a
// round of one long run each saw the load change between them: per-round ratios 0.16–0.46); the goal is judged on
// the median of the per-round ratios.
setFlagsFromString("--expose-gc");
const collect = runInNewContext("gc") as () => void;
const ROUNDS = 12;
const PER_ROUND = 40_000;
const SLICES = 8;
const H = 100_000;
const buf65 = Buffer.alloc(65, 7);
const hw = await createSHA256();
const cpuTime = async (fn: () => unknown) => {
  const c = process.cpuUsage();
  await fn();
  const d = process.cpuUsage(c);
  return (d.user + d.system) / 1000;
};
const memLog = await TransparencyLog.open({ origin: ORIGIN, signer, store: new MemoryStore() });
const raws: number[] = [];
const rawNode: number[] = [];
const rawWasm: number[] = [];
// Not part of the reference: the log's own call (rfc6962.ts nodeHashInto: the 65-byte SHA-256 of sha256x65.ts, input
// written into its memory, digest copied into a caller's array), reported beside it so the append ratio can also be
// read against the fastest single hash this process can make.
await hashingReady;
const rawOwn: number[] = [];
const pair = new Uint8Array(96).fill(7);
const mems: number[] = [];
const memRatios: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const es = Array.from({ length: PER_ROUND }, (_, i) => entry(round * PER_ROUND + i, 1));
  collect();
  let nodeMs = 0;
  let wasmMs = 0;
  let ownMs = 0;
  let memMs = 0;
  for (let s = 0; s < SLICES; s++) {
    nodeMs += await cpuTime(() => {
      for (let i = 0; i < H / SLICES; i++) {
        buf65[0] = i & 255;
        hash("sha256", buf65, "buffer");
      }
    });
    wasmMs += await cpuTime(() => {
      for (let i = 0; i < H / SLICES; i++) {
        buf65[0] = i & 255;
        hw.init();
        hw.update(buf65);
        hw.digest("binary");
      }
    });
    ownMs += await cpuTime(() => {
      for (let i = 0; i < H / SLICES; i++) {
        pair[0] = i & 255;
        nodeHashInto(pair, 0, pair, 32, pair, 64);
      }
    });
    memMs += await cpuTime(() => appendEntries(memLog, es.slice((s * PER_ROUND) / SLICES, ((s + 1) * PER_ROUND) / SLICES)));
  }
  rawNode.push(perSecond(H, nodeMs));
  rawWasm.push(perSecond(H, wasmMs));
  rawOwn.push(perSecond(H, ownMs));
  raws.push(Math.max(rawNode[round]!, rawWasm[round]!));
  mems.push(perSecond(PER_ROUND, memMs));
  memRatios.push(mems[round]! / raws[round]!);
}
const rawRate = median(raws);
const memRate = median(mems);
const ownRate = median(rawOwn);

// 2. Appends past 2×10^6: the window (10^6) is full and evicting, as it is forever in production. The store
// keeps only the state (full tiles and bundles are dropped), so the run measures the sequencer, not a heap
// that grows with the log.
class StateOnlyStore extends MemoryStore {
  override async commit(c: Parameters<MemoryStore["commit"]>[0]): Promise<void> {
    await super.commit({ ...c, tiles: [], bundles: [] });
  }
}
const M = 1_000_000;
const longLog = await TransparencyLog.open({ origin: ORIGIN, signer, store: new StateOnlyStore() });
const firstMs = await cpuTime(() => appendRange(longLog, 0, M, 2));
await appendRange(longLog, M, 2 * M, 2);
const thirdMs = await cpuTime(() => appendRange(longLog, 2 * M, 3 * M, 2));
const firstRate = perSecond(M, firstMs);
const thirdRate = perSecond(M, thirdMs);
await longLog.close();

// 3. Durable HTTP appends (file store) beside a bare server doing no work, 64 keep-alive clients each.
const CHILD = fileURLToPath(new URL("./lib/prooflog-child.ts", import.meta.url));
function child(args: string[]): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, ["--import", "tsx", CHILD, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /"url":"([^"]+)"/.exec(out);
      if (m) resolve({ proc, url: m[1]! });
    });
    proc.on("exit", (c) => reject(new Error(`bench child ${args[0]} exited ${c}`)));
  });
}
/** CPU seconds a child has used (Linux /proc; null elsewhere): the servers' CPU per request, whatever else runs. */
function cpuOf(pid: number | undefined): number | null {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(f[11]) + Number(f[12])) / clockTicks;
  } catch {
    return null;
  }
}
const clockTicks = 100; // USER_HZ on Linux
const WARM_UP = 80_000; // requests; past the log's first duplicate-index write-out at 2^16
async function load(server: { proc: ChildProcess; url: string }): Promise<{ rate: number; errors: number; cpuPerReqUs: number | null }> {
  const options = {
    url: `${server.url}/add`,
    method: "POST" as const,
    connections: 64,
    headers: { "content-type": "application/octet-stream" },
    body: "bench entry [<id>] padding to a typical size of a small log entry",
    idReplacement: true,
  };
  // Warm-up, not counted, the same for both servers: the JIT, and for the log the store's one-time creation of its
  // duplicate index's 4,096 bucket files at the first write-out (2^16 entries) — once in a log's life, and on a
  // fresh file system with many recently deleted inodes (the bench's earlier sections) ~15 µs of every append in the window.
  await autocannon({ ...options, amount: WARM_UP });
  const cpu0 = cpuOf(server.proc.pid);
  const r = await autocannon({ ...options, duration: 8 });
  const cpu1 = cpuOf(server.proc.pid);
  // Only answered appends count: 2xx responses per second (an error or a 503 is not an append).
  const ok = r["2xx"];
  return { rate: ok / r.duration, errors: r.errors + r.non2xx, cpuPerReqUs: cpu0 === null || cpu1 === null || ok === 0 ? null : ((cpu1 - cpu0) / ok) * 1e6 };
}
const httpDir = mkdtempSync(join(tmpdir(), "prooflog-bench-http-"));
writeFileSync(join(httpDir, "log.key"), keys.signerKey);
const bare = await child(["bare", httpDir]);
const bareLoad = await load(bare);
bare.proc.kill("SIGTERM");
const durable = await child(["log", httpDir]);
const logLoad = await load(durable);
durable.proc.kill("SIGTERM");
await new Promise((r) => durable.proc.once("exit", r));
rmSync(httpDir, { recursive: true, force: true });

// 4. Restart at 10^3, 10^6, 10^7: stores built straight from the integrator (same on-disk format the log
// writes), then each opened in a fresh process.
async function buildFileLog(dir: string, n: number): Promise<void> {
  writeFileSync(join(dir, "log.key"), keys.signerKey);
  const store = new FileStore(join(dir, "data"));
  await store.open();
  const integ = Integrator.empty();
  const CHUNK = 65_536;
  for (let at = 0, k = 0; at < n; at += CHUNK, k++) {
    const es = Array.from({ length: Math.min(CHUNK, n - at) }, (_, i) => entry(at + i, 3));
    for (const e of es) integ.append(e, leafHash(e));
    const done = integ.takeCompleted();
    await store.commit({ firstIndex: at, entries: es, ...done, state: { size: integ.size, root: integ.root(), edge: integ.edge() }, journaled: true });
    if (k % 16 === 15) await store.sync();
  }
  await store.sync();
  await store.publish({ note: signCheckpoint({ origin: ORIGIN, size: n, root: integ.root(), extensions: [] }, [signer]), edge: integ.edge() });
  await store.close();
}
async function restart(dir: string): Promise<{ ms: number; readyMs: number; filterMs: number; rssMiB: number; size: number }> {
  const proc = spawn(process.execPath, ["--import", "tsx", CHILD, "restart", dir], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  await new Promise((r) => proc.once("exit", r));
  return JSON.parse(out.trim()) as { ms: number; readyMs: number; filterMs: number; rssMiB: number; size: number };
}
const restartMax = Number(process.env["PROOFLOG_BENCH_RESTART_MAX"] ?? 1e7);
const restarts: { n: number; ms: number; readyMs: number; filterMs: number; rebuildMs: number; rssMiB: number; buildS: number }[] = [];
for (const n of [1e3, 1e6, 1e7].filter((x) => x <= restartMax)) {
  const dir = mkdtempSync(join(tmpdir(), `prooflog-bench-restart-${n}-`));
  const buildS = (await time(() => buildFileLog(dir, n))) / 1000;
  // The store is built without a sequencer, so the first start finds no saved membership filter and rebuilds it
  // from every level-0 tile; it saves the filter at close, and the next starts load it.
  const rs = [await restart(dir), await restart(dir), await restart(dir)];
  const r = [...rs].sort((a, b) => a.ms - b.ms)[1]!;
  if (r.size !== n) throw new Error(`restart at ${n} recovered ${r.size} entries`);
  restarts.push({ n, ms: r.ms, readyMs: r.readyMs, filterMs: Math.max(rs[1]!.filterMs, rs[2]!.filterMs), rebuildMs: rs[0]!.filterMs, rssMiB: r.rssMiB, buildS });
  rmSync(dir, { recursive: true, force: true });
}

// 5. Inclusion proofs at 10^6 leaves (from the leaf: lookup + proof) beside merkletreejs getProof(leaf).
const proofLog = await TransparencyLog.open({ origin: ORIGIN, signer, store: new MemoryStore() });
await appendRange(proofLog, 0, M, 4);
const P = 50_000;
const oursMs = await time(async () => {
  for (let i = 0; i < P; i++) await proofLog.inclusionProof(proofLog.indexOf(leafHash(entry((i * 7919) % M, 4)))!, M);
});
const peerLeaves = Array.from({ length: M }, (_, i) => Buffer.from(leafHash(entry(i, 5))));
const sha = (d: Buffer) => hash("sha256", d, "buffer");
const peer = new PeerTree(peerLeaves, sha);
const Q = 20;
const peerMs = await time(() => {
  for (let i = 0; i < Q; i++) peer.getProof(peerLeaves[(i * 7919) % M]!);
});
const bareTree = new MerkleTree();
for (const l of peerLeaves) bareTree.appendLeafHash(l);
const byIndexOurs = perSecond(
  P,
  await time(() => {
    for (let i = 0; i < P; i++) bareTree.inclusionProof((i * 7919) % M, M);
  }),
);
const byIndexPeer = perSecond(
  P,
  await time(() => {
    for (let i = 0; i < P; i++) peer.getProof(peerLeaves[(i * 7919) % M]!, (i * 7919) % M);
  }),
);

const r3 = restarts.find((r) => r.n === 1e3);
const goal = (ratio: number, min: number) => `goal ≥ ${min.toFixed(2)}: ${ratio >= min ? "met" : "NOT met"} (${ratio.toFixed(2)})`;
const memRatio = median(memRatios);
// Judged on both readings: the median of the per-round ratios and the ratio of the medians.
const memGoalRatio = Math.min(memRatio, memRate / rawRate);
const us = (x: number | null) => (x === null ? "n/a" : `${x.toFixed(0)} µs`);
const httpRatio = logLoad.rate / bareLoad.rate;
report("prooflog", [
  row(
    "sha256 65-byte inputs (raw)",
    "hashes/s",
    rawRate,
    null,
    `per CPU-second; the faster per round of node:crypto hash() (median ${(median(rawNode) / 1e6).toFixed(2)} M/s) and hash-wasm's reused state (median ${(median(rawWasm) / 1e6).toFixed(2)} M/s), same run; the reference for the append ratio. Not in it: the log's own call (rfc6962.ts nodeHashInto: the 65-byte SHA-256 of sha256x65.ts, nothing allocated), median ${(ownRate / 1e6).toFixed(2)} M/s`,
  ),
  row(
    "in-memory appends (sequencer)",
    "appends/s",
    memRate,
    rawRate,
    `per CPU-second; TransparencyLog.append + MemoryStore, 64-byte entries built before the timing (then a full collection), hashing in ${hashBackend()}, duplicate detection on (window + membership filter; the memory store indexes leaf hashes for its lookups when one comes, none here); ${ROUNDS} rounds of ${PER_ROUND}, each alternating with the raw hashes in ${SLICES} slices; two hashes per append: 0.5 is the ceiling at the reference's cost per hash; median of the per-round ratios ${memRatio.toFixed(2)}, ratio of the medians ${(memRate / rawRate).toFixed(2)}, the goal judged on the lower: ${goal(memGoalRatio, 0.4)}; against the log's own hash call (above) ${(memRate / ownRate).toFixed(2)}; per-round ratios ${memRatios.map((r) => r.toFixed(2)).join(" ")}`,
  ),
  row(
    "appends 2e6..3e6 vs 0..1e6",
    "appends/s",
    thirdRate,
    firstRate,
    "per CPU-second; same log (a store keeping only the state), duplicate-detection window (1e6) full and evicting in the later range; goal: ratio ≈ 1",
  ),
  row(
    "durable HTTP appends (64 clients)",
    "req/s",
    logLoad.rate,
    bareLoad.rate,
    `log serve on the file store (one O_DSYNC journal write per batch, a batch being the requests read in one event-loop turn, two batches' writes in flight (pipelined), duplicate detection on: window + membership filter, no store read for a new entry) vs a bare fastify server doing no work, autocannon 64 keep-alive connections, 8 s each after a warm-up of ${WARM_UP.toLocaleString("en")} requests (the log's first duplicate-index write-out, which creates its bucket files, falls in it); errors ${logLoad.errors}/${bareLoad.errors}; server CPU per request ${us(logLoad.cpuPerReqUs)} vs ${us(bareLoad.cpuPerReqUs)} (their ratio ${logLoad.cpuPerReqUs && bareLoad.cpuPerReqUs ? (bareLoad.cpuPerReqUs / logLoad.cpuPerReqUs).toFixed(2) : "n/a"}: the ceiling share were the run CPU-bound); ${goal(httpRatio, 0.6)}`,
  ),
  ...restarts.map((r) =>
    row(
      `restart at ${r.n.toExponential(0)} entries`,
      "ms",
      r.ms,
      r3?.ms ?? null,
      `open the file store in a fresh process until it serves (median of 3); duplicate detection answers ${(r.readyMs / 1000).toFixed(2)} s after the start (from the store's persistent index), its membership filter is ready in the background by ${(r.filterMs / 1000).toFixed(2)} s when loaded from the image saved at the previous close (${(r.rebuildMs / 1000).toFixed(2)} s on the first start, rebuilt from every level-0 tile) (until then each new entry asks the index); ${r.rssMiB.toFixed(0)} MiB RSS growth; ratio vs 1e3; store built in ${r.buildS.toFixed(0)} s`,
    ),
  ),
  row(
    "inclusion proofs @1e6 by leaf",
    "proofs/s",
    perSecond(P, oursMs),
    perSecond(Q, peerMs),
    `log.indexOf + inclusionProof from stored tiles vs merkletreejs getProof(leaf) (a scan), both at 10^6 leaves`,
  ),
  row("inclusion proofs @1e6 by index", "proofs/s", byIndexOurs, byIndexPeer, "in-memory MerkleTree.inclusionProof vs merkletreejs getProof(leaf, index)"),
]);
process.exit(0);
