import { describe, expect, it } from "vitest";
import { trafficPolicy, weightSplit } from "../../../model/traffic/policy.js";
import { specWithDns } from "./fixtures.js";

describe("trafficPolicy", () => {
  it("gives absent regions an equal share and degraded regions weight × factor", () => {
    const policy = trafficPolicy(specWithDns("prod", { routing: "weighted", weights: { "aws-use1": 200, "gcp-usc1": 100 }, degraded: { weightFactor: 0.25 } }));
    const byId = Object.fromEntries(policy.targets.map((t) => [t.id, t.weights]));
    expect(byId["aws-use1"]).toEqual({ healthy: 200, degraded: 50, unhealthy: 0 });
    expect(byId["gcp-usc1"]).toEqual({ healthy: 100, degraded: 25, unhealthy: 0 });
    expect(byId["azure-sea"]).toEqual({ healthy: 150, degraded: 38, unhealthy: 0 });
    expect(weightSplit(policy.targets[0]!)).toEqual({ full: 150, base: 50 });
  });

  it("orders failover targets by failoverOrder and appends regions it leaves out", () => {
    const policy = trafficPolicy(specWithDns("prod", { routing: "failover", failoverOrder: ["azure-sea", "gcp-usc1"] }));
    expect(policy.targets.map((t) => t.id)).toEqual(["azure-sea", "gcp-usc1", "aws-use1", "aws-euw1", "gcp-asne1", "azure-weu"]);
  });

  it("groups regions by continent and lends continents without a region their nearest group", () => {
    const policy = trafficPolicy(specWithDns("prod"));
    const group = (c: string) => policy.geoGroups.find((g) => g.continent === c)!;
    expect(group("europe")).toEqual({ continent: "europe", regionIds: ["aws-euw1", "azure-weu"], borrowed: false });
    expect(group("oceania")).toMatchObject({ regionIds: ["gcp-asne1", "azure-sea"], borrowed: true });
    expect(group("south-america")).toMatchObject({ regionIds: ["aws-use1", "gcp-usc1"], borrowed: true });
    expect(group("africa")).toMatchObject({ regionIds: ["aws-euw1", "azure-weu"], borrowed: true });
  });

  it("uses the serving path as the only signal when none are configured, and the CALCULATED threshold otherwise", () => {
    const single = trafficPolicy(specWithDns("staging"));
    expect(single.signals).toEqual([{ name: "serving", path: "/healthz" }]);
    expect(single.fullHealthThreshold).toBe(1);
    const prod = trafficPolicy(specWithDns("prod"));
    expect(prod.signals.map((s) => s.name)).toEqual(["gateway", "escrow", "replication"]);
    expect(prod.fullHealthThreshold).toBe(2);
    expect(prod.delegated).toEqual(["route53", "clouddns"]);
    expect(prod.providers).toEqual(["route53", "clouddns", "cloudflare", "trafficmanager"]);
  });
});
