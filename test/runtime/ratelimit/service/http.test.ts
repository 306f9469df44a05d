import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { buildHttp } from "../../../../runtime/ratelimit/service/http.js";
import { RateLimitService } from "../../../../runtime/ratelimit/service/rls.js";
import { startServer } from "../../../../runtime/ratelimit/service/server.js";
import { MemoryStore } from "../../../../runtime/ratelimit/store/memory.js";
import { CONFIG_YAML, domains } from "./fixtures.js";

const clock = new ManualClock(1_700_000_000_000);
const app = buildHttp(new RateLimitService(domains(), new MemoryStore(), clock));
const post = (body: unknown) => app.inject({ method: "POST", url: "/v1/ratelimit", payload: body as object });
const user = (u: string) => ({
  entries: [
    { key: "tenant", value: "t1" },
    { key: "user", value: u },
  ],
});

describe("rate limit HTTP API", () => {
  it("answers with IETF RateLimit-Policy and RateLimit fields named by config, then 429 with Retry-After", async () => {
    const ok = await post({ domain: "edge", descriptors: [user("api-key-123")] });
    expect(ok.statusCode).toBe(200);
    // Policies are the rule's name, else its config path: never the request's values (api-key-123, t1).
    expect(ok.headers["ratelimit-policy"]).toBe('"per-user";q=3;w=60, "edge.tenant";q=4;w=60');
    expect(ok.headers["ratelimit"]).toBe('"per-user";r=2;t=60, "edge.tenant";r=3;t=40');
    expect(JSON.stringify(ok.headers)).not.toMatch(/api-key-123|t1/);
    expect(ok.json()).toMatchObject({ overall_code: "OK", statuses: [{ code: "OK", limit_remaining: 2, current_limit: { name: "per-user", requests_per_unit: 3, unit: "minute" } }] });
    await post({ domain: "edge", descriptors: [user("api-key-123")], hits_addend: 2 });
    clock.advance(15_000);
    const over = await post({ domain: "edge", descriptors: [user("api-key-123")] });
    expect(over.statusCode).toBe(429);
    // The sliding log frees its oldest entry 60 s after it was taken: 45 s from now.
    expect(over.headers["retry-after"]).toBe("45");
    expect(over.json().overall_code).toBe("OVER_LIMIT");
  });

  it("rejects malformed bodies with {error, detail} naming the field", async () => {
    const r = await post({ domain: "edge", descriptors: [{ entries: [{ key: "tenant" }] }] });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ error: "invalid body", detail: expect.stringMatching(/descriptors\.0\.entries\.0\.value/) });
    const bad = await post({ domain: "edge", descriptors: [], extra: 1 });
    expect(bad.json().detail).toMatch(/descriptors: Too small/);
    expect(bad.json().detail).toMatch(/Unrecognized key: "extra"/);
    const json = await app.inject({ method: "POST", url: "/v1/ratelimit", headers: { "content-type": "application/json" }, payload: "{" });
    expect(json.statusCode).toBe(400);
    expect((await app.inject({ method: "GET", url: "/v1/ratelimit/domains" })).json()).toEqual({ domains: ["edge"] });
  });
});

describe("rate limit service wiring (on the service kit)", () => {
  it("refuses to start while Redis is unreachable under the default failure policy, naming the store", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "mrl-")), "edge.yaml");
    writeFileSync(file, CONFIG_YAML);
    await expect(startServer({ configPath: file, redisUrl: "redis://127.0.0.1:1/2", port: 0, grpcPort: 0 })).rejects.toThrow(/store redis \(redis:\/\/127\.0\.0\.1:1\/2\) unreachable/);
  });

  it("serves from the local fallback while Redis is down (local policy), with /metrics, /readyz, and reloads keeping a good config", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "mrl-")), "edge.yaml");
    writeFileSync(file, CONFIG_YAML);
    const s = await startServer({ configPath: file, redisUrl: "redis://127.0.0.1:1/2", failureMode: "local", instances: 2, port: 0, grpcPort: 0, watch: false });
    try {
      const base = `http://127.0.0.1:${s.httpPort}`;
      const r = await fetch(`${base}/v1/ratelimit`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ domain: "edge", descriptors: [{ entries: [{ key: "remote_address", value: "9.9.9.9" }] }] }),
      });
      expect(r.status).toBe(200);
      const status = (await (await fetch(`${base}/v1/ratelimit/status`)).json()) as Record<string, unknown>;
      expect(status).toMatchObject({ store: "redis", degraded: true, mode: "local", decisionsWithoutStore: 1, admittedWithoutStore: 1, overageBoundPerPeriod: 0 });
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/ratelimit_store_degraded\{service="ratelimit"\} 1/);
      writeFileSync(file, "domain: other\n");
      expect([...s.reload().domains.keys()]).toEqual(["other"]);
      writeFileSync(file, "domain: [");
      expect(() => s.reload()).toThrow(/edge\.yaml/);
      expect(s.service.domainNames).toEqual(["other"]);
      expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/ratelimit_service_config_load\{result="error",service="ratelimit"\} 1/);
    } finally {
      await s.close();
    }
  });
});
