import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { buildHttp } from "../../../../runtime/ratelimit/service/http.js";
import { RateLimitService } from "../../../../runtime/ratelimit/service/rls.js";
import { MemoryStore } from "../../../../runtime/ratelimit/store/memory.js";
import { domains } from "./fixtures.js";

const clock = new ManualClock(1_700_000_000_000);
const app = buildHttp(new RateLimitService(domains(), new MemoryStore(), clock));
const post = (body: unknown) => app.inject({ method: "POST", url: "/v1/ratelimit", payload: body as object });
const user = (u: string) => ({ entries: [{ key: "tenant", value: "t1" }, { key: "user", value: u }] });

describe("rate limit HTTP API", () => {
  it("answers with IETF RateLimit-Policy and RateLimit fields, then 429 with Retry-After", async () => {
    const ok = await post({ domain: "edge", descriptors: [user("a")] });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers["ratelimit-policy"]).toBe('"per-user";q=3;w=60, "edge|tenant=t1";q=4;w=60');
    expect(ok.headers["ratelimit"]).toBe('"per-user";r=2;t=60, "edge|tenant=t1";r=3;t=40');
    expect(ok.json()).toMatchObject({ overall_code: "OK", statuses: [{ code: "OK", limit_remaining: 2, current_limit: { name: "per-user", requests_per_unit: 3, unit: "minute" } }] });
    await post({ domain: "edge", descriptors: [user("a")], hits_addend: 2 });
    clock.advance(15_000);
    const over = await post({ domain: "edge", descriptors: [user("a")] });
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

describe("rate limit service wiring", () => {
  it("serves a Redis-backed config and reports outages on /v1/ratelimit/status", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { startServer } = await import("../../../../runtime/ratelimit/service/server.js");
    const { CONFIG_YAML } = await import("./fixtures.js");
    const file = join(mkdtempSync(join(tmpdir(), "mrl-")), "edge.yaml");
    writeFileSync(file, CONFIG_YAML);
    // An unreachable Redis: the local fallback decides and the status says so.
    const s = await startServer({ configPath: file, redisUrl: "redis://127.0.0.1:1/2", instances: 2, port: 0, grpcPort: 0, host: "127.0.0.1" });
    try {
      const r = await fetch(`http://127.0.0.1:${s.httpPort}/v1/ratelimit`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ domain: "edge", descriptors: [{ entries: [{ key: "remote_address", value: "9.9.9.9" }] }] }) });
      expect(r.status).toBe(200);
      const status = (await (await fetch(`http://127.0.0.1:${s.httpPort}/v1/ratelimit/status`)).json()) as Record<string, unknown>;
      expect(status).toMatchObject({ store: "redis", degraded: true, mode: "local", decisionsWithoutStore: 1, admittedWithoutStore: 1, overageBoundPerPeriod: 0 });
      writeFileSync(file, "domain: other\n");
      expect(s.reload().map((d) => d.domain)).toEqual(["other"]);
      writeFileSync(file, "domain: [");
      expect(() => s.reload()).toThrow(/edge\.yaml/);
      expect(s.service.domainNames).toEqual(["other"]);
    } finally {
      await s.close();
    }
  });
});
