/**
 * bench/escrow's end-to-end HTTP rows: sales per second (reserve + commit, two HTTP requests per sale,
 * 64 keep-alive clients, 2,048 verified buyers) through these servers, each its own process, in the same
 * run and rounds, all driven by the same load generator: wrk (C; needs `apt-get install -y wrk`) with
 * escrow-sales.lua, one connection per thread chaining each reservation's commit to the id it answered.
 * 64 undici clients in one Node process (before) were one thread: it capped the bare server's "ceiling" at what
 * one core of client could send. wrk's CPU per sale is about undici's on this VM (loopback TCP and thread
 * wake-ups, mostly kernel time), and each response wakes a sleeping client thread, which the server pays in
 * system time — the same for every server:
 *   - `meridian escrow serve` on the durable store (Redis hot path, every sale journaled to PostgreSQL
 *     before it is acknowledged);
 *   - a plain service (escrow-http-child.ts decrby): the same tokens verified the same way, reserve = one
 *     Redis DECRBY, commit = one PostgreSQL INSERT;
 *   - a bare node:http server doing no work (the transport ceiling);
 *   - `meridian escrow serve` on the in-memory store: no store I/O at all, so what is left is the
 *     service's own HTTP path (kit, routes, admission, ledger) — the most any store change can reach;
 *   - the service kit answering the same two routes with no work (escrow-http-child.ts kit): the kit's own
 *     per-request cost, the floor under both escrow rows.
 * Each round gives every server a warm-up, then a timed window; the best round counts (the machine is
 * shared). Afterwards every acknowledged sale is checked against the store (sold = acknowledged).
 * Own PostgreSQL database `meridian_escrow_bench`, Redis DB 7, keys under mes:bhttp…: (deleted afterwards).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, getPriority, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import pg from "pg";
import { Pool } from "undici";
import { parseEscrowConfig } from "../../runtime/escrow/config.js";
import { generateBuyerKeys, mintBuyerToken } from "../../runtime/escrow/transport/identity.js";
import { row, type BenchRow } from "./report.js";
import type { PeerSetup } from "./escrow-http-child.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const REDIS_URL = "redis://127.0.0.1:6379/7";
const PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres";
const PG_URL = "postgres://postgres@127.0.0.1:5432/meridian_escrow_bench";
const CLIENTS = 64;
const BUYERS = 2048;
const TOTAL = 2_000_000;
const SKU = "tickets";
const REGION = "bench-1";
const ROUNDS = Number(process.env["ESCROW_HTTP_ROUNDS"] ?? 2);
const WARM_MS = 1_000;
const MEASURE_MS = Number(process.env["ESCROW_HTTP_MS"] ?? 5_000);
/**
 * ESCROW_HTTP_BASELINE=<another checkout with its node_modules>: also run that checkout's `meridian escrow serve` on the
 * durable store (its own schema and Redis prefix) in the same rounds, for an A/B of a store change within one run
 * (the machine's load moves whole runs more than most changes do).
 */
const BASELINE = process.env["ESCROW_HTTP_BASELINE"];
/** ESCROW_HTTP_SERVERS=bare,escrow,baseline: drive only these in the rounds (more, shorter rounds for an A/B); the rows of the others read 0. */
const ONLY = process.env["ESCROW_HTTP_SERVERS"]?.split(",");

/**
 * A goal judged between two servers' best sales/s: a server ESCROW_HTTP_SERVERS left out reads 0, and a goal against it
 * is not judged (escrow / 0 is Infinity, which "met" every goal).
 */
export function goalVerdict(ours: number, peer: number, goal: number): string {
  if (!(ours > 0 && peer > 0)) return "not judged (a server compared was not driven)";
  return ours / peer >= goal ? "met" : "NOT met";
}

/** Server CPU µs per sale from sales per CPU second, for the notes: an undriven server has none. */
export function usPerSale(perCpuSecond: number): string {
  return perCpuSecond > 0 ? (1e6 / perCpuSecond).toFixed(0) : "— (not driven)";
}

interface Server {
  url: string;
  child: ChildProcess;
}

