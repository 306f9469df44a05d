/** Meridian's extensions of envoyproxy/ratelimit's grammar, and the errors for misplaced keys. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileDomains } from "../../../../runtime/ratelimit/config/compile.js";
import { loadConfig } from "../../../../runtime/ratelimit/config/load.js";
import { matchDescriptor } from "../../../../runtime/ratelimit/config/match.js";
import { parseRateLimitConfig } from "../../../../runtime/ratelimit/config/schema.js";

const yaml = `
domain: mongo_cps
descriptors:
  - key: database
    value: users
    rate_limit: { unit: second, requests_per_unit: 500 }
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
            rate_limit: { unlimited: true }
  - key: path
    value: "/api/*"
    rate_limit: { unit: hour, requests_per_unit: 10, unit_multiplier: 2, name: api }
    shadow_mode: true
`;

describe("Meridian's config extensions", () => {
  const domains = compileDomains(parseRateLimitConfig(yaml, "rl.yaml"));
  const e = (...kv: [string, string][]) => kv.map(([key, value]) => ({ key, value }));

  it("reads several domains from one file and the algorithm, burst, debt and unit_multiplier extensions", () => {
    expect([...domains.keys()]).toEqual(["mongo_cps", "edge"]);
    const m = matchDescriptor(domains.get("edge"), e(["tenant", "acme"], ["app", "shop"], ["user", "bob"]));
    expect(m.levels.map((l) => [l.depth, l.rule.limit])).toEqual([
      [3, { algorithm: "gcra", limit: 5, periodMs: 1000, burst: 2 }],
      [2, { algorithm: "token-bucket", limit: 100, periodMs: 60_000, burst: 20, debt: 5 }],
      [1, { algorithm: "sliding-window", limit: 1000, periodMs: 60_000 }],
    ]);
    expect(matchDescriptor(domains.get("edge"), e(["path", "/api/v1"])).rule).toMatchObject({ name: "api", shadow: true, limit: { periodMs: 7_200_000, algorithm: "fixed-window" } });
  });

  it("applies every matched ancestor under hierarchical, but an unlimited leaf stays unlimited", () => {
    expect(matchDescriptor(domains.get("edge"), e(["tenant", "acme"], ["app", "shop"], ["user", "root"])).rule?.unlimited).toBe(true);
    // Without hierarchical only the leaf applies (envoyproxy/ratelimit).
    expect(matchDescriptor(domains.get("mongo_cps"), e(["database", "users"])).levels).toHaveLength(1);
  });

  it("refuses what envoyproxy/ratelimit would silently ignore, naming the key and where it belongs", () => {
    const bad = (body: string) => () => parseRateLimitConfig(`domain: d\ndescriptors:\n${body}`, "bad.yaml");
    expect(bad("  - key: a\n    unlimited: true\n")).toThrow("bad.yaml: descriptors[0].unlimited: config error, unknown key 'unlimited' (it belongs under rate_limit)");
    expect(bad("  - key: a\n    rate_limit: { unit: minute, requests_per_unit: 1, shadow_mode: true }\n")).toThrow(
      "descriptors[0].rate_limit.shadow_mode: config error, unknown key 'shadow_mode' (it belongs on a descriptor)",
    );
    expect(bad("  - key: a\n    rate_limit: { unit: minute, requests_per_unit: 1, algorithm: leaky }\n")).toThrow(
      "descriptors[0].rate_limit.algorithm: expected one of gcra, token-bucket, fixed-window, sliding-log, sliding-window",
    );
    expect(bad("  - key: a\n    rate_limit: { unit: minute, requests_per_unit: 1, debt: 2 }\n")).toThrow("debt applies to algorithm token-bucket only");
    expect(bad("  - key: a\n    rate_limit: { unit: minute, requests_per_unit: -1 }\n")).toThrow("descriptors[0].rate_limit.requests_per_unit: expected an integer 0–4294967295, got -1");
    expect(bad("  - key: a\n    share_threshold: true\n")).toThrow("share_threshold can only be used with wildcard values (containing '*'), but found key 'a'");
    expect(bad("  - key: a\n    rate_limit: { unit: fortnight, requests_per_unit: 1 }\n")).toThrow(
      "invalid rate limit unit 'fortnight' (expected one of second, minute, hour, day, week, month, year)",
    );
  });

  it("loads a directory in name order, refusing a domain defined twice unless merging", () => {
    const dir = mkdtempSync(join(tmpdir(), "mrl-dir-"));
    writeFileSync(join(dir, "a.yaml"), "domain: d\ndescriptors:\n  - key: a\n    rate_limit: { unit: minute, requests_per_unit: 1 }\n");
    writeFileSync(join(dir, "b.yml"), "domain: d\ndescriptors:\n  - key: b\n    rate_limit: { unit: week, requests_per_unit: 2 }\n");
    writeFileSync(join(dir, ".hidden.yaml"), "not: [valid");
    writeFileSync(join(dir, "notes.txt"), "ignored");
    expect(() => loadConfig(dir)).toThrow(/b\.yml: duplicate domain 'd' in config file \(also in .*a\.yaml; merge them with --merge-domains\)/);
    const merged = loadConfig(dir, true).domains.get("d");
    expect(matchDescriptor(merged, e(["b", "x"])).rule).toMatchObject({ requestsPerUnit: 2, unit: "week", limit: { periodMs: 604_800_000 } });
    expect(() => loadConfig(join(dir, "missing"))).toThrow(/cannot read config .*missing/);
  });
});
