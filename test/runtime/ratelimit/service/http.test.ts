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