/** Start a server process and wait for the line announcing its URL. */
function start(args: string[], urlOf: (line: string) => string | null, cwd = ROOT): Promise<Server> {
  const child = spawn(process.execPath, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      for (const line of out.split("\n")) {
        const url = urlOf(line);
        if (url) return resolve({ url, child });
      }
    });
    child.on("exit", (code) => reject(new Error(`server ${args.join(" ")} exited ${code}: ${err.trim()}`)));
  });
}

/** The URL in the service kit's ready line (`{"ready":true,"service":"escrow","url":…}`), once the whole line is in. */
function readyUrl(line: string): string | null {
  try {
    const r = JSON.parse(line) as { ready?: unknown; url?: unknown };
    return r.ready === true && typeof r.url === "string" ? r.url : null;
  } catch {
    return null;
  }
}

function stop(s: Server | undefined): Promise<void> {
  if (!s || s.child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    s.child.once("exit", () => resolve());
    s.child.kill("SIGTERM");
    setTimeout(() => s.child.kill("SIGKILL"), 5_000).unref();
  });
}

const TICKS = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
/** CPU seconds a process has used (user + system), from /proc: the machine is shared, so wall clock alone misleads. */
function cpuSeconds(pid: number, path = `/proc/${pid}/stat`): number {
  const f = readFileSync(path, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) / TICKS;
}
/** The CPU seconds of a process's main thread alone (its event loop; the escrow's transition log has a worker thread). */
const mainThreadSeconds = (pid: number): number => cpuSeconds(pid, `/proc/${pid}/task/${pid}/stat`);

interface Drive {
  perSecond: number;
  /** Sales per CPU second the server process used inside the window. */
  perCpuSecond: number;
  /** Inside the window, CPU seconds per wall second of the server process and of this (the clients') process. */
  serverBusy: number;
  /** The server's main thread alone (its event loop), CPU seconds per second. */
  mainBusy: number;
  clientBusy: number;
  /** CPU µs per sale counted inside the window: clients (this process), and the stores (redis-server, the bench database's PostgreSQL backends). */
  clientUs: number;
  storeUs: number;
  acknowledged: number;
  refused: Record<number, number>;
  /** Request latency (a reservation or a commit) over wrk's whole run, ms: median and 99th percentile. */
  latencyMs: [number, number];
}

const WRK_SCRIPT = join(ROOT, "bench/lib/escrow-sales.lua");

/** The load generator: wrk (C, one connection per thread, the sale loop in escrow-sales.lua), the same for every server. */
export function requireWrk(): void {
  try {
    execFileSync("wrk", ["--version"], { stdio: "ignore" });
  } catch (e) {
    // wrk prints its version and exits 1; only a missing binary throws ENOENT.
    if ((e as NodeJS.ErrnoException).code === "ENOENT")
      throw new Error("bench escrow: the HTTP rows drive the servers with wrk, which is not installed (Debian: apt-get install -y wrk)", { cause: e });
  }
}

