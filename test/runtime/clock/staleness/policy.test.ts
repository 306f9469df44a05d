import { describe, expect, it } from "vitest";
import { StalenessPolicy, StalenessPolicyError } from "../../../../runtime/clock/staleness/policy.js";

const POLICY = `
default: { consistency: bounded-staleness, maxStaleness: 5s }
operations:
  checkout: { consistency: strong }
  catalog.browse: { consistency: bounded-staleness, maxStaleness: 30s }
  report.monthly: { consistency: exact }
  feed: { consistency: eventual }
`;

describe("StalenessPolicy", () => {
  const p = StalenessPolicy.parse(POLICY, "policy.yaml");

  it("resolves per operation, with the default for unknown ones", () => {
    expect(p.resolve("checkout")).toEqual({ consistency: "strong" });
    expect(p.resolve("catalog.browse")).toEqual({ consistency: "bounded-staleness", maxStalenessMs: 30_000 });
    expect(p.resolve("feed")).toEqual({ consistency: "eventual" });
    expect(p.resolve("anything")).toEqual({ consistency: "bounded-staleness", maxStalenessMs: 5000 });
  });

  it("a request may tighten its consistency but never loosen it", () => {
    expect(p.resolve("feed", { consistency: "strong" })).toEqual({ consistency: "strong" });
    expect(p.resolve("catalog.browse", { consistency: "bounded-staleness", maxStalenessMs: 1000 })).toEqual({ consistency: "bounded-staleness", maxStalenessMs: 1000 });
    expect(() => p.resolve("checkout", { consistency: "eventual" })).toThrow(/requires at least strong/);
    expect(() => p.resolve("catalog.browse", { consistency: "bounded-staleness", maxStalenessMs: 60_000 })).toThrow(/at most 30000 ms/);
  });

  it("names what is wrong in a bad policy", () => {
    expect(() => StalenessPolicy.parse("operations: { checkout: { consistency: bounded-staleness } }", "p.yaml")).toThrow(StalenessPolicyError);
    expect(() => StalenessPolicy.parse("operations: { checkout: { consistency: bounded-staleness, maxStaleness: soon } }", "p.yaml")).toThrow(
      /p\.yaml: operations\.checkout\.maxStaleness: expected a duration/,
    );
    expect(() => StalenessPolicy.parse("default: [", "p.yaml")).toThrow(/not valid YAML/);
    expect(StalenessPolicy.parse("", "empty.yaml").resolve("x")).toEqual({ consistency: "strong" });
  });
});
