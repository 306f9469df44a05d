import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { answerAddresses, answerSet, providerHealth, type RegionHealth } from "../../../model/traffic/answer.js";
import { HEALTH_STATES } from "../../../model/traffic/health.js";
import { routingModes } from "../../../model/config/traffic.js";
import { trafficPolicy } from "../../../model/traffic/policy.js";
import { specWithDns } from "./fixtures.js";

const ids = ["aws-use1", "aws-euw1", "gcp-usc1", "gcp-asne1", "azure-weu", "azure-sea"];
const policyFor = (patch: Record<string, unknown>) => trafficPolicy(specWithDns("prod", { providers: { primary: "local" }, ...patch }));
const asMap = (set: ReturnType<typeof answerSet>) => Object.fromEntries(set.answers.map((a) => [a.regionId, a.weight]));

describe("answerSet", () => {
  it("weighted: every serving region at its state's weight; degraded at the reduced weight", () => {
    const policy = policyFor({ routing: "weighted", weights: { "aws-use1": 200 }, degraded: { weightFactor: 0.5 } });
    const set = answerSet(policy, { "aws-use1": "degraded", "gcp-usc1": "unhealthy" });
    expect(asMap(set)).toEqual({ "aws-use1": 100, "aws-euw1": 200, "gcp-asne1": 200, "azure-weu": 200, "azure-sea": 200 });
    expect(set.failOpen).toBe(false);
  });

  it("weighted: fails open to every region at its healthy weight when nothing serves", () => {
    const policy = policyFor({ routing: "weighted" });
    const set = answerSet(policy, Object.fromEntries(ids.map((id) => [id, "unhealthy"])));
    expect(set.failOpen).toBe(true);
    expect(set.answers).toHaveLength(6);
  });

  it("geo: the client's continent group, else every region; borrowed continents use the nearest group", () => {
    const policy = policyFor({ routing: "geo" });
    expect(asMap(answerSet(policy, {}, { continent: "europe" }))).toEqual({ "aws-euw1": 100, "azure-weu": 100 });
    expect(asMap(answerSet(policy, { "aws-euw1": "degraded" }, { continent: "africa" }))).toEqual({ "aws-euw1": 50, "azure-weu": 100 });
    const europeDown = answerSet(policy, { "aws-euw1": "unhealthy", "azure-weu": "unhealthy" }, { continent: "europe" });
    expect(Object.keys(asMap(europeDown)).sort()).toEqual(["aws-use1", "azure-sea", "gcp-asne1", "gcp-usc1"]);
    // A location resolves to the nearest continent: Sydney is in Oceania, served by the Asian group.
    expect(Object.keys(asMap(answerSet(policy, {}, { location: { lat: -33.9, lon: 151.2 } })))).toEqual(["gcp-asne1", "azure-sea"]);
    expect(answerSet(policy, {}).answers).toHaveLength(6);
  });

  it("latency: the nearest serving region to the client", () => {
    const policy = policyFor({ routing: "latency" });
    const paris = { location: { lat: 48.9, lon: 2.35 } };
    expect(answerSet(policy, {}, paris).answers).toEqual([{ regionId: "azure-weu", weight: 1 }]);
    expect(answerSet(policy, { "azure-weu": "unhealthy" }, paris).answers).toEqual([{ regionId: "aws-euw1", weight: 1 }]);
    expect(answerSet(policy, { "azure-weu": "degraded" }, paris).answers).toEqual([{ regionId: "azure-weu", weight: 1 }]);
  });

  it("failover: the first serving region in order; the primary when none serves", () => {
    const policy = policyFor({ routing: "failover", failoverOrder: ["gcp-usc1", "aws-use1"] });
    expect(answerSet(policy, {}).answers[0]!.regionId).toBe("gcp-usc1");
    expect(answerSet(policy, { "gcp-usc1": "unhealthy" }).answers[0]!.regionId).toBe("aws-use1");
    const allDown = answerSet(policy, Object.fromEntries(ids.map((id) => [id, "unhealthy"])));
    expect(allDown).toEqual({ answers: [{ regionId: "gcp-usc1", weight: 1 }], failOpen: true });
  });

  it("answerAddresses maps regions to their live endpoints", () => {
    const policy = policyFor({ routing: "failover" });
    const endpoints = Object.fromEntries(ids.map((id, i) => [id, `127.0.0.${i + 1}`]));
    expect(answerAddresses(policy, { "aws-use1": "unhealthy" }, endpoints)).toEqual([{ address: "127.0.0.2", weight: 1, regionId: "aws-euw1" }]);
    expect(() => answerAddresses(policy, {}, {})).toThrow(/no endpoint for region aws-use1/);
  });

  it("never answers an unhealthy region unless failing open, and never answers nothing", () => {
    const policies = routingModes.map((mode) => policyFor({ routing: mode }));
    const health = fc.record(Object.fromEntries(ids.map((id) => [id, fc.constantFrom(...HEALTH_STATES)]))) as fc.Arbitrary<RegionHealth>;
    const continent = fc.option(fc.constantFrom("north-america", "south-america", "europe", "asia", "oceania", "africa" as const), { nil: undefined });
    fc.assert(
      fc.property(fc.constantFrom(...policies), health, continent, (policy, h, c) => {
        const set = answerSet(policy, h, { continent: c });
        expect(set.answers.length).toBeGreaterThan(0);
        for (const a of set.answers) expect(a.weight).toBeGreaterThan(0);
        if (!set.failOpen) for (const a of set.answers) expect(h[a.regionId]).not.toBe("unhealthy");
        if (set.failOpen) expect(Object.values(h).every((s) => s === "unhealthy")).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe("providerHealth", () => {
  it("shows degraded regions as healthy to providers that cannot weight them", () => {
    const health = { "aws-use1": "degraded", "gcp-usc1": "unhealthy" } as const;
    expect(providerHealth(health, "cloudflare")).toEqual({ "aws-use1": "healthy", "gcp-usc1": "unhealthy" });
    expect(providerHealth(health, "clouddns")).toEqual({ "aws-use1": "healthy", "gcp-usc1": "unhealthy" });
    expect(providerHealth(health, "route53")).toBe(health);
    expect(providerHealth(health, "trafficmanager")).toBe(health);
  });
});
