/**
 * The load test through HTTP: three region processes (`meridian escrow serve`, one region each) over
 * one PostgreSQL ledger, then over Redis + the PostgreSQL journal; 3,000 concurrent buyers for 1,200
 * units each time. One region's process is killed with SIGKILL mid-sale and its buyers fail over to
 * the next region, as the GSLB would send them. The sale must sell exactly the inventory: every unit
 * sold once, every sale acknowledged to exactly one buyer.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { parse, stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MERIDIAN_BIN, REPO_ROOT } from "../../cli.js";
import { stackFile } from "../../../stacks/load.js";
import { PG_URL, REDIS_URL, deleteRedisPrefix, ensurePgDatabase, uniqueName } from "./servers.js";

const REGIONS = ["local-aws", "local-gcp", "local-azure"];
const TOTAL = 1200;
const BUYERS = 3000;
const agent = new http.Agent({ keepAlive: true, maxSockets: 96 });

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

function request(base: string, method: string, path: string, region: string, body?: unknown): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(`${base}${path}`, { method, agent, headers: { "x-region": region, ...(data ? { "content-type": "application/json" } : {}) } }, (res) => {
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

function startRegion(region: string, stacksDir: string, stores: string[]): Promise<{ child: ChildProcess; base: string }> {
  const child = spawn(process.execPath, [MERIDIAN_BIN, "escrow", "serve", "--port", "0", "--regions", region, ...stores, "--stack", "local", "--lease-ttl", "3", "--reservation-ttl", "5"], {
    cwd: REPO_ROOT,
    env: { ...process.env, MERIDIAN_STACKS_DIR: stacksDir },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /on (http:\/\/[^ ]+) /.exec(out);
      if (m) resolve({ child, base: m[1]! });
    });
    child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
    child.on("exit", (code) => reject(new Error(`region ${region} exited ${code}: ${err}`)));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("escrow load test through HTTP", () => {
  const children: ChildProcess[] = [];
  let dir = "";
  beforeAll(async () => {
    await ensurePgDatabase();
    dir = mkdtempSync(join(tmpdir(), "meridian-escrow-load-"));
    for (const s of ["local", "dev", "staging", "prod"]) copyFileSync(stackFile(s), join(dir, `Pulumi.${s}.yaml`));
    const doc = parse(readFileSync(join(dir, "Pulumi.local.yaml"), "utf8")) as { config: Record<string, { escrow: Record<string, unknown> }> };
    // The sale's own settings: no preset inventory, fast rebalancing, generous batches.
    doc.config["meridian:runtime"]!.escrow = { inventory: {}, rebalanceIntervalSeconds: 0.2, admission: { perUserLimit: 2, maxConcurrentCheckouts: 400, batchSize: 200, queuePolicy: "fifo" } };
    writeFileSync(join(dir, "Pulumi.local.yaml"), stringify(doc));
  });
  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    agent.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Run the sale on three region processes over `stores`; returns the SKU once every buyer is done. */
  async function sale(stores: string[]): Promise<string> {
    const nodes = await Promise.all(REGIONS.map((r) => startRegion(r, dir, stores)));
    children.push(...nodes.map((n) => n.child));
    const dead = new Set<number>();
    const sku = uniqueName("load").replace(/_/g, "-");
    expect((await request(nodes[0]!.base, "POST", `/v1/inventory/${sku}`, REGIONS[0]!, { total: TOTAL })).status).toBe(201);

    const bought: string[] = [];
    const reservedIn = new Set<string>();
    let soldOutSeen = 0;
    const buyer = async (i: number): Promise<void> => {
      let home = i % 3;
      const user = `buyer-${i}`;
      for (let attempt = 0; attempt < 400; attempt++) {
        if (dead.has(home)) home = (home + 1) % 3; // the GSLB fails the buyer over
        const { base } = nodes[home]!;
        const region = REGIONS[home]!;
        let r: Reply;
        try {
          r = await request(base, "POST", `/v1/inventory/${sku}/reservations`, region, { user, qty: 1 });
        } catch {
          dead.add(home);
          continue;
        }
        if (r.status === 201) {
          const id = r.body["reservationId"] as string;
          reservedIn.add(region);
          // Commit, failing over to another region if this one dies under us (commit is idempotent).
          for (let c = 0; c < 20; c++) {
            const at = dead.has(home) ? (home + 1 + c) % 3 : home;
            if (dead.has(at)) continue;
            try {
              const done = await request(nodes[at]!.base, "POST", `/v1/reservations/${id}/commit`, REGIONS[at]!);
              if (done.status === 200) {
                bought.push(id);
                return;
              }
              break; // 404/410/409: the reservation is gone; reserve again
            } catch {
              dead.add(at);
            }
          }
          continue;
        }
        if (r.status === 409) {
          soldOutSeen++;
          const inv = await request(base, "GET", `/v1/inventory/${sku}`, region).catch(() => null);
          if (inv?.body["sold"] === TOTAL) return;
          await sleep(200);
          continue;
        }
        if (r.status === 429 || r.status === 503) {
          await sleep(Math.min(300, Number(r.body["retryAfterMs"] ?? 200)));
          continue;
        }
        throw new Error(`unexpected ${r.status}: ${JSON.stringify(r.body)}`);
      }
      throw new Error(`${user} gave up`);
    };

    const killer = (async () => {
      while (bought.length < TOTAL / 3) await sleep(10);
      nodes[2]!.child.kill("SIGKILL");
      dead.add(2);
    })();
    await Promise.all(Array.from({ length: BUYERS }, (_, i) => buyer(i)));
    await killer;

    expect(nodes[2]!.child.signalCode).toBe("SIGKILL");
    expect(new Set(bought).size).toBe(bought.length);
    expect(bought.length).toBe(TOTAL);
    expect(soldOutSeen).toBeGreaterThan(0);
    const inv = await request(nodes[0]!.base, "GET", `/v1/inventory/${sku}`, REGIONS[0]!);
    expect(inv.body).toMatchObject({ total: TOTAL, sold: TOTAL, available: 0 });
    // Every region took part (the killed one too), and the survivors sold its share after it died.
    expect(reservedIn.size).toBe(3);
    expect(new Set(bought.map((id) => id.split(".")[0])).size).toBeGreaterThanOrEqual(2);
    for (const n of nodes) if (n.child.exitCode === null) n.child.kill("SIGTERM");
    return sku;
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
    const sku = await sale(["--postgres", PG_URL]);
    // The durable ledger agrees: one row per acknowledged sale, and the conservation law holds.
    expect(await count("SELECT COUNT(*)::int AS n, SUM(qty)::int AS q FROM meridian_escrow.escrow_sales WHERE sku = $1", sku)).toEqual({ n: TOTAL, q: TOTAL });
    const { total, pool } = await count("SELECT total::int, pool::int FROM meridian_escrow.escrow_items WHERE sku = $1", sku);
    const { h, s } = await count("SELECT COALESCE(SUM(held),0)::int AS h, COALESCE(SUM(sold),0)::int AS s FROM meridian_escrow.escrow_leases WHERE sku = $1", sku);
    expect(s).toBe(TOTAL);
    expect(pool! + h! + s!).toBe(total);
  }, 90_000);

  it(`Redis + PostgreSQL journal: the same sale, the same exact result`, async () => {
    const sku = await sale(["--redis", REDIS_URL, "--postgres", PG_URL]);
    try {
      // Every acknowledged sale is in the journal, exactly once.
      expect(await count("SELECT COUNT(*)::int AS n, SUM(qty)::int AS q FROM meridian_escrow_journal.journal_sales WHERE sku = $1", sku)).toEqual({ n: TOTAL, q: TOTAL });
    } finally {
      await deleteRedisPrefix(`mes:{${sku}}`);
    }
  }, 90_000);
});
