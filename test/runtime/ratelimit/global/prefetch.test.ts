/**
 * Global limits ask for their next grant ahead of need (service/global-budgets.ts, global/prefetch.ts):
 * (a) behind an allocator that answers 300 ms late, steady traffic stops waiting on it once the demand
 * rate and round trip are measured (ratelimit_global_allocator_waits_total stays put) and two regions
 * still admit exactly the limit; (b) behind a hung allocator, decisions answer by the failure policy
 * after the bounded wait instead of hanging; (c) over any interleaving of requests, answers, prefetches
 * and releases, the regions never admit more than the limit in a window; (d) the same with each region's
 * clock at its own offset from the allocator's, around window boundaries, where grants for the next window
 * are asked for ahead — and no decision spends a window neither its region nor the allocator has reached;
 * (e) with a 300 ms allocator (simulated time) and steady demand across window boundaries, decisions stop
 * waiting at the boundaries once warm: the next window's grant is there when it starts.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { ManualClock, skewedClock } from "../../../../runtime/common/clock.js";
import { startService, type RunningService } from "../../../../runtime/kit/index.js";
import { allocatorService } from "../../../../runtime/ratelimit/global/server.js";
import { WindowBudgetAllocator, windowStart, type BudgetGrant, type BudgetRequest } from "../../../../runtime/ratelimit/global/window-budget.js";
import { GlobalBudgets } from "../../../../runtime/ratelimit/service/global-budgets.js";
import { ratelimitService } from "../../../../runtime/ratelimit/service/service.js";

const REDIS = "redis://127.0.0.1:6379/2";
const PREFIX = `mrl:test:prefetch:${process.pid}:`;
const running: RunningService[] = [];
const servers: Server[] = [];
afterAll(async () => {
  for (const s of running.splice(0)) await s.close();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  const r = new Redis(REDIS);
  const keys = await r.keys(`${PREFIX}*`);
  if (keys.length) await r.del(...keys);
  r.disconnect();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const rules = (perDay: number) => {
  const file = join(mkdtempSync(join(tmpdir(), "prefetch-")), "rules.yaml");
  // A daily quota, so no window boundary falls inside the test.
  writeFileSync(file, `domain: api\ndescriptors:\n  - key: tenant\n    rate_limit: { unit: day, requests_per_unit: ${perDay}, global: true }\n`);
  return file;
};

const check = async (url: string) => {
  const r = await fetch(`${url}/v1/ratelimit`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ domain: "api", descriptors: [{ entries: [{ key: "tenant", value: "acme" }] }] }),
  });
  const text = await r.text();
  return r.status === 200 || r.status === 429 ? (JSON.parse(text) as { overall_code: string }).overall_code : `${r.status} ${text}`;
};

const metric = async (url: string, name: string) => {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, "m").exec(text);
  if (!m) throw new Error(`${name} is not on ${url}/metrics`);
  return Number(m[1]);
};

/** A real HTTP server in front of the allocator that holds every request `delayMs` before passing it on (`Infinity`: never answers). */
async function slowProxy(target: string | null, delayMs: number): Promise<string> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (target === null) return; // hung: reads the request, never answers
      setTimeout(() => {
        fetch(`${target}${req.url}`, { method: req.method, headers: { "content-type": "application/json" }, body: Buffer.concat(chunks) })
          .then(async (r) => res.writeHead(r.status, { "content-type": "application/json" }).end(await r.text()))
          .catch((err: Error) => res.writeHead(502).end(err.message));
      }, delayMs);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const region = (file: string, name: string, globalAllocator: Record<string, unknown>, globalPrefetch = 0.05) =>
  startService(ratelimitService, { rules: file, watch: false, region: name, globalPrefetch, grpc: { port: 0 }, server: { port: 0 }, globalAllocator }, { processMetrics: false });

