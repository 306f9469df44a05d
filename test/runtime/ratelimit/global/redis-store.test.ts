// `meridian ratelimit allocator` with `store: redis`: replicas on one Redis share leases (never more than the
// capacity granted in sum, whatever the interleaving), a replica killed with SIGKILL loses no lease before it
// expires, and a Redis that stops answering fails readiness and answers GetCapacity with a 503 naming it.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { Redis } from "ioredis";
import { connect } from "nats";
import { afterAll, describe, expect, it } from "vitest";
import { ManualClock, systemClock } from "../../../../runtime/common/clock.js";
import { startService } from "../../../../runtime/kit/index.js";
import { requestCapacity } from "../../../../runtime/ratelimit/global/nats.js";
import { allocatorService } from "../../../../runtime/ratelimit/global/server.js";
import { killServers, serveCli } from "../../../cli.js";
import { TcpProxy } from "../../tcp-proxy.js";
import { startRedisCluster } from "../redis-cluster.js";

const REDIS = "redis://127.0.0.1:6379/11";
const PREFIX = `mrl:test:allocstore:${process.pid}:`;
const admin = new Redis(REDIS);
const dirs: string[] = [];

afterAll(async () => {
  killServers();
  const keys = await admin.keys(`${PREFIX}*`);
  if (keys.length) await admin.del(...keys);
  admin.disconnect();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

type Replica = Awaited<ReturnType<typeof startAllocator>>;
const startAllocator = (raw: Record<string, unknown>) => startService(allocatorService, raw, { clock: systemClock, processMetrics: false });
const replica = (resources: object[], extra: object = {}): Promise<Replica> => startAllocator({ resources, store: "redis", redis: REDIS, redisPrefix: PREFIX, server: { port: 0 }, ...extra });

const ask = async (url: string, body: object): Promise<{ status: number; json: Record<string, unknown> }> => {
  const r = await fetch(`${url}/v1/allocator/capacity`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
};

const redisNow = async () => {
  const [s, us] = await admin.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
};

describe("the allocator with its leases in Redis", () => {
  it("two replicas on one Redis never grant more than the capacity in sum, under concurrent asks (property, real Redis)", async () => {
    // Leases far longer than the test: every grant stays counted, so any double grant would show in the sum.
    const resources = [{ id: "shared", capacity: 100, algorithm: "fair", lease_ms: 600_000, refresh_ms: 1000 }];
    const [a, b] = [await replica(resources), await replica(resources)];
    try {
      // The memory store would grant each replica's client the whole capacity.
      expect((await ask(a.url, { resource: "shared", client: "first", wants: 100 })).json.has).toBe(100);
      expect((await ask(b.url, { resource: "shared", client: "second", wants: 100 })).json.has).toBe(0);
      const latest = new Map<string, number>([
        ["first", 100],
        ["second", 0],
      ]);
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(fc.record({ client: fc.integer({ min: 0, max: 7 }), wants: fc.integer({ min: 0, max: 150 }), onA: fc.boolean() }), { selector: (x) => x.client, minLength: 1, maxLength: 8 }),
          async (batch) => {
            // One ask per client per batch, all at once across both replicas: at the end each client's last answer is its lease.
            const answers = await Promise.all(batch.map((x) => ask(x.onA ? a.url : b.url, { resource: "shared", client: `c${x.client}`, wants: x.wants })));
            answers.forEach((r, i) => {
              expect(r.status).toBe(200);
              latest.set(`c${batch[i]!.client}`, r.json.has as number);
            });
            const granted = [...latest.values()].reduce((s, h) => s + h, 0);
            expect(granted).toBeLessThanOrEqual(100 + 1e-9);
            // Both replicas show the same leases, and they are what the clients were told.
            const pages = await Promise.all(
              [a, b].map(async (s) => ((await (await fetch(`${s.url}/v1/allocator/resources/shared`)).json()) as { clients: { client: string; has: number }[] }).clients),
            );
            expect(pages[0]).toEqual(pages[1]);
            expect(Object.fromEntries(pages[0]!.map((c) => [c.client, c.has]))).toEqual(Object.fromEntries(latest));
          },
        ),
        { numRuns: 40 },
      );
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("keeps the sum within capacity when the replicas' clocks disagree by an hour (leases are timed by Redis)", async () => {
    const resources = [{ id: "skewed", capacity: 100, lease_ms: 60_000, refresh_ms: 1000 }];
    const raw = { resources, redis: REDIS, redisPrefix: PREFIX, server: { port: 0 } };
    const behind = await startAllocator(raw);
    // A replica an hour ahead would, by its own clock, see every lease the other granted as long expired.
    const ahead = await startService(allocatorService, raw, { clock: new ManualClock(Date.now() + 3_600_000), processMetrics: false });
    try {
      expect((await ask(behind.url, { resource: "skewed", client: "eu", wants: 100 })).json.has).toBe(100);
      expect((await ask(ahead.url, { resource: "skewed", client: "us", wants: 100 })).json.has).toBe(0);
      expect((await ask(ahead.url, { resource: "skewed", client: "ap", wants: 100 })).json.has).toBe(0);
    } finally {
      await behind.close();
      await ahead.close();
    }
  });

  it("answers GetCapacity over NATS from the same Redis leases (real NATS)", async () => {
    const subject = `meridian.test.allocstore.${process.pid}`;
    const resources = [{ id: "viaNats", capacity: 60, lease_ms: 600_000, refresh_ms: 1000 }];
    const a = await replica(resources, { nats: "nats://127.0.0.1:4222", subject });
    const b = await replica(resources);
    const nc = await connect({ servers: "127.0.0.1:4222" });
    try {
      expect((await requestCapacity(nc, subject, "viaNats", "eu", 60, 2000)).has).toBe(60);
      expect((await ask(b.url, { resource: "viaNats", client: "us", wants: 60 })).json.has).toBe(0);
    } finally {
      await nc.drain();
      await a.close();
      await b.close();
    }
  });

  it("keeps a SIGKILLed replica's leases counted until they expire, and no longer (spawned `meridian ratelimit allocator`)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "alloc-kill-"));
    dirs.push(dir);
    const config = join(dir, "allocator.yaml");
    writeFileSync(config, `resources:\n  - { id: killed, capacity: 100, lease_ms: 3000, refresh_ms: 500 }\nredisPrefix: "${PREFIX}"\n`);
    const first = await serveCli(["ratelimit", "allocator", "--config", config, "--redis", REDIS, "--port", "0"]);
    const granted = await ask(first.url, { resource: "killed", client: "eu", wants: 100 });
    expect(granted.json).toMatchObject({ has: 100 });
    const expiresAt = granted.json.expiresAt as number;
    first.child.kill("SIGKILL");
    await new Promise((r) => first.child.once("exit", r));

    const second = await serveCli(["ratelimit", "allocator", "--config", config, "--redis", REDIS, "--port", "0"]);
    // Until eu's lease expires, the new replica grants nothing of what eu holds: no lease was lost with the process.
    for (;;) {
      const before = await redisNow();
      const r = await ask(second.url, { resource: "killed", client: "us", wants: 100 });
      const after = await redisNow();
      expect(r.status).toBe(200);
      if ((r.json.has as number) === 0) {
        expect(before).toBeLessThan(expiresAt);
        await new Promise((res) => setTimeout(res, 200));
        continue;
      }
      // …and once it has expired, its capacity is free again.
      expect(after).toBeGreaterThanOrEqual(expiresAt);
      expect(r.json.has).toBe(100);
      break;
    }
  });

  it("is not ready while Redis does not answer, answers GetCapacity with a 503 naming Redis (an {error} over NATS), and serves the same leases once it is back", async () => {
    const proxy = await TcpProxy.listen(6379);
    const url = `redis://127.0.0.1:${proxy.port}/11`;
    const subject = `meridian.test.allocstore.down.${process.pid}`;
    const s = await startAllocator({
      resources: [{ id: "down", capacity: 10, lease_ms: 600_000, refresh_ms: 1000 }],
      redis: url,
      redisPrefix: PREFIX,
      nats: "nats://127.0.0.1:4222",
      subject,
      server: { port: 0 },
    });
    const nc = await connect({ servers: "127.0.0.1:4222" });
    let back: TcpProxy | undefined;
    try {
      expect((await (await fetch(`${s.url}/readyz`)).json()).checks).toEqual({ "store:redis": "ok", redis: "ok", "store:nats": "ok", nats: "ok" });
      expect((await ask(s.url, { resource: "down", client: "eu", wants: 4 })).json.has).toBe(4);
      await proxy.cut();
      const ready = await fetch(`${s.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { checks: Record<string, string> }).checks["store:redis"]).not.toBe("ok");
      const r = await ask(s.url, { resource: "down", client: "eu", wants: 4 });
      expect(r.status).toBe(503);
      expect(r.json).toMatchObject({ error: "store unavailable", detail: expect.stringContaining(`Redis at ${url} did not answer`) });
      expect((await fetch(`${s.url}/v1/allocator/resources/down`)).status).toBe(503);
      await expect(requestCapacity(nc, subject, "down", "eu", 4, 5000)).rejects.toThrow(`allocator refused: Redis at ${url} did not answer`);
      // An unknown resource is still the caller's mistake, not the store's.
      expect((await ask(s.url, { resource: "nope", client: "eu", wants: 4 })).status).toBe(404);
      expect((await fetch(`${s.url}/healthz`)).status).toBe(200);

      // Redis comes back at the same address: ready again, and the leases granted before the outage are still there.
      back = await TcpProxy.listen(6379, proxy.port);
      while ((await fetch(`${s.url}/readyz`)).status !== 200) await new Promise((r) => setTimeout(r, 100));
      expect((await ask(s.url, { resource: "down", client: "us", wants: 10 })).json.has).toBe(6);
      expect((await requestCapacity(nc, subject, "down", "eu", 4, 5000)).has).toBe(4);
    } finally {
      await nc.drain();
      await s.close();
      await proxy.close();
      await back?.close();
    }
  });

  it("shares leases through a real 3-master Redis Cluster (`redisCluster`), every resource on its own slot; not ready and 503 once the cluster is gone", async () => {
    const cluster = await startRedisCluster();
    const nodes = cluster.nodes.map((n) => `${n.host}:${n.port}`);
    const resources = ["r1", "r2", "r3", "r4", "r5", "r6"].map((id) => ({ id, capacity: 10, lease_ms: 600_000, refresh_ms: 1000 }));
    const start = () => startAllocator({ resources, redisCluster: nodes, server: { port: 0 } });
    const [a, b] = [await start(), await start()];
    let stopped = false;
    try {
      expect((await (await fetch(`${a.url}/readyz`)).json()).checks).toEqual({ "store:redis": "ok", redis: "ok" });
      // Resources spread over the slots (so over the masters); each is shared by both replicas.
      for (const r of resources) {
        expect((await ask(a.url, { resource: r.id, client: "eu", wants: 7 })).json.has).toBe(7);
        expect((await ask(b.url, { resource: r.id, client: "us", wants: 7 })).json.has).toBe(3);
      }
      const pages = await Promise.all(resources.map(async (r) => ((await (await fetch(`${b.url}/v1/allocator/resources/${r.id}`)).json()) as { clients: { has: number }[] }).clients));
      expect(pages.map((cs) => cs.reduce((s, c) => s + c.has, 0))).toEqual(resources.map(() => 10));

      // The cluster goes away: not ready, and GetCapacity is a 503 naming it.
      await cluster.stop();
      stopped = true;
      const down = await fetch(`${a.url}/readyz`);
      expect(down.status).toBe(503);
      expect(((await down.json()) as { checks: Record<string, string> }).checks["store:redis"]).not.toBe("ok");
      const r = await ask(a.url, { resource: "r1", client: "eu", wants: 7 });
      expect(r.status).toBe(503);
      expect(r.json).toMatchObject({ error: "store unavailable", detail: expect.stringContaining(`Redis Cluster ${nodes.join(",")} did not answer`) });
    } finally {
      await a.close();
      await b.close();
      if (!stopped) await cluster.stop();
    }
  });

  it("refuses a store config that cannot work, naming the key", async () => {
    const resources = [{ id: "x", capacity: 1 }];
    await expect(startService(allocatorService, { resources, store: "redis", server: { port: 0 } }, { processMetrics: false })).rejects.toThrow(/redis: store: redis needs the Redis URL/);
    await expect(startService(allocatorService, { resources, store: "memory", redis: REDIS, server: { port: 0 } }, { processMetrics: false })).rejects.toThrow(
      /store: store is memory but Redis is set/,
    );
    await expect(startService(allocatorService, { resources, redis: "127.0.0.1:6379", server: { port: 0 } }, { processMetrics: false })).rejects.toThrow(/redis: expected redis:\/\/host:port/);
    await expect(startService(allocatorService, { resources, store: "gossip", server: { port: 0 } }, { processMetrics: false })).rejects.toThrow(/store/);
    await expect(startService(allocatorService, { resources, redis: REDIS, redisCluster: ["127.0.0.1:7000"], server: { port: 0 } }, { processMetrics: false })).rejects.toThrow(
      /redisCluster: redis and redisCluster are exclusive/,
    );
  });
});
