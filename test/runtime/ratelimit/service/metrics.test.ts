// Per-rule counters: hits added between reads reach Prometheus exactly once, whatever the number of
// reads, and series beyond maxSeries count under key="_overflow" (per domain).
import { describe, expect, it } from "vitest";
import { RateLimitMetrics } from "../../../../runtime/ratelimit/service/metrics.js";

describe("rate limit metrics", () => {
  it("counts every hit once across reads and caps the series", async () => {
    const m = new RateLimitMetrics(undefined, 2);
    m.add("edge", "a", "total_hits", 3);
    m.add("edge", "a", "over_limit", 1);
    m.add("edge", "b", "total_hits", 1);
    expect(await m.value("total_hits", "edge", "a")).toBe(3);
    expect(await m.value("total_hits", "edge", "a")).toBe(3);
    m.add("edge", "a", "total_hits", 2);
    m.add("edge", "c", "total_hits", 5); // a third series: over the cap
    m.add("edge", "d", "total_hits", 1);
    expect(await m.value("total_hits", "edge", "a")).toBe(5);
    expect(await m.value("over_limit", "edge", "a")).toBe(1);
    expect(await m.value("total_hits", "edge", "b")).toBe(1);
    expect(await m.value("total_hits", "edge", "c")).toBe(0);
    expect(await m.value("total_hits", "edge", "_overflow")).toBe(6);
    const text = await m.registry.metrics();
    expect(text).toContain('ratelimit_service_rate_limit_total_hits{domain="edge",key="a"} 5');
    expect(text).toContain('ratelimit_service_rate_limit_total_hits{domain="edge",key="_overflow"} 6');
    // Read through the registry and then value(): still once.
    expect(await m.value("total_hits", "edge", "a")).toBe(5);
  });
});
