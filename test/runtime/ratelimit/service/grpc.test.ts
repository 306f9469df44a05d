import * as grpc from "@grpc/grpc-js";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { startGrpc } from "../../../../runtime/ratelimit/service/grpc.js";
import { RateLimitService } from "../../../../runtime/ratelimit/service/rls.js";
import { fromStruct } from "../../../../runtime/ratelimit/service/struct.js";
import { MemoryStore } from "../../../../runtime/ratelimit/store/memory.js";
import type { RateLimitStore } from "../../../../runtime/ratelimit/store/port.js";
import { RedisStore } from "../../../../runtime/ratelimit/store/redis.js";
import { ResilientStore } from "../../../../runtime/ratelimit/store/resilient.js";
import { d, rlsClient } from "../rls-client.js";
import { compiled, domains } from "./fixtures.js";

const EXTRA = `
domain: quota
descriptors:
  - key: service
    value: service_1
    quota_mode: true
    rate_limit: { unit: minute, requests_per_unit: 1 }
    metadata: { service_with_quota: { name: service_1 } }
  - key: service
    value: service_2
    quota_mode: true
    rate_limit: { unit: minute, requests_per_unit: 2 }
    metadata: { service_with_quota: { name: service_2 } }
  - key: weekly
    rate_limit: { unit: week, requests_per_unit: 2 }
`;

