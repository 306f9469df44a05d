import { connect } from "nats";
import { describe, expect, it } from "vitest";
import { ManualClock, systemClock } from "../../../../runtime/common/clock.js";
import { GlobalAllocator } from "../../../../runtime/ratelimit/global/allocator.js";
import { requestCapacity, serveAllocator } from "../../../../runtime/ratelimit/global/nats.js";
import { globalOverageBound } from "../../../../runtime/ratelimit/global/regional.js";
import { startService } from "../../../../runtime/kit/index.js";
import { allocatorService, parseAllocatorConfig } from "../../../../runtime/ratelimit/global/server.js";
import { LeaseSync } from "../../../../runtime/ratelimit/global/sync.js";

const YAML = `
resources:
  - id: checkout
    capacity: 200
    algorithm: fair
    lease_ms: 2000
    refresh_ms: 100
`;

describe("allocator process", () => {
  it("reads its resources and answers GetCapacity over HTTP with a status page (on the service kit)", async () => {
    const clock = new ManualClock(0);
    const running = await startService(
      allocatorService,
      { resources: [{ id: "checkout", capacity: 200, algorithm: "fair", lease_ms: 2000, refresh_ms: 100 }], server: { port: 0 } },
      { clock, processMetrics: false },
    );
    const app = running.app;
    expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const r = await app.inject({ method: "POST", url: "/v1/allocator/capacity", payload: { resource: "checkout", client: "eu", wants: 50 } });
    expect(r.json()).toEqual({ resource: "checkout", has: 50, expiresAt: 2000, refreshMs: 100, safeCapacity: 0 });
    expect((await app.inject({ method: "GET", url: "/v1/allocator/resources/checkout" })).json().clients).toEqual([{ client: "eu", wants: 50, has: 50, expiresAt: 2000 }]);
    expect((await app.inject({ method: "POST", url: "/v1/allocator/capacity", payload: { resource: "nope", client: "eu", wants: 1 } })).statusCode).toBe(404);
    expect((await app.inject({ method: "POST", url: "/v1/allocator/capacity", payload: { resource: "checkout", client: "eu" } })).statusCode).toBe(400);
    expect((await app.inject({ method: "GET", url: "/readyz" })).json()).toEqual({ ready: true, service: "ratelimit-allocator", checks: {} });
    expect((await app.inject({ method: "GET", url: "/metrics" })).body).toMatch(
      /meridian_http_requests_total\{route="\/v1\/allocator\/capacity",method="POST",code="200",service="ratelimit-allocator"\} 1/,
    );
    await running.close();
    expect(() => parseAllocatorConfig("resources:\n  - id: a\n    capacity: 1\n    lease_ms: 100\n    refresh_ms: 100\n", "a.yaml")).toThrow(
      /a\.yaml: resources\.0: refresh_ms must be below lease_ms/,
    );
    expect(() => parseAllocatorConfig("resources:\n  - { id: a, capacity: 1 }\n  - { id: a, capacity: 2 }\n", "b.yaml")).toThrow(/resource "a" is defined more than once/);
  });

  it("forecasts each client's wants when a resource asks for it, and shows the prediction on the status page", async () => {
    const [res] = parseAllocatorConfig("resources:\n  - { id: api, capacity: 100, refresh_ms: 1000, lease_ms: 5000, forecast: { history: 8 } }\n");
    expect(res!.forecast).toEqual({ history: 8, seasonLength: 60 });
    const clock = new ManualClock(0);
    const running = await startService(
      allocatorService,
      { resources: [{ id: "api", capacity: 100, refresh_ms: 1000, lease_ms: 5000, forecast: { history: 8 } }], server: { port: 0 } },
      { clock, processMetrics: false },
    );
    for (const wants of [10, 20, 30]) {
      await running.app.inject({ method: "POST", url: "/v1/allocator/capacity", payload: { resource: "api", client: "eu", wants } });
      clock.advance(1000);
    }
    expect((await running.app.inject({ method: "GET", url: "/v1/allocator/resources/api" })).json().clients).toEqual([{ client: "eu", wants: 30, predicted: 40, has: 40, expiresAt: 7000 }]);
    await running.close();
    expect(() => parseAllocatorConfig("resources:\n  - { id: a, capacity: 1, forecast: { history: 2 } }\n", "c.yaml")).toThrow(/c\.yaml: resources\.0\.forecast\.history/);
  });

  it("drives regional limiters through NATS and keeps them within capacity plus the stated bound (real NATS)", async () => {
    const nc = await connect({ servers: "127.0.0.1:4222" });
    const subject = `meridian.test.ratelimit.sync.${process.pid}`;
    const [res] = parseAllocatorConfig(YAML);
    const sub = serveAllocator(nc, subject, new GlobalAllocator([res!]), systemClock);
    const regions = ["eu", "us"].map((client) => new LeaseSync((wants) => requestCapacity(nc, subject, "checkout", client, wants), systemClock, { resource: "checkout", client }));
    const start = Date.now();
    regions.forEach((r) => r.start());
    let admitted = 0;
    while (Date.now() - start < 1500) {
      for (const r of regions) for (let i = 0; i < 50; i++) if (r.tryAcquire(1)) admitted++;
      await new Promise((r) => setTimeout(r, 2));
    }
    const elapsed = Date.now() - start;
    regions.forEach((r) => r.stop());
    sub.unsubscribe();
    await nc.drain();
    expect(regions.every((r) => r.limiter.current !== null)).toBe(true);
    expect(admitted).toBeGreaterThan(0);
    expect(admitted).toBeLessThanOrEqual((200 * elapsed) / 1000 + globalOverageBound({ capacity: 200, refreshMs: 100, regions: 2, safeCapacity: 0, expiredMs: 0, expiredRegions: 0 }));
  });
});
