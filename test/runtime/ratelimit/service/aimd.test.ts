// AIMD throttling wired from config into `meridian ratelimit serve`: the service admits at most the AIMD
// limit per second (sheddable requests beyond it are OVER_LIMIT before any counter is charged), outcomes
// reported by a trusted caller (never an anonymous one) cut the limit on latency, errors or backpressure,
// healthy busy intervals raise it again, critical requests and unlisted domains are never throttled,
// and the limit and throttling show on /metrics.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { localOperatorAuth, startService, type LocalOperatorAuth, type RunningService } from "../../../../runtime/kit/index.js";
import { ratelimitService } from "../../../../runtime/ratelimit/service/service.js";
import { rlsClient, d } from "../rls-client.js";

const clock = new ManualClock(Date.parse("2026-12-02T12:00:00Z"));
let ops: LocalOperatorAuth;
let svc: RunningService;
let dir: string;

/** The service with its AIMD throttle; a test that drives the throttle its own way starts its own (any order). */
const start = () =>
  startService(
    ratelimitService,
    {
      rules: dir,
      watch: false,
      grpc: { host: "127.0.0.1", port: 0 },
      aimd: {
        initial: 8,
        min: 2,
        max: 12,
        increase: 2,
        decrease: 0.5,
        intervalMs: 1000,
        latencyTargetMs: 200,
        percentile: 0.9,
        errorRateThreshold: 0.1,
        utilisation: 0.75,
        domains: ["api"],
        critical: { key: "priority", value: "critical" },
      },
      server: { port: 0, auth: ops.auth },
    },
    { clock, processMetrics: false },
  );

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "mrl-aimd-"));
  writeFileSync(join(dir, "api.yaml"), "domain: api\ndescriptors:\n  - key: api_key\n    rate_limit: { unit: second, requests_per_unit: 1000 }\n");
  writeFileSync(join(dir, "batch.yaml"), "domain: batch\ndescriptors:\n  - key: job\n    rate_limit: { unit: second, requests_per_unit: 1000 }\n");
  ops = await localOperatorAuth(clock);
  svc = await start();
});
afterAll(() => svc?.close());

const decide = async (domain: string, entries: { key: string; value: string }[]) => {
  const res = await fetch(`${svc.url}/v1/ratelimit`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ domain, descriptors: [{ entries }] }) });
  return (await res.json()) as { overall_code: string; statuses: { code: string; limit_remaining?: number }[] };
};
const user = [{ key: "api_key", value: "k1" }];
/** How many of `n` requests at this instant are admitted. */
const burst = async (n: number, domain = "api", entries = user) => {
  let ok = 0;
  for (let i = 0; i < n; i++) if ((await decide(domain, entries)).overall_code === "OK") ok++;
  return ok;
};
const report = async (body: unknown, headers: Record<string, string>, url = svc.url) =>
  fetch(`${url}/v1/ratelimit/outcomes`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
const metric = async (name: string) => {
  const text = await (await fetch(`${svc.url}/metrics`)).text();
  const m = new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
};

describe("AIMD throttling in the rate limit service", () => {
  it("admits the AIMD limit per second, cuts it on reported congestion and raises it when healthy", async () => {
    const op = { authorization: `Bearer ${await ops.token()}` };
    // Start: 8 per second; the 9th request this second is throttled before the descriptor limit (1000/s).
    expect(await burst(10)).toBe(8);
    const throttled = await decide("api", user);
    expect(throttled).toMatchObject({ overall_code: "OVER_LIMIT", statuses: [{ code: "OVER_LIMIT" }] });
    // Critical requests and other domains are not throttled; the descriptor counter shows the throttled
    // requests charged nothing (8 admitted + this one).
    const critical = await decide("api", [...user, { key: "priority", value: "critical" }]);
    expect(critical.overall_code).toBe("OK");
    expect(await burst(20, "batch", [{ key: "job", value: "j" }])).toBe(20);
    expect(await metric("ratelimit_aimd_limit")).toBe(8);
    expect(await metric("ratelimit_aimd_throttled")).toBe(3);

    // Anonymous outcome reports are refused: nobody can throttle the service from outside.
    expect((await report({ good: 0, bad: 100 }, {})).status).toBe(401);

    // Slow responses (p90 500 ms against a 200 ms target): the interval closes with a cut to 4.
    expect((await report({ good: 20, bad: 0, latenciesMs: Array.from({ length: 20 }, () => 500) }, op)).status).toBe(200);
    clock.advance(1000);
    expect(await burst(6)).toBe(4);
    expect(await metric("ratelimit_aimd_limit")).toBe(4);
    expect(await metric("ratelimit_aimd_decreases")).toBe(1);

    // Errors above 10%: cut to 2 (the minimum holds).
    await report({ good: 5, bad: 5 }, op);
    clock.advance(1000);
    expect(await burst(4)).toBe(2);
    await report({ good: 0, bad: 0, backpressure: true }, op);
    clock.advance(1000);
    expect(await burst(4)).toBe(2);
    expect(await metric("ratelimit_aimd_decreases")).toBe(3);

    // Healthy and busy (fast responses, admissions at the limit — the last burst used all 2): +2 per
    // interval, up to the max.
    const healthy = { good: 10, bad: 0, latenciesMs: Array.from({ length: 10 }, () => 20) };
    const limits: number[] = [];
    for (let i = 0; i < 6; i++) {
      await report(healthy, op);
      clock.advance(1000);
      limits.push(((await (await report({ good: 0, bad: 0 }, op)).json()) as { aimdLimit: number }).aimdLimit);
      await burst(limits.at(-1)!);
    }
    expect(limits).toEqual([4, 6, 8, 10, 12, 12]);
    clock.advance(1000);
    expect(await burst(14)).toBe(12);
  });

  it("refuses a config whose range is inverted, naming the field", async () => {
    await expect(
      startService(
        ratelimitService,
        { rules: "/nonexistent", aimd: { initial: 50, min: 1, max: 10, increase: 1, decrease: 0.5, latencyTargetMs: 100 }, server: { port: 0 } },
        { clock, processMetrics: false },
      ),
    ).rejects.toThrow(/initial/);
  });

  it("throttles RLS over gRPC the same way", async () => {
    const own = await start();
    try {
      clock.advance(5000);
      const limit = ((await (await report({ good: 0, bad: 0 }, { authorization: `Bearer ${await ops.token()}` }, own.url)).json()) as { aimdLimit: number }).aimdLimit;
      const c = rlsClient(own.endpoints.grpc!.replace(/^grpc:\/\//, ""));
      const codes: string[] = [];
      for (let i = 0; i < limit + 2; i++) codes.push((await c.call({ domain: "api", descriptors: [d([["api_key", "k2"]])] })).overall_code);
      c.close();
      expect(codes.filter((x) => x === "OK")).toHaveLength(limit);
      expect(codes.at(-1)).toBe("OVER_LIMIT");
    } finally {
      await own.close();
    }
  });
});
