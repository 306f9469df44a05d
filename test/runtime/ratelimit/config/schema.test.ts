import { describe, expect, it } from "vitest";
import { matchDescriptor } from "../../../../runtime/ratelimit/config/match.js";
import { parseRateLimitConfig } from "../../../../runtime/ratelimit/config/schema.js";

// envoyproxy/ratelimit's README example, plus the Meridian extensions.
const yaml = `
domain: mongo_cps
descriptors:
  - key: database
    value: users
    rate_limit:
      unit: second
      requests_per_unit: 500
  - key: database
    value: default
    rate_limit:
      unit: second
      requests_per_unit: 500
---
domain: edge
hierarchical: true
descriptors:
  - key: tenant
    rate_limit: { unit: minute, requests_per_unit: 1000, algorithm: sliding-window }
    descriptors:
      - key: app
        rate_limit: { unit: minute, requests_per_unit: 100, algorithm: token-bucket, burst: 20, debt: 5 }
        descriptors:
          - key: user
            rate_limit: { unit: second, requests_per_unit: 5, algorithm: gcra, burst: 2 }
          - key: user
            value: root
            unlimited: true
  - key: path
    value: "/api/*"
    rate_limit: { unit: hour, requests_per_unit: 10, unit_multiplier: 2, name: api }
    shadow_mode: true
`;

describe("rate limit config", () => {
  const [mongo, edge] = parseRateLimitConfig(yaml, "rl.yaml");

  it("reads envoyproxy/ratelimit's YAML and the extensions", () => {
    expect(mongo!.domain).toBe("mongo_cps");
    const m = matchDescriptor(mongo!, [{ key: "database", value: "users" }]);
    expect(m.levels).toMatchObject([{ key: "mongo_cps|database=users", limit: { algorithm: "fixed-window", limit: 500, periodMs: 1000 } }]);
    expect(matchDescriptor(mongo!, [{ key: "database", value: "other" }]).none).toBe(true);
  });

  it("applies every matched ancestor under hierarchical, leaf first", () => {
    const m = matchDescriptor(edge!, [
      { key: "tenant", value: "acme" },
      { key: "app", value: "shop" },
      { key: "user", value: "alice" },
    ]);
    expect(m.levels.map((l) => [l.key, l.limit.algorithm, l.limit.limit])).toEqual([
      ["edge|tenant=acme|app=shop|user=alice", "gcra", 5],
      ["edge|tenant=acme|app=shop", "token-bucket", 100],
      ["edge|tenant=acme", "sliding-window", 1000],
    ]);
    expect(matchDescriptor(edge!, [{ key: "tenant", value: "acme" }, { key: "app", value: "shop" }, { key: "user", value: "root" }]).unlimited).toBe(true);
    // A request deeper than the config matches nothing (envoyproxy/ratelimit's rule).
    expect(matchDescriptor(edge!, [{ key: "tenant", value: "a" }, { key: "app", value: "b" }, { key: "user", value: "c" }, { key: "x", value: "y" }]).none).toBe(true);
  });

  it("matches value prefixes, multipliers, names and shadow mode", () => {
    const m = matchDescriptor(edge!, [{ key: "path", value: "/api/orders" }]);
    expect(m.levels[0]).toMatchObject({ name: "api", shadow: true, limit: { periodMs: 2 * 3_600_000, limit: 10 } });
  });

  it("applies a request's limit override to the leaf", () => {
    const m = matchDescriptor(mongo!, [{ key: "database", value: "users" }], { requestsPerUnit: 7, unit: "minute" });
    expect(m.levels[0]).toMatchObject({ requestsPerUnit: 7, unit: "minute", limit: { limit: 7, periodMs: 60_000 } });
  });

  it("names the file, path, value and expectation for every problem at once", () => {
    const bad = `
domain: d
descriptors:
  - key: a
    rate_limit: { unit: fortnight, requests_per_unit: -1 }
  - key: a
    unlimited: true
    rate_limit: { unit: second, requests_per_unit: 1, algorithm: leaky }
`;
    let message = "";
    try {
      parseRateLimitConfig(bad, "bad.yaml");
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/bad\.yaml: descriptors\.0\.rate_limit\.unit is "fortnight": .*second/);
    expect(message).toMatch(/descriptors\.0\.rate_limit\.requests_per_unit is -1/);
    expect(message).toMatch(/descriptors\.1\.rate_limit\.algorithm is "leaky"/);
    expect(() => parseRateLimitConfig("domain: d\ndescriptors:\n  - key: a\n  - key: a\n", "dup.yaml")).toThrow(/dup\.yaml: descriptors\.1 .*duplicate descriptor a=/);
    expect(() => parseRateLimitConfig("domain: d\ndescriptors:\n  - key: a\n    unlimited: true\n    rate_limit: { unit: second, requests_per_unit: 1 }\n")).toThrow(/unlimited descriptors take no rate_limit/);
    expect(() => parseRateLimitConfig("domain: [", "x.yaml")).toThrow(/x\.yaml/);
    expect(() => parseRateLimitConfig("domain: a\n---\ndomain: a\n", "y.yaml")).toThrow(/domain "a" is defined more than once/);
    expect(() => parseRateLimitConfig("domain: a\ndescriptors:\n  - key: k\n    rate_limit: { unit: second, requests_per_unit: 1, debt: 2 }\n")).toThrow(/debt applies to algorithm token-bucket only/);
    expect(() => parseRateLimitConfig("domain: a\ndescriptors:\n  - key: k\n    rate_limit: { unit: second, requests_per_unit: 1, global: true, algorithm: gcra }\n")).toThrow(/a global limit is enforced by leased regional token buckets/);
  });
});