/** Threads of a process still running (wrk's load threads exit once their connection is idle after the window). */
function threadCount(pid: number): number {
  try {
    return Number(/^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/**
 * 64 clients (wrk, one connection per thread), each buying in a loop (reserve, then commit with the id the
 * reservation answered) as the buyers in turn; sales whose commit is answered inside the window count. After
 * the window each connection finishes its sale and stops, so every commit sent is answered (and acknowledged).
 */
async function drive(url: string, pid: number, tokensFile: string, acknowledged: { n: number }, storePidsNow: () => Promise<number[]>): Promise<Drive> {
  const from = Date.now() + WARM_MS;
  const until = from + MEASURE_MS;
  // wrk's own duration is only a backstop: it is interrupted once its threads have stopped.
  const args = ["-t", `${CLIENTS}`, "-c", `${CLIENTS}`, "-d", `${Math.ceil((WARM_MS + MEASURE_MS) / 1000) + 60}s`, "--timeout", "30s", "-s", WRK_SCRIPT, url];
  const wrk = spawn("wrk", [...args, "--", tokensFile, SKU, REGION, `${from}`, `${until}`, `${CLIENTS}`], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  wrk.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  wrk.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => wrk.once("exit", resolve));
  const wrkPid = wrk.pid!;
  // The stores' processes as the window opens: a pool's connections (a backend each) are opened by the warm-up's first
  // requests, and one closed while idle before it would be missed.
  await new Promise((r) => setTimeout(r, Math.max(0, from - 100 - Date.now())));
  const storePids = await storePidsNow();
  // The stores' CPU per process: one that exits inside the window (an idle pool connection closed) is left out, not subtracted.
  const storeCpu = () => new Map(storePids.filter((p) => existsSync(`/proc/${p}/stat`)).map((p) => [p, cpuSeconds(p)]));
  const sample = () => ({ server: cpuSeconds(pid), main: mainThreadSeconds(pid), client: cpuSeconds(wrkPid), stores: storeCpu() });
  const at = (t: number) => new Promise<ReturnType<typeof sample>>((resolve) => setTimeout(() => resolve(sample()), Math.max(0, t - Date.now())));
  const first = await at(from);
  const last = await at(until);
  // Every thread stops once its connection is idle after the window; then wrk (interrupted) prints its counts.
  const deadline = Date.now() + 30_000;
  while (threadCount(wrkPid) > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  wrk.kill("SIGINT");
  const code = await exited;
  const line = out.split("\n").find((l) => l.startsWith("SALES "));
  if (code !== 0 || !line) throw new Error(`wrk against ${url} exited ${code}: ${err.trim() || out.trim()}`);
  const r = JSON.parse(line.slice(6)) as { acknowledged: number; counted: number; refused: Record<number, number>; errors: number; timeouts: number; p50: number; p99: number };
  if (r.errors > 0 || r.timeouts > 0) throw new Error(`wrk against ${url}: ${r.errors} socket errors, ${r.timeouts} timeouts`);
  acknowledged.n += r.acknowledged;
  const counted = r.counted;
  const server = last.server - first.server;
  const client = last.client - first.client;
  const stores = [...last.stores].reduce((t, [p, cpu]) => t + (first.stores.has(p) ? cpu - first.stores.get(p)! : 0), 0);
  return {
    perSecond: (counted * 1000) / MEASURE_MS,
    perCpuSecond: server > 0 ? counted / server : 0,
    serverBusy: (server * 1000) / MEASURE_MS,
    mainBusy: ((last.main - first.main) * 1000) / MEASURE_MS,
    clientBusy: (client * 1000) / MEASURE_MS,
    clientUs: counted > 0 ? (client * 1e6) / counted : 0,
    storeUs: counted > 0 ? (stores * 1e6) / counted : 0,
    acknowledged: acknowledged.n,
    refused: r.refused,
    latencyMs: [r.p50 / 1000, r.p99 / 1000],
  };
}

/**
 * Every buyer buys once through a server before it is measured: a buyer's token is verified once per
 * process and cached (an ES256 verification costs more than the sale), so the windows measure sales.
 */
async function warmBuyers(url: string, tokens: string[], acknowledged: { n: number }): Promise<void> {
  const pool = new Pool(url, { connections: CLIENTS, pipelining: 1 });
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < tokens.length; i = next++) {
      const headers = { authorization: `Bearer ${tokens[i]}`, "x-region": REGION };
      const r = await pool.request({ path: `/v1/inventory/${SKU}/reservations`, method: "POST", headers: { ...headers, "content-type": "application/json" }, body: '{"qty":1}' });
      if (r.statusCode !== 201) throw new Error(`warming ${url}: reservation answered ${r.statusCode}: ${await r.body.text()}`);
      const { reservationId } = (await r.body.json()) as { reservationId: string };
      const c = await pool.request({ path: `/v1/reservations/${encodeURIComponent(reservationId)}/commit`, method: "POST", headers });
      if (c.statusCode !== 200) throw new Error(`warming ${url}: commit answered ${c.statusCode}: ${await c.body.text()}`);
      await c.body.dump();
      acknowledged.n++;
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, worker));
  await pool.close();
}

async function ensureDatabase(): Promise<void> {
  const c = new pg.Client({ connectionString: PG_ADMIN });
  await c.connect();
  try {
    if ((await c.query("SELECT 1 FROM pg_database WHERE datname = 'meridian_escrow_bench'")).rowCount === 0) await c.query("CREATE DATABASE meridian_escrow_bench");
  } finally {
    await c.end();
  }
}

export interface HttpSales {
  rows: BenchRow[];
  oversold: number;
}

export async function httpSalesRows(): Promise<HttpSales> {
  requireWrk();
  await ensureDatabase();
  const tag = randomBytes(3).toString("hex");
  const schema = `bench_${tag}`;
  const prefix = `mes:bhttp${tag}:`;
  const dir = mkdtempSync(join(tmpdir(), "escrow-http-bench-"));
  const db = new pg.Client({ connectionString: PG_URL });
  const redis = new Redis(REDIS_URL);
  const servers: Server[] = [];
  try {
    await db.connect();
    const keys = await generateBuyerKeys("bench-1");
    const identity = { issuer: "https://id.bench.example", audience: "meridian-escrow", jwks: { keys: [keys.publicJwk] }, algorithms: ["ES256"] };
    const tokens = await Promise.all(
      Array.from({ length: BUYERS }, (_, i) => mintBuyerToken(keys.privateJwk, { issuer: identity.issuer, audience: identity.audience, sub: `buyer-${i}`, ttlSeconds: 3600 })),
    );
    // The escrow's config: one region holding the whole inventory; caps and per-user rates out of the way
    // (2,048 buyers buy ~100 units each here), but each reservation still holds the buyer's cap in the store.
    const config = {
      regions: [REGION],
      reservationTtlSeconds: 300,
      leaseTtlSeconds: 10,
      skus: [{ sku: SKU, total: TOTAL, globalReserve: 0, allocation: { [REGION]: TOTAL }, refill: { batchSize: 10_000, reorderPoints: { [REGION]: 1_000 } } }],
      identity,
      admission: { perUserLimit: TOTAL, userRatePerSecond: 1e6, userBurst: 1e6, maxConcurrentCheckouts: 1000 },
    };
    const parsed = parseEscrowConfig(config, "bench config");
    writeFileSync(join(dir, "escrow.json"), JSON.stringify(config));
    const setup: PeerSetup = { redisUrl: REDIS_URL, postgresUrl: PG_URL, key: `${prefix}decr`, table: `${schema}.sales`, identity: parsed.identity };
    writeFileSync(join(dir, "peer.json"), JSON.stringify(setup));
    const tokensFile = join(dir, "tokens.txt");
    writeFileSync(tokensFile, tokens.join("\n") + "\n");
    await db.query(`CREATE SCHEMA ${schema}`);
    await db.query(`CREATE TABLE ${schema}.sales (id text PRIMARY KEY, user_id text NOT NULL, qty int NOT NULL, at timestamptz NOT NULL DEFAULT now())`);
    await redis.set(setup.key, TOTAL);

    const child = join(ROOT, "bench/lib/escrow-http-child.ts");
    const json = (line: string) => (line.startsWith("{") ? (JSON.parse(line) as { url: string }).url : null);
    const bare = await start(["--import", "tsx", child, "bare"], json);
    servers.push(bare);
    const decrby = await start(["--import", "tsx", child, "decrby", join(dir, "peer.json")], json);
    servers.push(decrby);
    // ESCROW_HTTP_PROFILE=<dir>: write both escrow servers' CPU profiles there (for finding their hot paths).
    const profile = process.env["ESCROW_HTTP_PROFILE"] ? ["--cpu-prof", "--cpu-prof-dir", process.env["ESCROW_HTTP_PROFILE"]] : [];
    const durable = (storeSchema: string, redisPrefix: string, cwd?: string) =>
      start(
        [
          ...profile,
          "bin/meridian.mjs",
          "escrow",
          "serve",
          "--port",
          "0",
          "--config",
          join(dir, "escrow.json"),
          "--redis",
          REDIS_URL,
          "--postgres",
          PG_URL,
          "--store-schema",
          storeSchema,
          "--redis-prefix",
          redisPrefix,
        ],
        readyUrl,
        cwd,
      );
    const escrow = await durable(`${schema}_escrow`, prefix);
    servers.push(escrow);
    const baseline = BASELINE ? await durable(`${schema}_base`, `${prefix}base:`, BASELINE) : undefined;
    if (baseline) servers.push(baseline);
    const memory = await start([...profile, "bin/meridian.mjs", "escrow", "serve", "--port", "0", "--config", join(dir, "escrow.json")], readyUrl);
    servers.push(memory);
    const kit = await start(["--import", "tsx", child, "kit", join(dir, "peer.json")], json);
    servers.push(kit);

    const acked = { bare: { n: 0 }, decrby: { n: 0 }, escrow: { n: 0 }, memory: { n: 0 }, kit: { n: 0 }, baseline: { n: 0 } };
    const loadAtStart = loadavg()[0]!;
    const best = { bare: 0, decrby: 0, escrow: 0, memory: 0, kit: 0, baseline: 0 };
    const bestCpu = { bare: 0, decrby: 0, escrow: 0, memory: 0, kit: 0, baseline: 0 };
    // CPU seconds per wall second inside the best window: the server process, and the clients' (this) process.
    const busy = { bare: [0, 0, 0], decrby: [0, 0, 0], escrow: [0, 0, 0], memory: [0, 0, 0], kit: [0, 0, 0], baseline: [0, 0, 0] };
    // CPU µs per sale in the best window: the server, the clients, the stores (Redis, PostgreSQL).
    const perSale = { bare: [0, 0, 0], decrby: [0, 0, 0], escrow: [0, 0, 0], memory: [0, 0, 0], kit: [0, 0, 0], baseline: [0, 0, 0] };
    // Request latency p50 / p99 (ms) in the best windows' runs.
    const latency = { bare: [0, 0], decrby: [0, 0], escrow: [0, 0], memory: [0, 0], kit: [0, 0], baseline: [0, 0] };
    const redisPid = Number(/process_id:(\d+)/.exec(await redis.info("server"))?.[1]);
    const refused: Record<string, Record<number, number>> = {};
    await warmBuyers(bare.url, tokens, acked.bare);
    await warmBuyers(decrby.url, tokens, acked.decrby);
    await warmBuyers(escrow.url, tokens, acked.escrow);
    await warmBuyers(memory.url, tokens, acked.memory);
    await warmBuyers(kit.url, tokens, acked.kit);
    if (baseline) await warmBuyers(baseline.url, tokens, acked.baseline);
    for (let round = 0; round < ROUNDS; round++) {
      const durables = [
        ["escrow", escrow],
        ["baseline", baseline],
      ] as const;
      // With a baseline, the two durable servers alternate which goes first (the first after the others measures lower).
      const order = round % 2 === 0 ? durables : ([durables[1], durables[0]] as const);
      for (const [name, s] of [["bare", bare], ["decrby", decrby], ...order, ["memory", memory], ["kit", kit]] as const) {
        if (!s || (ONLY && !ONLY.includes(name))) continue;
        // The stores' processes: redis-server and PostgreSQL's WAL writer (shared with anything else using them), and the
        // backends connected to the bench database.
        const storePids = async () => [
          redisPid,
          ...((await db.query("SELECT pid FROM pg_stat_activity WHERE datname = current_database() OR backend_type = 'walwriter'")).rows as { pid: number }[]).map((r) => r.pid),
        ];
        const d = await drive(s.url, s.child.pid!, tokensFile, acked[name], storePids);
        console.error(
          `escrow http round ${round + 1} ${name}: ${Math.round(d.perSecond)} sales/s, ${Math.round(d.perCpuSecond)} per server CPU second; CPU busy: server ${d.serverBusy.toFixed(2)} (its main thread ${d.mainBusy.toFixed(2)}), clients ${d.clientBusy.toFixed(2)}; CPU µs per sale: clients ${d.clientUs.toFixed(0)}, Redis + PostgreSQL ${d.storeUs.toFixed(0)}; request latency p50 / p99 ${d.latencyMs.map((x) => x.toFixed(1)).join(" / ")} ms (acknowledged so far ${d.acknowledged}; refused ${JSON.stringify(d.refused)})`,
        );
        if (d.perSecond > best[name]) {
          busy[name] = [d.serverBusy, d.clientBusy, d.mainBusy];
          perSale[name] = [d.perCpuSecond > 0 ? 1e6 / d.perCpuSecond : 0, d.clientUs, d.storeUs];
          latency[name] = d.latencyMs;
        }
        best[name] = Math.max(best[name], d.perSecond);
        bestCpu[name] = Math.max(bestCpu[name], d.perCpuSecond);
        for (const [code, n] of Object.entries(d.refused)) (refused[name] ??= {})[Number(code)] = (refused[name]?.[Number(code)] ?? 0) + n;
      }
    }

    // The durable escrow's transition log right after the last window: every sale's events are to be logged, so a
    // backlog that only grows, or a sealed log, means the log did not keep pace with the sales (service.ts's budget).
    const log = (await (await fetch(`${escrow.url}/v1/transitions/checkpoint`)).json()) as { size: number; backlog: number; sealed?: { reason: string } };
    // Every acknowledged sale is in the store, and nothing beyond them.
    const view = (await (await fetch(`${escrow.url}/v1/inventory/${SKU}`, { headers: { "x-region": REGION } })).json()) as { sold: number; total: number };
    const journaled = Number((await db.query(`SELECT sold FROM ${schema}_escrow.journal_items WHERE sku = $1`, [SKU])).rows[0].sold);
    const peerSold = Number((await db.query(`SELECT count(*) AS n FROM ${schema}.sales`)).rows[0].n);
    if (baseline) {
      const baseJournaled = Number((await db.query(`SELECT sold FROM ${schema}_base.journal_items WHERE sku = $1`, [SKU])).rows[0].sold);
      if (baseJournaled !== acked.baseline.n) throw new Error(`sales mismatch: the baseline escrow acknowledged ${acked.baseline.n}, its journal holds ${baseJournaled}`);
    }
    if (view.sold !== acked.escrow.n || journaled !== acked.escrow.n || peerSold !== acked.decrby.n) {
      throw new Error(`sales mismatch: escrow acknowledged ${acked.escrow.n}, store says ${view.sold}, journal ${journaled}; DECRBY service acknowledged ${acked.decrby.n}, table holds ${peerSold}`);
    }
    const total = (x: number[]) => x.reduce((a, b) => a + b, 0);
    const note = (r: Record<number, number> | undefined) =>
      r
        ? Object.entries(r)
            .map(([c, n]) => `${n}×${c}`)
            .join(", ")
        : "none";
    const common = `${CLIENTS} keep-alive clients (wrk, one connection per thread, bench/lib/escrow-sales.lua: the commit uses the id the reservation answered), ${BUYERS.toLocaleString("en-US")} verified buyers, reserve + commit = 2 requests per sale, every buyer's token verified (and cached) before the windows, best of ${ROUNDS} ${MEASURE_MS / 1000} s windows; every server its own process; machine: ${cpus().length} cores, load average ${loadAtStart.toFixed(1)} at the start, clients and servers at nice ${getPriority()} (they, Redis and PostgreSQL share the ${cpus().length} cores with other work)`;
    return {
      oversold: Math.max(0, view.sold - view.total),
      rows: [
        row(
          "end-to-end HTTP sales: meridian escrow serve (Redis + PostgreSQL journal) vs Redis DECRBY + PostgreSQL INSERT service",
          "sales/s",
          best.escrow,
          best.decrby,
          `${common}; sold = acknowledged checked in store and journal (escrow ${acked.escrow.n.toLocaleString("en-US")}, DECRBY ${acked.decrby.n.toLocaleString("en-US")}); refused: escrow ${note(refused["escrow"])}, DECRBY ${note(refused["decrby"])}; request latency p50 / p99 (ms, a reservation or a commit, over the best windows' wrk runs): ${(["escrow", "decrby", "memory", "kit", "bare"] as const).map((n) => `${n} ${latency[n].map((x) => x.toFixed(1)).join(" / ")}`).join("; ")}; goal ≥ 3×: ${goalVerdict(best.escrow, best.decrby, 3)}`,
        ),
        row(
          "end-to-end HTTP sales: meridian escrow serve vs bare node:http server doing no work (transport ceiling)",
          "sales/s",
          best.escrow,
          best.bare,
          `same clients and request pairs; goal ≥ 35% of the ceiling: ${goalVerdict(best.escrow, best.bare, 0.35)}`,
        ),
        row(
          "end-to-end HTTP sales per server CPU second: meridian escrow serve vs Redis DECRBY + PostgreSQL INSERT service",
          "sales/CPU-s",
          bestCpu.escrow,
          bestCpu.decrby,
          `the server process's user + system CPU inside the window (/proc), Redis and PostgreSQL not counted: the server's own cost per sale; CPU seconds per second in the best windows (server / clients / the server's main thread alone — the escrow's transition log runs on a worker thread): ${(["escrow", "memory", "decrby", "bare"] as const).map((n) => `${n === "decrby" ? "DECRBY" : n} ${busy[n].map((x) => x.toFixed(2)).join(" / ")}`).join(", ")}`,
        ),
        row("end-to-end HTTP sales per server CPU second: meridian escrow serve vs bare node:http server", "sales/CPU-s", bestCpu.escrow, bestCpu.bare, "the same, against a server doing no work"),
        ...(baseline
          ? [
              row(
                "end-to-end HTTP sales: meridian escrow serve, this checkout vs ESCROW_HTTP_BASELINE's, same run",
                "sales/s",
                best.escrow,
                best.baseline,
                `baseline ${BASELINE}: the durable store, its own schema and Redis prefix, windows alternating first with this checkout's; vs bare ${best.bare > 0 ? (best.baseline / best.bare).toFixed(3) : "— (not driven)"}; server CPU per sale ${usPerSale(bestCpu.escrow)} vs ${usPerSale(bestCpu.baseline)} µs; whole system ${total(perSale.escrow).toFixed(0)} vs ${total(perSale.baseline).toFixed(0)} µs; request latency p50 / p99 ${latency.escrow.map((x) => x.toFixed(1)).join(" / ")} vs ${latency.baseline.map((x) => x.toFixed(1)).join(" / ")} ms`,
              ),
            ]
          : []),
        row(
          "end-to-end HTTP sales: meridian escrow serve on the in-memory store (no store I/O) vs bare node:http server",
          "sales/s",
          best.memory,
          best.bare,
          `the service's own HTTP path, the most a faster store could reach; server CPU per sale (µs): in-memory ${usPerSale(bestCpu.memory)}, Redis + PostgreSQL ${usPerSale(bestCpu.escrow)}, DECRBY service ${usPerSale(bestCpu.decrby)}, the kit doing no work ${usPerSale(bestCpu.kit)}, bare ${usPerSale(bestCpu.bare)}`,
        ),
        row(
          "end-to-end HTTP sales: the service kit answering the two routes with no work vs bare node:http server",
          "sales/s",
          best.kit,
          best.bare,
          `what every kit service pays per request before its own work (fastify, the buyer-JWT rule with its token cache, HLC and consistency-token headers, RED metrics, limits, timeouts): the floor under the escrow's HTTP rows; server CPU per sale ${usPerSale(bestCpu.kit)} µs vs bare ${usPerSale(bestCpu.bare)}`,
        ),
        row(
          "transition log of the durable escrow after the windows: entries logged (every reservation, commit, refill…)",
          "entries",
          log.size,
          null,
          `${log.backlog.toLocaleString("en-US")} events still queued when read; ${log.sealed ? `SEALED — the log stopped recording: ${log.sealed.reason}` : "not sealed: the log kept pace with the sales"} (${acked.escrow.n.toLocaleString("en-US")} sales acknowledged, two events each)`,
        ),
        row(
          "CPU per sale, whole system (server + clients + Redis + PostgreSQL): meridian escrow serve vs Redis DECRBY + PostgreSQL INSERT service",
          "µs/sale",
          total(perSale.escrow),
          total(perSale.decrby),
          `when every process is CPU-bound on these ${cpus().length} cores, sales/s vs the DECRBY service can reach at most the inverse of this ratio (${total(perSale.decrby) > 0 && total(perSale.escrow) > 0 ? `${(total(perSale.decrby) / total(perSale.escrow)).toFixed(2)}×` : "— (not driven)"}); best windows, µs per sale as server / clients / Redis + PostgreSQL (redis-server's whole CPU and the bench database's backends): ${(["escrow", "decrby", "memory", "kit", "bare"] as const).map((n) => `${n} ${perSale[n].map((x) => x.toFixed(0)).join(" / ")}`).join("; ")}`,
        ),
      ],
    };
  } finally {
    await Promise.all(servers.map(stop));
    await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await db.query(`DROP SCHEMA IF EXISTS ${schema}_escrow CASCADE`).catch(() => undefined);
    await db.query(`DROP SCHEMA IF EXISTS ${schema}_base CASCADE`).catch(() => undefined);
    await db.end().catch(() => undefined);
    let cursor = "0";
    do {
      const [next, found] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      if (found.length) await redis.del(...found);
    } while (cursor !== "0");
    await redis.quit();
    rmSync(dir, { recursive: true, force: true });
  }
}
