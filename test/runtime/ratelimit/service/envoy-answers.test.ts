/**
 * envoyproxy/ratelimit's documented answers, replayed over gRPC with a client built from Envoy's proto
 * against its own configs (vendored under test/testdata/envoy-ratelimit), on the memory store and on
 * Redis: the integration scripts (integration-test/scripts/*.sh — the descriptors are those Envoy's
 * route config in examples/envoy/proxy.yaml generates from each request's headers) and the Go
 * integration test's basic cases (test/integration/integration_test.go).
 */
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { loadConfig } from "../../../../runtime/ratelimit/config/load.js";
import { startGrpc } from "../../../../runtime/ratelimit/service/grpc.js";
import { RateLimitMetrics } from "../../../../runtime/ratelimit/service/metrics.js";
import { RateLimitService } from "../../../../runtime/ratelimit/service/rls.js";
import { MemoryStore } from "../../../../runtime/ratelimit/store/memory.js";
import type { RateLimitStore } from "../../../../runtime/ratelimit/store/port.js";
import { RedisStore } from "../../../../runtime/ratelimit/store/redis.js";
import { d, rlsClient, type Kv } from "../rls-client.js";

const DATA = fileURLToPath(new URL("../../../testdata/envoy-ratelimit/", import.meta.url));

