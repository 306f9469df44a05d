/**
 * `global: true` limits from the allocator service: two rate limit services (two regions) asking one allocator
 * (`POST /v1/allocator/budget`, leases in Redis) admit exactly the limit per window between them, whichever
 * region is asked; with the allocator gone, the `local` fallback admits at most limit / instances per replica
 * and window, and a budget asked for with no allocator at all is refused naming it.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { startService, type RunningService } from "../../../../runtime/kit/index.js";
import { allocatorService } from "../../../../runtime/ratelimit/global/server.js";
import { ratelimitService } from "../../../../runtime/ratelimit/service/service.js";

const REDIS = "redis://127.0.0.1:6379/2";
const PREFIX = `mrl:test:budget-svc:${process.pid}:`;
const running: RunningService[] = [];
afterAll(async () => {
  for (const s of running.splice(0)) await s.close();
  const r = new Redis(REDIS);
  const keys = await r.keys(`${PREFIX}*`);
  if (keys.length) await r.del(...keys);
  r.disconnect();
});

const rules = () => {
  const file = join(mkdtempSync(join(tmpdir(), "budget-svc-")), "rules.yaml");
  // A daily quota: its budget is the whole day's, so the test is never split by a window boundary.
  writeFileSync(file, "domain: api\ndescriptors:\n  - key: tenant\n    rate_limit: { unit: day, requests_per_unit: 40, global: true }\n");
  return file;
};

const check = async (url: string, tenant = "acme") => {
  const r = await fetch(`${url}/v1/ratelimit`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ domain: "api", descriptors: [{ entries: [{ key: "tenant", value: tenant }] }] }),
  });
  // The HTTP face answers OVER_LIMIT with 429 (as Envoy's); anything else is not a decision.
  const text = await r.text();
  return { status: r.status, code: r.status === 200 || r.status === 429 ? (JSON.parse(text) as { overall_code: string }).overall_code : text };
};

describe("global limits from the allocator service", () => {
  it("two regions share one limit exactly through the allocator; without it, the local fallback's bound", async () => {
    const allocator = await startService(allocatorService, { store: "redis", redis: REDIS, redisPrefix: PREFIX, server: { port: 0 } }, { processMetrics: false });
    running.push(allocator);
    const file = rules();
    const region = (name: string) =>
      startService(
        ratelimitService,
        {
          rules: file,
          watch: false,
          region: name,
          grpc: { port: 0 },
          server: { port: 0 },
          globalAllocator: { url: allocator.url, failureMode: "local", instances: 4, waitMs: 10_000, timeoutMs: 10_000 },
        },
        { processMetrics: false },
      );
    const eu = await region("eu");
    const us = await region("us");
    running.push(eu, us);
    // A burst's decisions wait for the allocator (waitMs, and each call to it timeoutMs: the 500 ms default was
    // exceeded on a loaded machine): one that gave up would be the `local` fallback's, beyond the limit by design
    // (prefetch.test.ts covers the bounded wait).
    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => check((i % 2 ? eu : us).url)));
    expect(answers.filter((a) => a.code !== "OK" && a.code !== "OVER_LIMIT")).toEqual([]);
    const burst = answers.filter((a) => a.code === "OK").length;
    // Never more than the limit; what the burst left unspent is a region's prefetched grant, spent on its next requests.
    expect(burst).toBeLessThanOrEqual(40);
    let after = 0;
    for (let i = 0; i < 10; i++) for (const r of [eu, us]) if ((await check(r.url)).code === "OK") after++;
    expect(burst + after).toBe(40);
    // Both regions spent from it (each one's budget came from the allocator, not a local counter).
    const redis = new Redis(REDIS);
    const keys = await redis.keys(`${PREFIX}{budget:*`);
    expect(keys).toHaveLength(1);
    const grants = await redis.hgetall(keys[0]!);
    redis.disconnect();
    expect(Object.keys(grants).length).toBeGreaterThanOrEqual(2);

    // The allocator goes away: for a tenant it has not granted (acme's budget it said was spent, so acme is
    // refused without asking), each replica spends limit / instances = 10 of its own, then refuses.
    await allocator.close();
    running.splice(running.indexOf(allocator), 1);
    expect((await check(eu.url)).code).toBe("OVER_LIMIT");
    const offline = await Promise.all(Array.from({ length: 30 }, () => check(eu.url, "beta")));
    expect(offline.filter((a) => a.code === "OK")).toHaveLength(10);
  }, 60_000);

  it("the allocator refuses a malformed budget request naming the field", async () => {
    const allocator = await startService(allocatorService, { server: { port: 0 } }, { processMetrics: false });
    running.push(allocator);
    const r = await fetch(`${allocator.url}/v1/allocator/budget`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ resource: "r", limit: -1, periodMs: 1000, client: "eu", window: 0, used: 0, wants: 1 }),
    });
    expect(r.status).toBe(400);
    expect(JSON.stringify(await r.json())).toMatch(/limit/);
  });
});