for (const kind of ["memory", "redis"] as const) {
  describe(`Envoy RLS v3 over gRPC (${kind} store)`, () => {
    const clock = new ManualClock(1_700_000_000_000 + (kind === "redis" ? process.pid * 1_000_000 : 0));
    const prefix = `mrl:test:grpc:${process.pid}:`;
    let store: RateLimitStore;
    let server: grpc.Server;
    let rls: ReturnType<typeof rlsClient>;

    beforeAll(async () => {
      store = kind === "memory" ? new MemoryStore() : new RedisStore({ url: "redis://127.0.0.1:6379/2", prefix, time: "caller" });
      const all = new Map([...domains(), ...compiled(EXTRA, "quota.yaml")]);
      const g = await startGrpc(new RateLimitService(all, store, clock, { responseDynamicMetadata: true }), 0, "127.0.0.1");
      server = g.server;
      rls = rlsClient(`127.0.0.1:${g.port}`);
    });
    afterAll(async () => {
      rls.close();
      server.forceShutdown();
      if (store instanceof RedisStore) {
        const r = store.client as Redis;
        const keys = await r.keys(`${prefix}*`);
        if (keys.length) await r.del(...keys);
      }
      await store.close();
    });

    it("answers OK then OVER_LIMIT with per-descriptor statuses and RateLimit headers", async () => {
      const req = { domain: "edge", descriptors: [d([["remote_address", "10.0.0.1"]])] };
      const first = await rls.call(req);
      expect(first.overall_code).toBe("OK");
      expect(first.statuses[0]).toMatchObject({ code: "OK", current_limit: { requests_per_unit: 2, unit: "SECOND" }, limit_remaining: 1 });
      expect(first.statuses[0]!.duration_until_reset).toEqual({ seconds: 1, nanos: 0 });
      await rls.call(req);
      const third = await rls.call(req);
      expect(third.overall_code).toBe("OVER_LIMIT");
      expect(third.statuses[0]).toMatchObject({ code: "OVER_LIMIT", limit_remaining: 0 });
      expect(third.response_headers_to_add.map(({ key, value }) => ({ key, value }))).toEqual([
        { key: "ratelimit-policy", value: '"edge.remote_address";q=2;w=1' },
        { key: "ratelimit", value: '"edge.remote_address";r=0;t=1' },
        { key: "retry-after", value: "1" },
      ]);
      clock.advance(1000);
      expect((await rls.call(req)).overall_code).toBe("OK");
    });

    it("counts each descriptor on its own counter whatever else the request carries", async () => {
      const ip = d([["remote_address", "10.0.0.2"]]);
      const user = d([
        ["tenant", "acme"],
        ["user", "alice"],
      ]);
      // [ip], [ip, user], [user, ip] all charge the same counter for the IP (2/s).
      expect((await rls.call({ domain: "edge", descriptors: [ip] })).overall_code).toBe("OK");
      expect((await rls.call({ domain: "edge", descriptors: [ip, user] })).overall_code).toBe("OK");
      const r = await rls.call({ domain: "edge", descriptors: [user, ip] });
      expect(r.overall_code).toBe("OVER_LIMIT");
      expect(r.statuses.map((s) => s.code)).toEqual(["OK", "OVER_LIMIT"]);
      // envoyproxy/ratelimit charges passing descriptors of a rejected request (independent policy).
      expect(r.statuses[0]).toMatchObject({ current_limit: { name: "per-user", requests_per_unit: 3, unit: "MINUTE" }, limit_remaining: 1 });
    });

    it("takes per-descriptor hits_addend (0 peeks) over the request's", async () => {
      const ip = (h?: number) => d([["remote_address", "10.0.0.3"]], h === undefined ? {} : { hits_addend: h });
      expect((await rls.call({ domain: "edge", descriptors: [ip(0)], hits_addend: 5 })).statuses[0]).toMatchObject({ code: "OK", limit_remaining: 2 });
      expect((await rls.call({ domain: "edge", descriptors: [ip(2)], hits_addend: 1 })).statuses[0]).toMatchObject({ code: "OK", limit_remaining: 0 });
      expect((await rls.call({ domain: "edge", descriptors: [ip()], hits_addend: 1 })).statuses[0]!.code).toBe("OVER_LIMIT");
    });

    it("applies an override to a descriptor no rule matches, and never in shadow mode", async () => {
      const over = d([["nothing", "configured"]], { limit: { requests_per_unit: 1, unit: "HOUR" } });
      const a = await rls.call({ domain: "edge", descriptors: [over] });
      expect(a.statuses[0]).toMatchObject({ code: "OK", current_limit: { requests_per_unit: 1, unit: "HOUR" }, limit_remaining: 0 });
      expect((await rls.call({ domain: "edge", descriptors: [over] })).overall_code).toBe("OVER_LIMIT");
      // An unknown domain has no config at all: envoyproxy/ratelimit answers OK with no limit.
      expect((await rls.call({ domain: "nope", descriptors: [over] })).statuses[0]).toMatchObject({ code: "OK", current_limit: null });
    });

    it("rejects only when every quota_mode descriptor is over, and returns the passing rules' metadata", async () => {
      const both = { domain: "quota", descriptors: [d([["service", "service_1"]]), d([["service", "service_2"]])] };
      const first = await rls.call(both);
      expect(first.overall_code).toBe("OK");
      expect(fromStruct(first.dynamic_metadata)).toMatchObject({ domain: "quota", metadata: { service_with_quota: { name: "service_1" } } });
      const second = await rls.call(both);
      expect(second.overall_code).toBe("OK");
      expect(second.statuses.map((s) => s.code)).toEqual(["OVER_LIMIT", "OK"]);
      expect(fromStruct(second.dynamic_metadata).metadata).toEqual({ service_with_quota: { name: "service_2" } });
      expect((await rls.call(both)).overall_code).toBe("OVER_LIMIT");
    });

    it("treats unlimited, shadow-mode and unmatched descriptors as OK; week units report WEEK", async () => {
      const shadow = d([["path", "/shadow"]]);
      for (let i = 0; i < 3; i++) expect((await rls.call({ domain: "edge", descriptors: [shadow] })).overall_code).toBe("OK");
      expect((await rls.call({ domain: "edge", descriptors: [d([["vip", "x"]])] })).statuses[0]).toEqual({
        code: "OK",
        current_limit: null,
        limit_remaining: 4294967295,
        duration_until_reset: null,
        quota: null,
      });
      expect((await rls.call({ domain: "edge", descriptors: [d([["unknown", "x"]])] })).statuses[0]).toMatchObject({ code: "OK", current_limit: null, limit_remaining: 0 });
      expect((await rls.call({ domain: "quota", descriptors: [d([["weekly", "x"]])] })).statuses[0]).toMatchObject({ current_limit: { unit: "WEEK", requests_per_unit: 2 } });
    });

    it("rejects bad requests with INVALID_ARGUMENT naming the field", async () => {
      await expect(rls.call({ domain: "", descriptors: [d([["a", "b"]])] })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: "rate limit domain must not be empty" });
      await expect(rls.call({ domain: "edge", descriptors: [] })).rejects.toMatchObject({ details: "rate limit descriptor list must not be empty" });
      await expect(rls.call({ domain: "edge", descriptors: [d([["", "b"]])] })).rejects.toMatchObject({ details: "descriptors[0].entries[0].key must not be empty" });
      const many = Array.from({ length: 16_000 }, (_, i) => d([["remote_address", String(i)]]));
      await expect(rls.call({ domain: "edge", descriptors: many })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/16000 entries; at most 256/) });
    });
  });
}

describe("gRPC when the store fails", () => {
  it("answers UNAVAILABLE so Envoy applies its failure_mode_deny", async () => {
    const dead = new RedisStore({ url: "redis://127.0.0.1:1/2", commandTimeoutMs: 200, redisOptions: { maxRetriesPerRequest: 0, retryStrategy: () => null } });
    const store = new ResilientStore(dead, { mode: "unavailable", clock: new ManualClock() });
    const g = await startGrpc(new RateLimitService(domains(), store, new ManualClock()), 0, "127.0.0.1");
    const rls = rlsClient(`127.0.0.1:${g.port}`);
    await expect(rls.call({ domain: "edge", descriptors: [d([["remote_address", "1"]])] })).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    rls.close();
    g.server.forceShutdown();
    await store.close();
  });
});