for (const kind of ["memory", "redis"] as const) {
  describe(`envoyproxy/ratelimit's documented answers (${kind} store)`, () => {
    const prefix = `mrl:test:envoy:${process.pid}:`;
    // Minute windows: keep every scenario inside one window by starting at a minute boundary.
    const clock = new ManualClock(Math.ceil(Date.now() / 3_600_000) * 3_600_000 + (kind === "redis" ? 7_200_000 : 0));
    let store: RateLimitStore;
    let rls: ReturnType<typeof rlsClient>;
    let close: () => void;
    const metrics = new RateLimitMetrics();

    beforeAll(async () => {
      store = kind === "memory" ? new MemoryStore() : new RedisStore({ url: "redis://127.0.0.1:6379/2", prefix, time: "caller" });
      const domains = new Map([...loadConfig(`${DATA}examples`).domains, ...loadConfig(`${DATA}integration`).domains]);
      const g = await startGrpc(new RateLimitService(domains, store, clock, { stats: metrics }), 0, "127.0.0.1");
      rls = rlsClient(`127.0.0.1:${g.port}`);
      close = () => g.server.forceShutdown();
    });
    // Each script on fresh windows (a day on, the longest unit in these configs), as on a fresh server: none
    // sees the counters another left, whatever the order (tests shuffled).
    beforeEach(() => clock.advance(86_400_000));
    afterAll(async () => {
      rls.close();
      close();
      if (store instanceof RedisStore) {
        const r = store.client as Redis;
        const keys = await r.keys(`${prefix}*`);
        if (keys.length) await r.del(...keys);
      }
      await store.close();
    });

    /** Envoy's HTTP filter: 429 when the overall code is OVER_LIMIT. */
    const ok = async (...descriptors: Kv[][]) => (await rls.call({ domain: "rl", descriptors: descriptors.map((e) => d(e)) })).overall_code === "OK";
    const twoheader = (h: Record<string, string>) =>
      [
        h.foo && h.bar
          ? [
              ["foo", h.foo],
              ["bar", h.bar],
            ]
          : null,
        h.foo && h.baz
          ? [
              ["foo", h.foo],
              ["baz", h.baz],
            ]
          : null,
      ].filter(Boolean) as Kv[][];
    const four = (h: Record<string, string>): Kv[][] => [
      [
        ["foo", h.foo!],
        ["bar", h.bar!],
      ],
      [
        ["source_cluster", h.sc!],
        ["destination_cluster", h.dc!],
      ],
    ];
    const five = (h: Record<string, string>): Kv[][] => [...four(h), [["category", h.category!]]];

    it("simple-get.sh, trigger-ratelimit.sh, trigger-shadow-mode-key.sh", async () => {
      expect(await ok(...twoheader({ foo: "test", baz: "shady" }))).toBe(true);
      const notShady = twoheader({ foo: "pelle", baz: "not-so-shady" });
      expect([await ok(...notShady), await ok(...notShady), await ok(...notShady), await ok(...notShady)]).toEqual([true, true, true, false]);
      const shady = twoheader({ foo: "pelle", baz: "shady" });
      for (let i = 0; i < 5; i++) expect(await ok(...shady)).toBe(true);
    });

    it("replaces.sh", async () => {
      expect(await ok(...twoheader({ foo: "bkthomps", bar: "banned" }))).toBe(false);
      expect(await ok(...four({ foo: "bkthomps", bar: "banned", sc: "proxy", dc: "mock" }))).toBe(false);
      const override = four({ foo: "bkthomps", bar: "banned", sc: "proxy", dc: "override" });
      expect([await ok(...override), await ok(...override), await ok(...override)]).toEqual([true, true, false]);
      const bk = four({ foo: "my_foo", bar: "bkthomps", sc: "proxy", dc: "bkthomps" });
      expect([await ok(...bk), await ok(...bk), await ok(...bk)]).toEqual([true, true, false]);
      const notBk = four({ foo: "my_foo", bar: "bkthomps", sc: "proxy", dc: "not_bkthomps" });
      expect([await ok(...notBk), await ok(...notBk)]).toEqual([true, false]);
      expect(await ok(...bk)).toBe(false);
      const account = five({ foo: "my_foo", bar: "bkthomps", sc: "proxy", dc: "fake", category: "account" });
      expect([await ok(...account), await ok(...account), await ok(...account), await ok(...account), await ok(...account)]).toEqual([true, true, true, true, false]);
      const foo2 = twoheader({ foo: "foo_2", bar: "bkthomps" });
      expect([await ok(...foo2), await ok(...foo2)]).toEqual([true, false]);
      const fake = four({ foo: "foo_3", bar: "bar_3", sc: "proxy", dc: "fake" });
      expect([await ok(...fake), await ok(...fake), await ok(...fake)]).toEqual([true, true, false]);
      expect(await ok(...account)).toBe(false);
    });

    it("quota.sh: OVER_LIMIT only once every quota_mode descriptor is over", async () => {
      const both: Kv[][] = [[["service", "service_1"]], [["service", "service_2"]]];
      expect([await ok(...both), await ok(...both), await ok(...both)]).toEqual([true, true, false]);
    });

    it("token-quota.sh: a hits_addend 0 probe on the request path, the hit debited on the response path", async () => {
      const probe = () => rls.call({ domain: "rl", descriptors: [d([["service", "service_2"]], { hits_addend: 0 })] }).then((r) => r.overall_code === "OK");
      const debit = () => rls.call({ domain: "rl", descriptors: [d([["service", "service_2"]], { hits_addend: 1 })] });
      clock.advance(60_000);
      const answers = [];
      for (let i = 0; i < 4; i++) {
        const admitted = await probe();
        answers.push(admitted);
        if (admitted) await debit();
      }
      // service_2 allows 2/min; the third request still passes its probe (the counter is at its limit,
      // not over it) and its debit takes the counter over — so only the fourth is rejected.
      expect(answers).toEqual([true, true, true, false]);
    });

    it("value-included-in-stats-key-when-unspecified.sh: detailed_metric counts under the request's value", async () => {
      const unspec: Kv[] = [["unspec", "unspecified_value"]];
      expect([await ok(unspec), await ok(unspec), await ok(unspec)]).toEqual([true, true, false]);
      expect(await metrics.value("over_limit", "rl", "rl.unspec_unspecified_value")).toBe(1);
      expect(await metrics.value("total_hits", "rl", "rl.unspec_unspecified_value")).toBe(3);
    });

    it("integration_test.go testBasicBaseConfig: statuses, remaining, and two keys in one request", async () => {
      clock.advance(60_000 * 60);
      const call = (domain: string, ...ds: Kv[][]) => rls.call({ domain, descriptors: ds.map((e) => d(e)) });
      expect(await call("foo", [["hello", "world"]])).toMatchObject({ overall_code: "OK", statuses: [{ code: "OK", current_limit: null, limit_remaining: 0 }] });
      expect((await call("basic", [["key1", "foo"]])).statuses[0]).toMatchObject({ code: "OK", current_limit: { requests_per_unit: 50, unit: "SECOND" }, limit_remaining: 49 });
      expect(await metrics.value("total_hits", "basic", "basic.key1")).toBe(1);
      const key2: Kv = ["key2", String(Math.random())];
      for (let i = 0; i < 25; i++) {
        const r = await call("another", [key2]);
        const over = i >= 20;
        expect(r.overall_code).toBe(over ? "OVER_LIMIT" : "OK");
        expect(r.statuses[0]).toMatchObject({ code: over ? "OVER_LIMIT" : "OK", current_limit: { requests_per_unit: 20, unit: "MINUTE" }, limit_remaining: over ? 0 : 20 - (i + 1) });
        expect(await metrics.value("over_limit", "another", "another.key2")).toBe(over ? i - 19 : 0);
      }
      const v = String(Math.random());
      for (let i = 0; i < 15; i++) {
        const r = await call("another", [["key2", v]], [["key3", v]]);
        const over = i >= 10;
        expect(r.overall_code).toBe(over ? "OVER_LIMIT" : "OK");
        // key2 keeps being charged while key3 (10/hour) rejects: envoyproxy/ratelimit's default.
        expect(r.statuses[0]).toMatchObject({ code: "OK", current_limit: { requests_per_unit: 20, unit: "MINUTE" }, limit_remaining: 20 - (i + 1) });
        expect(r.statuses[1]).toMatchObject({ code: over ? "OVER_LIMIT" : "OK", current_limit: { requests_per_unit: 10, unit: "HOUR" }, limit_remaining: over ? 0 : 10 - (i + 1) });
      }
    });

    it("integration_test.go reload.yaml: requests_per_unit 0 blocks every request", async () => {
      const r = await rls.call({ domain: "reload", descriptors: [d([["block", "foo"]])] });
      expect(r.overall_code).toBe("OVER_LIMIT");
      expect(r.statuses[0]).toMatchObject({ code: "OVER_LIMIT", current_limit: { requests_per_unit: 0, unit: "SECOND" }, limit_remaining: 0 });
    });
  });
}
