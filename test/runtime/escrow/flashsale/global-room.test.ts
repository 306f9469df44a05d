import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { startEscrowServer, type EscrowServer } from "../../../../runtime/escrow/index.js";
import { admittedThrough, queueScore, standing } from "../../../../runtime/escrow/flashsale/tranche.js";
import { MemoryQueueStore, PostgresQueueStore, RedisQueueStore, type QueueStore } from "../../../../runtime/escrow/flashsale/queue-store.js";
import { as, testConfig } from "../fixture.js";
import { deleteRedisPrefix, dropPgSchema, ensurePgDatabase, PG_URL, REDIS_URL, uniqueName } from "../servers.js";

/** A seeded generator (mulberry32) so fairness statistics are reproducible. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("waiting-room order and tranches (pure)", () => {
  const OPEN = 1_000_000;
  it("orders the pre-queue by policy, always ahead of buyers who join after the open", () => {
    const r = rng(7);
    for (const policy of ["fifo", "lottery", "weighted"] as const) {
      const pre = Array.from({ length: 200 }, (_, i) => queueScore(policy, OPEN - 10_000 + i * 10, OPEN, 1 + (i % 3), r()));
      const post = Array.from({ length: 200 }, (_, i) => queueScore(policy, OPEN + i, OPEN, 1 + (i % 3), r()));
      expect(Math.max(...pre)).toBeLessThan(Math.min(...post));
      for (let i = 1; i < post.length; i++) expect(post[i]!).toBeGreaterThan(post[i - 1]!); // after the open: arrival order
    }
    // fifo keeps arrival order before the open; lottery does not reward arriving early.
    const fifo = [0, 1, 2].map((i) => queueScore("fifo", OPEN - 3000 + i * 1000, OPEN, 1, 0.5));
    expect(fifo).toEqual([...fifo].sort((a, b) => a - b));
    let earlyFirst = 0;
    for (let i = 0; i < 2000; i++) if (queueScore("lottery", OPEN - 60_000, OPEN, 1, r()) < queueScore("lottery", OPEN - 1, OPEN, 1, r())) earlyFirst++;
    expect(earlyFirst / 2000).toBeGreaterThan(0.45);
    expect(earlyFirst / 2000).toBeLessThan(0.55);
  });

  it("weighted: a weight-3 buyer goes ahead of a weight-1 buyer three times in four", () => {
    const r = rng(11);
    let heavyFirst = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) if (queueScore("weighted", OPEN - 5, OPEN, 3, r()) < queueScore("weighted", OPEN - 5, OPEN, 1, r())) heavyFirst++;
    expect(heavyFirst / n).toBeGreaterThan(0.73);
    expect(heavyFirst / n).toBeLessThan(0.77);
  });

  it("releases a tranche per interval from the open, with an ETA for everyone still waiting", () => {
    const s = { opensAtMs: OPEN, trancheSize: 100, intervalMs: 2000 };
    expect(admittedThrough(s, OPEN - 1)).toBe(0);
    expect(admittedThrough(s, OPEN)).toBe(100);
    expect(admittedThrough(s, OPEN + 4_100)).toBe(300);
    expect(standing(s, 100, OPEN)).toMatchObject({ admitted: true, etaSeconds: 0, ahead: 99 });
    expect(standing(s, 101, OPEN)).toMatchObject({ admitted: false, etaSeconds: 2 });
    expect(standing(s, 250, OPEN - 10_000)).toMatchObject({ admitted: false, etaSeconds: 14 });
    for (let p = 1; p <= 1000; p += 37) for (const t of [OPEN - 5000, OPEN, OPEN + 3333, OPEN + 20_000]) expect(standing(s, p, t).admitted).toBe(p <= admittedThrough(s, t));
  });
});

describe("queue stores (memory, Redis, PostgreSQL)", () => {
  const schema = uniqueName("wrq");
  const prefix = `mes:${uniqueName("wrq")}:`;
  afterAll(async () => {
    await dropPgSchema(schema);
    await deleteRedisPrefix(prefix);
  });
  const stores: [string, () => Promise<QueueStore>][] = [
    ["memory", () => Promise.resolve(new MemoryQueueStore())],
    ["redis", () => Promise.resolve(new RedisQueueStore(REDIS_URL, prefix))],
    ["postgres", async () => (await ensurePgDatabase(), new PostgresQueueStore(PG_URL, schema))],
  ];
  for (const [name, open] of stores) {
    it(`${name}: ranks by score, joining again keeps the place, a restored token can only bring back a better one`, async () => {
      const q = await open();
      const sku = `s-${randomBytes(3).toString("hex")}`;
      try {
        expect(await q.enter(sku, "a", 5, false)).toEqual({ score: 5, position: 1, size: 1 });
        expect(await q.enter(sku, "b", 3, false)).toEqual({ score: 3, position: 1, size: 2 });
        expect(await q.enter(sku, "a", 1, false)).toEqual({ score: 5, position: 2, size: 2 }); // a second join draws nothing new
        expect(await q.enter(sku, "a", 9, true)).toEqual({ score: 5, position: 2, size: 2 }); // an older, worse token changes nothing
        expect(await q.enter(sku, "a", 2, true)).toEqual({ score: 2, position: 1, size: 2 }); // the token's score comes back
        expect((await q.enter(`${sku}-other`, "a", 7, false)).position).toBe(1); // rooms are per SKU
      } finally {
        await q.close();
      }
    });
  }
});

describe("global waiting room through the real service (Redis + PostgreSQL journal, two processes' worth of restarts)", () => {
  const T0 = Math.floor(Date.now() / 1000) * 1000;
  const OPENS = T0 + 60_000;
  const clock = new ManualClock(T0);
  const schema = uniqueName("wr");
  const prefix = `mes:${uniqueName("wr")}:`;
  const dir = mkdtempSync(join(tmpdir(), "escrow-room-"));
  const secretFile = join(dir, "queue.secret");
  let server: EscrowServer;
  const boot = async () =>
    startEscrowServer({
      config: await testConfig(["eu", "us"], {
        // Leases and reservations outlive the test's clock jumps.
        leaseTtlSeconds: 3600,
        reservationTtlSeconds: 3600,
        skus: [{ sku: "drop", total: 10, globalReserve: 0, allocation: { eu: 5, us: 5 }, refill: { batchSize: 2, reorderPoints: { eu: 1, us: 1 } }, opensAt: new Date(OPENS).toISOString() }],
        waitingRoom: { policy: "lottery", trancheSize: 2, trancheIntervalSeconds: 30, tokenSecretFile: secretFile },
      }),
      port: 0,
      clock,
      redisUrl: REDIS_URL,
      postgresUrl: PG_URL,
      schema,
      redisPrefix: prefix,
    });
  type View = { queueToken: string; position: number; size: number; admitted: boolean; etaSeconds: number; pass?: string };
  const queue = async (who: string, region: string, token?: string, method = "POST") => {
    const res = await fetch(`${server.url}/v1/inventory/drop/queue`, { method, headers: { ...(await as(who, region)), ...(token ? { "x-queue-token": token } : {}) } });
    return { status: res.status, body: (await res.json()) as View & { detail?: string } };
  };
  const reserve = async (who: string, region: string, pass?: string) =>
    fetch(`${server.url}/v1/inventory/drop/reservations`, {
      method: "POST",
      headers: { ...(await as(who, region)), "content-type": "application/json", ...(pass ? { "x-queue-pass": pass } : {}) },
      body: JSON.stringify({ qty: 1 }),
    });
  const tokens = new Map<string, string>();
  const positions = new Map<string, number>();

  beforeAll(async () => {
    writeFileSync(secretFile, randomBytes(48).toString("base64"));
    await ensurePgDatabase();
    server = await boot();
  });
  afterAll(async () => {
    await server?.close();
    await dropPgSchema(schema);
    await deleteRedisPrefix(prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses a scheduled sale without the shared token secret, naming it", async () => {
    const config = await testConfig(["eu"], {
      skus: [{ sku: "x", total: 1, globalReserve: 0, allocation: { eu: 1 }, refill: { batchSize: 1, reorderPoints: { eu: 0 } }, opensAt: new Date(OPENS).toISOString() }],
    });
    await expect(startEscrowServer({ config, port: 0 })).rejects.toThrow(/tokenSecretFile/);
  });

  it("pre-queues buyers from every region before the open; nobody reserves before it", async () => {
    for (const [who, region] of [
      ["ann", "eu"],
      ["bob", "us"],
      ["cat", "eu"],
      ["dan", "us"],
    ] as const) {
      const { status, body } = await queue(who, region);
      expect(status).toBe(200);
      expect(body.admitted).toBe(false);
      expect(body.pass).toBeUndefined();
      tokens.set(who, body.queueToken);
    }
    // Places settle once everyone is in: read them back with each token (any region).
    for (const who of tokens.keys()) {
      const { body } = await queue(who, "us", tokens.get(who), "GET");
      expect(body.size).toBe(4);
      expect(body.etaSeconds).toBe(60 + (Math.ceil(body.position / 2) - 1) * 30);
      positions.set(who, body.position);
    }
    expect([...positions.values()].sort()).toEqual([1, 2, 3, 4]);
    // Joining again keeps the place (no second entry, no better draw).
    expect((await queue("ann", "us")).body.position).toBe(positions.get("ann"));
    const early = await reserve("ann", "eu");
    expect(early.status).toBe(425);
    expect(Number(early.headers.get("retry-after"))).toBe(60);
  });

  it("refuses forged and foreign queue tokens with 403", async () => {
    const [h, p, sig] = tokens.get("dan")!.split(".");
    const better = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, "base64url").toString()), score: -1e9 })).toString("base64url");
    const forged = await queue("dan", "eu", `${h}.${better}.${sig}`);
    expect(forged.status).toBe(403);
    expect(forged.body.detail).toMatch(/does not verify/);
    const foreign = await queue("dan", "eu", tokens.get("ann"));
    expect(foreign.status).toBe(403);
    expect(foreign.body.detail).toMatch(/another buyer/);
    expect((await queue("dan", "eu", tokens.get("dan"), "GET")).body.position).toBe(positions.get("dan"));
  });

  it("keeps every place across a restart, and across Redis losing the queue (tokens put buyers back)", async () => {
    await server.close();
    server = await boot();
    for (const who of tokens.keys()) expect((await queue(who, "eu", tokens.get(who), "GET")).body.position).toBe(positions.get(who));
    const r = new Redis(REDIS_URL);
    await r.del(`${prefix}queue:{drop}`);
    await r.quit();
    for (const who of tokens.keys()) await queue(who, "us", tokens.get(who), "GET");
    for (const who of tokens.keys()) expect((await queue(who, "eu", tokens.get(who), "GET")).body.position).toBe(positions.get(who));
    // Lost again, and everyone joins afresh before showing their token: a second draw would let them keep the
    // better of two places. The draw is the same, so the old token brings back nothing better.
    const r2 = new Redis(REDIS_URL);
    await r2.del(`${prefix}queue:{drop}`);
    await r2.quit();
    const score = (token: string) => (JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { score: number }).score;
    for (const who of tokens.keys()) expect(score((await queue(who, who === "bob" ? "us" : "eu")).body.queueToken), who).toBe(score(tokens.get(who)!));
    for (const who of tokens.keys()) expect((await queue(who, "us", tokens.get(who), "GET")).body.position).toBe(positions.get(who));
  });

  it("at the open admits the first tranche with passes, releases the next on the clock, and queues late joiners behind", async () => {
    clock.set(OPENS);
    const byPlace = [...positions.entries()].sort((a, b) => a[1] - b[1]).map(([who]) => who);
    const [first, second, third] = byPlace as [string, string, string];
    const a = await queue(first, "eu", tokens.get(first), "GET");
    expect(a.body).toMatchObject({ admitted: true, etaSeconds: 0 });
    const c = await queue(third, "eu", tokens.get(third), "GET");
    expect(c.body).toMatchObject({ admitted: false, etaSeconds: 30 });
    expect(c.body.pass).toBeUndefined();
    // The pass works in any region; without one, or with someone else's, or forged, no reservation.
    expect((await reserve(first, "us", a.body.pass)).status).toBe(201);
    expect((await reserve(third, "eu")).status).toBe(403);
    expect((await reserve(third, "eu", a.body.pass)).status).toBe(403);
    const [ph, pp, ps] = a.body.pass!.split(".");
    const forgedPass = `${ph}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(pp!, "base64url").toString()), sub: third })).toString("base64url")}.${ps}`;
    expect((await reserve(third, "eu", forgedPass)).status).toBe(403);
    const b = await queue(second, "us", tokens.get(second), "GET");
    expect((await reserve(second, "eu", b.body.pass)).status).toBe(201);
    const late = await queue("eve", "us");
    expect(late.body).toMatchObject({ position: 5, admitted: false, etaSeconds: 60 });
    clock.advance(30_000);
    const c2 = await queue(third, "us", tokens.get(third), "GET");
    expect(c2.body.admitted).toBe(true);
    expect((await reserve(third, "us", c2.body.pass)).status).toBe(201);
    const view = (await (await fetch(`${server.url}/v1/inventory/drop`, { headers: { "x-region": "eu" } })).json()) as { reserved: number; sold: number; total: number };
    expect(view).toMatchObject({ total: 10, reserved: 3, sold: 0 });
    // 7 of 10 left is above the low-inventory line (10%): no warning in the room yet.
    expect((await queue("eve", "eu", late.body.queueToken, "GET")).body).toMatchObject({ warnings: [] });
  });
});
