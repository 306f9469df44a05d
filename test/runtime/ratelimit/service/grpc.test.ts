import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { startGrpc } from "../../../../runtime/ratelimit/service/grpc.js";
import { PROTO_DIR } from "../../../../runtime/ratelimit/service/proto.js";
import { RateLimitService } from "../../../../runtime/ratelimit/service/rls.js";
import { MemoryStore } from "../../../../runtime/ratelimit/store/memory.js";
import { RedisStore } from "../../../../runtime/ratelimit/store/redis.js";
import type { RateLimitStore } from "../../../../runtime/ratelimit/store/store.js";
import { domains } from "./fixtures.js";

// The client is built straight from Envoy's published RLS proto (vendored, annotations trimmed), the
// way Envoy's own gRPC client sees the service — not from any Meridian type.
function rlsClient(port: number) {
  const def = protoLoader.loadSync("envoy/service/ratelimit/v3/rls.proto", { includeDirs: [PROTO_DIR], keepCase: true, enums: String, longs: Number, defaults: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { envoy: { service: { ratelimit: { v3: { RateLimitService: grpc.ServiceClientConstructor } } } } };
  const client = new pkg.envoy.service.ratelimit.v3.RateLimitService(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const call = (req: unknown) =>
    new Promise<Record<string, unknown> & { overall_code: string; statuses: Record<string, unknown>[] }>((resolve, reject) =>
      (client as unknown as { ShouldRateLimit: (r: unknown, cb: (e: Error | null, v: never) => void) => void }).ShouldRateLimit(req, (e, v) => (e ? reject(e) : resolve(v))),
    );
  return { client, call };
}

const d = (...kv: [string, string][]) => ({ entries: kv.map(([key, value]) => ({ key, value })) });

for (const kind of ["memory", "redis"] as const) {
  describe(`Envoy RLS v3 over gRPC (${kind} store)`, () => {
    const clock = new ManualClock(1_700_000_000_000 + (kind === "redis" ? process.pid * 1_000_000 : 0));
    let store: RateLimitStore;
    let server: grpc.Server;
    let rls: ReturnType<typeof rlsClient>;
    const prefix = `mrl:test:grpc:${process.pid}:`;

    beforeAll(async () => {
      store = kind === "memory" ? new MemoryStore() : new RedisStore({ url: "redis://127.0.0.1:6379/2", prefix });
      const g = await startGrpc(new RateLimitService(domains(), store, clock), 0, "127.0.0.1");
      server = g.server;
      rls = rlsClient(g.port);
    });
    afterAll(async () => {
      rls.client.close();
      server.forceShutdown();
      if (store instanceof RedisStore) {
        const keys = await store.redis.keys(`${prefix}*`);
        if (keys.length) await store.redis.del(...keys);
      }
      await store.close();
    });

    it("answers OK then OVER_LIMIT with per-descriptor statuses", async () => {
      const req = { domain: "edge", descriptors: [d(["remote_address", "10.0.0.1"])] };
      const first = await rls.call(req);
      expect(first.overall_code).toBe("OK");
      expect(first.statuses[0]).toMatchObject({ code: "OK", current_limit: { requests_per_unit: 2, unit: "SECOND" }, limit_remaining: 1 });
      expect(first.statuses[0]!.duration_until_reset).toEqual({ seconds: 1, nanos: 0 });
      await rls.call(req);
      const third = await rls.call(req);
      expect(third.overall_code).toBe("OVER_LIMIT");
      expect(third.statuses[0]).toMatchObject({ code: "OVER_LIMIT", limit_remaining: 0 });
      expect(third.response_headers_to_add).toEqual([
        { key: "ratelimit-policy", value: '"edge|remote_address=10.0.0.1";q=2;w=1', raw_value: Buffer.alloc(0) },
        { key: "ratelimit", value: '"edge|remote_address=10.0.0.1";r=0;t=1', raw_value: Buffer.alloc(0) },
        { key: "retry-after", value: "1", raw_value: Buffer.alloc(0) },
      ]);
      clock.advance(1000);
      expect((await rls.call(req)).overall_code).toBe("OK");
    });

    it("decides all descriptors atomically and honours hits_addend", async () => {
      const ip = d(["remote_address", "10.0.0.2"]);
      const user = d(["tenant", "acme"], ["user", "alice"]);
      // hits_addend 2 fits the IP (2/s) and the user (3/min).
      expect((await rls.call({ domain: "edge", descriptors: [ip, user], hits_addend: 2 })).overall_code).toBe("OK");
      // The IP is now full: the request is OVER_LIMIT and the user and tenant are not charged.
      const r = await rls.call({ domain: "edge", descriptors: [ip, user] });
      expect(r.overall_code).toBe("OVER_LIMIT");
      expect(r.statuses.map((s) => s.code)).toEqual(["OVER_LIMIT", "OK"]);
      expect(r.statuses[1]).toMatchObject({ current_limit: { name: "per-user", requests_per_unit: 3, unit: "MINUTE" }, limit_remaining: 1 });
      expect((await rls.call({ domain: "edge", descriptors: [user] })).overall_code).toBe("OK");
      // Tenant (4/min) has one left; alice is full now, so bob gets the tenant's last one.
      expect((await rls.call({ domain: "edge", descriptors: [user] })).overall_code).toBe("OVER_LIMIT");
      expect((await rls.call({ domain: "edge", descriptors: [d(["tenant", "acme"], ["user", "bob"])] })).overall_code).toBe("OK");
      expect((await rls.call({ domain: "edge", descriptors: [d(["tenant", "acme"], ["user", "carol"])] })).statuses[0]).toMatchObject({ code: "OVER_LIMIT" });
    });

    it("treats unlimited, shadow-mode, unmatched and unknown domains as OK", async () => {
      const shadow = d(["path", "/shadow"]);
      for (let i = 0; i < 3; i++) expect((await rls.call({ domain: "edge", descriptors: [shadow] })).overall_code).toBe("OK");
      expect((await rls.call({ domain: "edge", descriptors: [d(["vip", "x"])] })).statuses[0]).toMatchObject({ code: "OK", current_limit: null });
      expect((await rls.call({ domain: "nope", descriptors: [d(["a", "b"])] })).overall_code).toBe("OK");
    });

    it("rejects bad descriptors with INVALID_ARGUMENT naming the field", async () => {
      await expect(rls.call({ domain: "", descriptors: [d(["a", "b"])] })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: "domain must not be empty" });
      await expect(rls.call({ domain: "edge", descriptors: [] })).rejects.toMatchObject({ details: "descriptors must not be empty" });
      await expect(rls.call({ domain: "edge", descriptors: [d(["tenant", ""])] })).rejects.toMatchObject({ details: 'descriptors[0].entries[0].value must not be empty (key "tenant")' });
    });
  });
}

describe("gRPC when the store fails", () => {
  it("answers UNAVAILABLE so Envoy applies its failure mode", async () => {
    const broken: RateLimitStore = { decide: () => Promise.reject(new Error("connection refused")), close: () => Promise.resolve() };
    const g = await startGrpc(new RateLimitService(domains(), broken, new ManualClock()), 0, "127.0.0.1");
    const rls = rlsClient(g.port);
    await expect(rls.call({ domain: "edge", descriptors: [d(["remote_address", "1"])] })).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    rls.client.close();
    g.server.forceShutdown();
  });
});

