// The hostile-input suite against `meridian ratelimit allocator` on the service kit: open to anyone (as the
// allocator runs by default, so every probe reaches its parsers) and with `callers` behind an Istio sidecar
// (forged identity headers and an unsigned JWT must not open GetCapacity). No lease is granted by any probe.
import { afterAll, beforeAll } from "vitest";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { startService } from "../../../../runtime/kit/index.js";
import { allocatorService } from "../../../../runtime/ratelimit/global/server.js";
import { hostileHttpSuite, type HostileRoute } from "../../../hostile.js";

const clock = new ManualClock(1_700_000_000_000);
const resources = [{ id: "checkout", capacity: 200, lease_ms: 60_000, refresh_ms: 1000 }];
const fast = { headersMs: 500, requestMs: 1000 };
const start = (extra: Record<string, unknown>, server: Record<string, unknown> = {}) =>
  startService(allocatorService, { resources, ...extra, server: { port: 0, timeouts: fast, ...server } }, { clock, processMetrics: false });
let open: Awaited<ReturnType<typeof start>>;
let guarded: Awaited<ReturnType<typeof start>>;
// Leases in Redis: the probes must not reach the Lua script with anything it would record.
let shared: Awaited<ReturnType<typeof start>>;
const PREFIX = `mrl:test:allochostile:${process.pid}:`;

beforeAll(async () => {
  open = await start({});
  guarded = await start(
    { callers: ["spiffe://meridian.internal/ns/meridian/sa/ratelimit"] },
    { identity: { xfcc: "istio-sidecar", spiffeId: "spiffe://meridian.internal/ns/meridian/sa/ratelimit-allocator" } },
  );
  shared = await start({ redis: "redis://127.0.0.1:6379/11", redisPrefix: PREFIX });
  // One live lease on each, so the state the probes must not change is not empty.
  for (const s of [open, guarded, shared]) await s.parts.store.getCapacity("checkout", "eu", 50, clock.now());
});
afterAll(async () => {
  await open?.close();
  await guarded?.close();
  if (shared) {
    const { Redis } = await import("ioredis");
    const admin = new Redis("redis://127.0.0.1:6379/11");
    const keys = await admin.keys(`${PREFIX}*`);
    if (keys.length) await admin.del(...keys);
    admin.disconnect();
    await shared.close();
  }
});

const routes: HostileRoute[] = [
  { method: "POST", path: "/v1/allocator/capacity", json: true },
  { method: "GET", path: "/v1/allocator/resources/checkout" },
];
const state = (s: typeof open) => async () => s.parts.store.snapshot("checkout", clock.now());

hostileHttpSuite("meridian ratelimit allocator", () => ({ url: open.url, routes, state: state(open), slowlorisWaitMs: 4000 }));
hostileHttpSuite("meridian ratelimit allocator (callers behind the sidecar)", () => ({ url: guarded.url, routes, protectedRoutes: routes, state: state(guarded), slowlorisWaitMs: 4000 }));
hostileHttpSuite("meridian ratelimit allocator (leases in Redis)", () => ({ url: shared.url, routes, state: state(shared), slowlorisWaitMs: 4000 }));
