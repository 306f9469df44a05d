/**
 * The load test through HTTP: three region processes (`meridian escrow serve --config`, one region
 * each, peers of one another) over one PostgreSQL ledger, then over Redis + the PostgreSQL journal;
 * 3,000 buyers (each with their own verified token) for 1,200 units each time. One region's process is
 * killed with SIGKILL mid-sale and its buyers fail over to the next region, as the GSLB would send
 * them; commits of reservations held by a live peer are forwarded to it. The sale must sell exactly
 * the inventory: every unit sold once, every sale acknowledged to exactly one buyer, and every
 * acknowledged sale replays as a duplicate from any surviving region.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MERIDIAN_BIN, REPO_ROOT } from "../../cli.js";
import { PG_URL, REDIS_URL, deleteRedisPrefix, dropPgSchema, ensurePgDatabase, uniqueName } from "./servers.js";
import { as, testConfig } from "./fixture.js";
import { freePort } from "../../ports.js";

const REGIONS = ["load-a", "load-b", "load-c"];
const TOTAL = 600;
const BUYERS = 1500;
const agent = new http.Agent({ keepAlive: true, maxSockets: 96 });

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

function request(base: string, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(`${base}${path}`, { method, agent, headers: { ...headers, ...(data ? { "content-type": "application/json" } : {}) } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(data);
  });
}

/** A region process, and its readiness (the process is returned at once so that it is killed even if another fails to start). */
function startRegion(configFile: string, port: number, stores: string[]): { process: ChildProcess; ready: Promise<ChildProcess> } {
  const child = spawn(process.execPath, [MERIDIAN_BIN, "escrow", "serve", "--config", configFile, "--port", String(port), ...stores], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const ready = new Promise<ChildProcess>((resolve, reject) => {
    let out = "";
    let err = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      // The service kit's ready line: one JSON object once the listener is bound.
      if (/^\{"ready":true,"service":"escrow","url":"http:\/\/[^"]+"/m.test(out)) resolve(child);
    });
    child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
    child.on("exit", (code) => reject(new Error(`escrow exited ${code}: ${err}`)));
  });
  return { process: child, ready };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("escrow load test through HTTP", () => {
  const children: ChildProcess[] = [];
  const schemas: string[] = [];
  let dir = "";
  beforeAll(async () => {
    await ensurePgDatabase();
    dir = mkdtempSync(join(tmpdir(), "meridian-escrow-load-"));
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    agent.destroy();
    rmSync(dir, { recursive: true, force: true });
    for (const s of schemas) await dropPgSchema(s);
  });

  /** Run the sale on three region processes over `stores`; returns what was bought. */
  async function sale(stores: string[], schema: string): Promise<{ sku: string; bought: Map<string, string> }> {
    const ports = await Promise.all(REGIONS.map(() => freePort()));
    const bases = ports.map((p) => `http://127.0.0.1:${p}`);
    const sku = uniqueName("load").replace(/_/g, "-");
    // The first region creates the store's schema; the other two then start side by side.
    const startAt = async (i: number, region: string): Promise<ChildProcess> => {
      const peers = Object.fromEntries(REGIONS.flatMap((r, j) => (j === i ? [] : [[r, bases[j]!]])));
      const config = await testConfig([region], {
        rebalanceIntervalSeconds: 0.2,
        leaseTtlSeconds: 3,
        reservationTtlSeconds: 5,
        peers,
        admission: { perUserLimit: 2, maxConcurrentCheckouts: 400, userRatePerSecond: 50, userBurst: 50 },
        waitingRoom: { trancheSize: 200 },
      });
      const file = join(dir, `${schema}-${region}.json`);
      writeFileSync(file, JSON.stringify(config));
      const child = startRegion(file, ports[i]!, [...stores, "--store-schema", schema, "--redis-prefix", `mes:${schema}:`]);
      children.push(child.process);
      return child.ready;
    };
    const first = await startAt(0, REGIONS[0]!);
    const nodes = [first, ...(await Promise.all(REGIONS.slice(1).map((r, k) => startAt(k + 1, r))))];
    const dead = new Set<number>();
    // A failed request fails the buyer over only when its region's process is gone (the GSLB's health
    // check): an overloaded live region may reset a keep-alive connection, and its buyers just retry.
    const gone = (k: number): boolean => {
      if (nodes[k]!.exitCode !== null || nodes[k]!.signalCode !== null) dead.add(k);
      return dead.has(k);
    };
    const admin = await as("ops", REGIONS[0], { admin: true });
    expect((await request(bases[0]!, "POST", `/v1/inventory/${sku}`, admin, { total: TOTAL })).status).toBe(201);

    const bought = new Map<string, string>(); // reservation id → buyer
    const reservedIn = new Set<string>();
    let soldOutSeen = 0;
    const buyer = async (i: number): Promise<void> => {
      let home = i % 3;
      const user = `buyer-${i}`;
      const auth = await as(user);
      const seen: string[] = []; // what this buyer was answered, for the message if it gives up
      for (let attempt = 0; attempt < 400; attempt++) {
        if (dead.has(home)) home = (home + 1) % 3; // the GSLB fails the buyer over
        const base = bases[home]!;
        const headers = { ...auth, "x-region": REGIONS[home]! };
        let r: Reply;
        try {
          r = await request(base, "POST", `/v1/inventory/${sku}/reservations`, headers, { qty: 1 });
        } catch (err) {
          seen.push(`${REGIONS[home]} reserve ${(err as Error).message}`);
          if (!gone(home)) await sleep(50);
          continue;
        }
        seen.push(`${REGIONS[home]} reserve ${r.status} ${String(r.body["error"] ?? "")}`);
        if (r.status === 201) {
          const id = r.body["reservationId"] as string;
          reservedIn.add(REGIONS[home]!);
          // Commit through any live region (forwarded to the holder), failing over if one dies under us.
          for (let c = 0; c < 30; c++) {
            const at = (home + c) % 3;
            if (dead.has(at)) continue;
            let done: Reply;
            try {
              done = await request(bases[at]!, "POST", `/v1/reservations/${id}/commit`, { ...auth, "x-region": REGIONS[at]! });
            } catch {
              if (!gone(at)) await sleep(50);
              continue;
            }
            seen.push(`${REGIONS[at]} commit ${done.status} ${String(done.body["error"] ?? "")}`);
            if (done.status === 200) {
              bought.set(id, user);
              return;
            }
            if (done.status === 503) {
              await sleep(100);
              if (c > 5) break; // its region is gone: the soft hold went with it; reserve again
              continue;
            }
            break; // 404/410/409: the reservation is gone; reserve again
          }
          await sleep(20); // as a buyer refreshing the page would, not in a tight loop
          continue;
        }
        if (r.status === 409) {
          soldOutSeen++;
          return;
        }
        if (r.status === 429 || r.status === 503) {
          await sleep(Math.min(300, Number(r.body["retryAfterMs"] ?? 200)));
          continue;
        }
        throw new Error(`unexpected ${r.status}: ${JSON.stringify(r.body)}`);
      }
      throw new Error(`${user} gave up after 400 attempts; last answers: ${seen.slice(-12).join("; ")}`);
    };

    const killer = (async () => {
      while (bought.size < TOTAL / 3) await sleep(10);
      nodes[2]!.kill("SIGKILL");
      dead.add(2);
    })();
    await Promise.all(Array.from({ length: BUYERS }, (_, i) => buyer(i)));
    await killer;

    expect(nodes[2]!.signalCode).toBe("SIGKILL");
    expect(bought.size).toBe(TOTAL);
    expect(soldOutSeen).toBeGreaterThan(0);
    const inv = await request(bases[0]!, "GET", `/v1/inventory/${sku}`, {});
    expect(inv.body).toMatchObject({ total: TOTAL, sold: TOTAL, available: 0 });
    // Every region took part (the killed one too), and the survivors sold its share after it died. Every region's
    // buyers ask from the start and the sale lasts seconds, so each live region sells a share even if its process is
    // slow to serve them (its peers share with it once it is dry: test/runtime/escrow/starvation.test.ts).
    expect([...reservedIn].sort()).toEqual(REGIONS);
    // Every acknowledged sale replays as a duplicate, to its buyer only, from a surviving region.
    const sample = [...bought].filter((_, k) => k % 40 === 0);
    for (const [id, user] of sample) {
      const again = await request(bases[1]!, "POST", `/v1/reservations/${id}/commit`, { ...(await as(user)), "x-region": REGIONS[1]! });
      expect(again.body).toMatchObject({ status: "sold", duplicate: true });
      // Another buyer is answered as for an id nobody issued: 404, or 503 (retry) when the region holding it is the killed one.
      expect([404, 503]).toContain((await request(bases[1]!, "POST", `/v1/reservations/${id}/commit`, { ...(await as("thief")), "x-region": REGIONS[1]! })).status);
    }
    for (const n of nodes) if (n.exitCode === null) n.kill("SIGTERM");
    return { sku, bought };
  }

  const count = async (sql: string, sku: string): Promise<Record<string, number>> => {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    try {
      return (await c.query(sql, [sku])).rows[0] as Record<string, number>;
    } finally {
      await c.end();
    }
  };

  it(`PostgreSQL ledger: ${BUYERS} buyers over three regions buy exactly ${TOTAL} units though one region is killed mid-sale`, async () => {
    const schema = uniqueName("load_pg");
    schemas.push(schema);
    const { sku } = await sale(["--postgres", PG_URL], schema);
    // The durable ledger agrees: one row per acknowledged sale, and the conservation law holds.
    expect(await count(`SELECT COUNT(*)::int AS n, SUM(qty)::int AS q FROM ${schema}.escrow_sales WHERE sku = $1`, sku)).toEqual({ n: TOTAL, q: TOTAL });
    const { total, pool } = await count(`SELECT total::int, pool::int FROM ${schema}.escrow_items WHERE sku = $1`, sku);
    const { h, s } = await count(`SELECT COALESCE(SUM(held),0)::int AS h, COALESCE(SUM(sold),0)::int AS s FROM ${schema}.escrow_leases WHERE sku = $1`, sku);
    expect(s).toBe(TOTAL);
    expect(pool! + h! + s!).toBe(total);
  }, 240_000);

  it(`Redis + PostgreSQL journal: the same sale, the same exact result`, async () => {
    const schema = uniqueName("load_journal");
    schemas.push(schema);
    try {
      const { sku } = await sale(["--redis", REDIS_URL, "--postgres", PG_URL], schema);
      // Every acknowledged sale is in the journal, exactly once, and the journal's count agrees.
      expect(await count(`SELECT COUNT(*)::int AS n, SUM(qty)::int AS q FROM ${schema}.journal_sales WHERE sku = $1`, sku)).toEqual({ n: TOTAL, q: TOTAL });
      expect(await count(`SELECT sold::int FROM ${schema}.journal_items WHERE sku = $1`, sku)).toEqual({ sold: TOTAL });
    } finally {
      await deleteRedisPrefix(`mes:${schema}:`);
    }
  }, 240_000);
});