describe("global limits ask for the next grant before this one is spent", () => {
  it("(a) behind a 300 ms allocator, steady traffic stops waiting on it after warm-up, and the total stays exact", async () => {
    const LIMIT = 2000;
    const allocator = await startService(allocatorService, { store: "redis", redis: REDIS, redisPrefix: PREFIX, server: { port: 0 } }, { processMetrics: false });
    running.push(allocator);
    const url = await slowProxy(allocator.url, 300);
    const file = rules(LIMIT);
    // A prefetch floor of 0.5 % of the limit (10) is a tenth of what one round trip consumes here: the
    // grants that keep ahead are sized from the measured rate and round trip.
    const ga = { url, timeoutMs: 5000, waitMs: 50, failureMode: "closed" };
    const [eu, us] = [await region(file, "eu", ga, 0.005), await region(file, "us", ga, 0.005)];
    running.push(eu, us);
    let admitted = 0;
    const steady = (n: number) =>
      Promise.all(
        [eu, us].map(async (r) => {
          for (let i = 0; i < n; i++) {
            const code = await check(r.url);
            expect(["OK", "OVER_LIMIT"]).toContain(code);
            if (code === "OK") admitted++;
            await sleep(5);
          }
        }),
      );
    const waits = async () => (await metric(eu.url, "ratelimit_global_allocator_waits_total")) + (await metric(us.url, "ratelimit_global_allocator_waits_total"));
    await steady(150);
    const warm = await waits();
    expect(warm).toBeGreaterThan(0); // the first grant of each region is waited for
    const prefetched = (await metric(eu.url, "ratelimit_global_allocator_prefetches_total")) + (await metric(us.url, "ratelimit_global_allocator_prefetches_total"));
    const before = admitted;
    await steady(250);
    // The grants of the steady phase arrive before the ones before them are spent: on a quiet machine no decision
    // waits; a late scheduler may make a rare one wait (a timing, not a contract). Without asking ahead every top-up
    // is waited for.
    const steadyWaits = (await waits()) - warm;
    expect(steadyWaits).toBeLessThanOrEqual(5);
    expect((await metric(eu.url, "ratelimit_global_allocator_prefetches_total")) + (await metric(us.url, "ratelimit_global_allocator_prefetches_total"))).toBeGreaterThan(prefetched);
    // ... and covered every request but those that waited past waitMs (the warm-up's first ones timed out to `closed`).
    expect(admitted - before).toBeGreaterThanOrEqual(500 - steadyWaits);
    // Drain the day's budget in bursts: never more than the limit, and in the end exactly the limit.
    for (let round = 0; round < 400 && admitted < LIMIT; round++) {
      const codes = await Promise.all(Array.from({ length: 40 }, (_, i) => check((i % 2 ? eu : us).url)));
      expect(codes.filter((c) => c !== "OK" && c !== "OVER_LIMIT")).toEqual([]);
      admitted += codes.filter((c) => c === "OK").length;
      expect(admitted).toBeLessThanOrEqual(LIMIT);
    }
    expect(admitted).toBe(LIMIT);
    const redis = new Redis(REDIS);
    const [key] = await redis.keys(`${PREFIX}{budget:*`);
    const grants = Object.entries(await redis.hgetall(key!)).filter(([f]) => f !== "w");
    redis.disconnect();
    expect(grants.reduce((sum, [, v]) => sum + Number(v.split(",")[0]), 0)).toBeLessThanOrEqual(LIMIT);
  }, 120_000);

  it("(b) behind a hung allocator, decisions answer by the failure policy after the bounded wait", async () => {
    const hung = await slowProxy(null, Infinity);
    const file = rules(40);
    // The allocator call itself may take a minute; no decision waits for it longer than waitMs.
    const local = await region(file, "eu", { url: hung, timeoutMs: 60_000, waitMs: 100, failureMode: "local", instances: 4 });
    const unavailable = await region(file, "us", { url: hung, timeoutMs: 60_000, waitMs: 100, failureMode: "unavailable" });
    running.push(local, unavailable);
    const codes = await Promise.all(Array.from({ length: 30 }, () => check(local.url)));
    // local: limit / instances = 10 of this replica's own, the rest refused.
    expect(codes.filter((c) => c === "OK")).toHaveLength(10);
    expect(codes.filter((c) => c === "OVER_LIMIT")).toHaveLength(20);
    expect(await metric(local.url, "ratelimit_global_allocator_fallbacks_total")).toBe(30);
    expect(await metric(local.url, "ratelimit_global_allocator_waits_total")).toBeGreaterThan(0);
    // unavailable: the request fails (503 over HTTP, UNAVAILABLE over gRPC) so Envoy can fail open.
    expect(await check(unavailable.url)).toMatch(/^503 /);
  }, 30_000);

  it("(c) over any interleaving of requests, answers, prefetches and releases, never more than the limit per window", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 60 }),
        fc.array(fc.record({ region: fc.integer({ min: 0, max: 2 }), cost: fc.integer({ min: 0, max: 12 }), advance: fc.integer({ min: 0, max: 400 }), release: fc.boolean() }), {
          minLength: 1,
          maxLength: 40,
        }),
        // waitMs 0 (never wait) or unbounded: the scheduler, not a timer, decides what arrives when.
        fc.array(fc.constantFrom(0, undefined), { minLength: 3, maxLength: 3 }),
        async (s, limit, steps, waits) => {
          const PERIOD = 1000;
          const clock = new ManualClock(7 * PERIOD);
          const allocator = new WindowBudgetAllocator();
          // Every answer comes back when the scheduler says, in any order relative to the others.
          const source = (r: BudgetRequest, now: number): Promise<BudgetGrant> => s.schedule(Promise.resolve(null)).then(() => allocator.acquire(r, Math.max(now, clock.now())));
          const regions = waits.map((waitMs, i) => new GlobalBudgets({ client: `r${i}`, source, clock, failureMode: "closed", waitMs, prefetch: 0.05 }));
          const admitted = new Map<number, number>();
          const pending: Promise<unknown>[] = [];
          for (const step of steps) {
            const g = regions[step.region]!;
            const asked = clock.now();
            pending.push(
              g.reserve("k", { algorithm: "fixed-window", limit, periodMs: PERIOD }, step.cost).then((d) => {
                // The window the decision spent from (it may have waited into a later one): its end is resetAfterMs from `asked`.
                const w = asked + d.resetAfterMs - PERIOD;
                expect(w).toBe(windowStart(w, PERIOD));
                if (d.allowed && step.cost > 0) admitted.set(w, (admitted.get(w) ?? 0) + step.cost);
              }),
            );
            if (step.release) pending.push(g.releaseIdle(0));
            clock.advance(step.advance);
            // Let some of the scheduled answers through between requests.
            if (step.advance % 3 === 0 && s.count() > 0) await s.waitOne();
          }
          await s.waitFor(Promise.all(pending));
          for (const [w, n] of admitted) expect(n, `window ${w}`).toBeLessThanOrEqual(limit);
          for (const g of regions) g.close();
        },
      ),
      { numRuns: 300 },
    );
  });

  it("(d) with skewed region clocks around window boundaries and next-window grants, never more than the limit per window", async () => {
    let adopted = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 60 }),
        // Each region's clock offset from the allocator's (ms), and where in the window the run starts.
        fc.array(fc.integer({ min: -300, max: 300 }), { minLength: 3, maxLength: 3 }),
        fc.integer({ min: 0, max: 999 }),
        fc.array(fc.record({ region: fc.integer({ min: 0, max: 2 }), cost: fc.integer({ min: 0, max: 12 }), advance: fc.integer({ min: 0, max: 150 }), release: fc.boolean() }), {
          minLength: 1,
          maxLength: 50,
        }),
        async (s, limit, offsets, phase, steps) => {
          const PERIOD = 1000;
          const clock = new ManualClock(7 * PERIOD + phase);
          const clocks = offsets.map((o) => skewedClock(clock, () => o));
          const allocator = new WindowBudgetAllocator();
          const source = (r: BudgetRequest): Promise<BudgetGrant> => s.schedule(Promise.resolve(null)).then(() => allocator.acquire(r, clock.now()));
          const regions = clocks.map((c, i) => new GlobalBudgets({ client: `r${i}`, source, clock: c, stopwatch: () => clock.now(), failureMode: "closed", prefetch: 0.05 }));
          const admitted = new Map<number, number>();
          const pending: Promise<unknown>[] = [];
          for (const step of steps) {
            const g = regions[step.region]!;
            const c = clocks[step.region]!;
            const asked = c.now();
            pending.push(
              g.reserve("k", { algorithm: "fixed-window", limit, periodMs: PERIOD }, step.cost).then((d) => {
                const w = asked + d.resetAfterMs - PERIOD;
                expect(w).toBe(windowStart(w, PERIOD));
                // A grant asked for ahead is spent only once this region's clock, or the allocator's, is in its window.
                expect(w).toBeLessThanOrEqual(Math.max(windowStart(c.now(), PERIOD), windowStart(clock.now(), PERIOD)));
                if (d.allowed && step.cost > 0) admitted.set(w, (admitted.get(w) ?? 0) + step.cost);
              }),
            );
            if (step.release) pending.push(g.releaseIdle(0));
            clock.advance(step.advance);
            if (step.advance % 3 === 0 && s.count() > 0) await s.waitOne();
          }
          await s.waitFor(Promise.all(pending));
          for (const [w, n] of admitted) expect(n, `window ${w}`).toBeLessThanOrEqual(limit);
          for (const g of regions) {
            adopted += g.nextWindowPrefetches;
            g.close();
          }
        },
      ),
      { numRuns: 300 },
    );
    // The runs did ask for next windows ahead (the property covers them).
    expect(adopted).toBeGreaterThan(0);
  });

  it("(e) behind a 300 ms allocator (simulated), steady demand across window boundaries waits at none of them once warm", async () => {
    const PERIOD = 1000;
    const STEP = 5;
    const clock = new ManualClock(100 * PERIOD);
    const allocator = new WindowBudgetAllocator();
    // Each call reaches the allocator 150 ms after it is made and its answer arrives 150 ms later.
    const inFlight: { at: number; run: () => void }[] = [];
    const source = (r: BudgetRequest): Promise<BudgetGrant> =>
      new Promise((resolve) => {
        const sent = clock.now();
        inFlight.push({
          at: sent + 150,
          run: () => {
            const g = allocator.acquire(r, clock.now());
            inFlight.push({ at: sent + 300, run: () => resolve(g) });
          },
        });
      });
    const regions = ["eu", "us"].map((client) => new GlobalBudgets({ client, source, clock, stopwatch: () => clock.now(), failureMode: "closed", prefetch: 0.005 }));
    const LIMIT = 1000;
    const admitted = new Map<number, number>();
    const decisions: Promise<void>[] = [];
    let warmWaits = 0;
    // 8 windows at 200 decisions a second per region (400 of the 1000 a window); the first window is the warm-up.
    for (let t = 0; t < 8 * PERIOD; t += STEP) {
      if (t === PERIOD) warmWaits = regions[0]!.waits + regions[1]!.waits;
      for (const g of regions) {
        const asked = clock.now();
        decisions.push(
          g.reserve("k", { algorithm: "fixed-window", limit: LIMIT, periodMs: PERIOD }, 1).then((d) => {
            const w = asked + d.resetAfterMs - PERIOD;
            if (d.allowed) admitted.set(w, (admitted.get(w) ?? 0) + 1);
          }),
        );
      }
      clock.advance(STEP);
      for (let due = inFlight.filter((e) => e.at <= clock.now()); due.length; due = inFlight.filter((e) => e.at <= clock.now())) {
        for (const e of due) inFlight.splice(inFlight.indexOf(e), 1);
        for (const e of due) e.run();
        await new Promise((r) => setImmediate(r));
      }
      await new Promise((r) => setImmediate(r));
    }
    while (inFlight.length) {
      clock.advance(STEP);
      for (const e of inFlight.splice(0)) e.run();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(decisions);
    const waits = regions[0]!.waits + regions[1]!.waits;
    expect(warmWaits).toBeGreaterThan(0); // each region's first grant is waited for
    // 7 boundaries × 2 regions: without the next window's grant asked ahead, at least 14 decisions wait on one.
    expect(waits - warmWaits).toBeLessThanOrEqual(2);
    expect(regions[0]!.nextWindowPrefetches + regions[1]!.nextWindowPrefetches).toBeGreaterThanOrEqual(14);
    for (const [w, n] of admitted) expect(n, `window ${w}`).toBeLessThanOrEqual(LIMIT);
    // Demand is under the limit, so every decision after the warm-up window was admitted.
    for (let w = 101 * PERIOD; w < 108 * PERIOD; w += PERIOD) expect(admitted.get(w), `window ${w}`).toBe(400);
    for (const g of regions) g.close();
  });
});
