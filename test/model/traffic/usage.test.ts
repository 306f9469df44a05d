import { describe, expect, it } from "vitest";
import { trafficUsage } from "../../../model/traffic/usage.js";
import type { UsageItem } from "../../../model/usage.js";
import { specWithDns } from "./fixtures.js";

function bySku(items: UsageItem[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[i.sku] = (out[i.sku] ?? 0) + i.monthlyQuantity;
  return out;
}

describe("trafficUsage", () => {
  it("prod: queries split over the two delegated providers, checks per region and signal, standbys warm", () => {
    const usage = bySku(trafficUsage(specWithDns("prod")));
    expect(usage).toEqual({
      "route53.hostedZone": 1,
      "route53.queries.geo": 450,
      // 2 AWS regions × 3 signals + 6 regions × 2 CALCULATED parents
      "route53.healthCheck.aws": 6 + 12,
      "route53.healthCheck.nonAws": 12,
      // HTTPS is the one optional feature at a 30 s interval
      "route53.healthCheck.optionalFeature.aws": 6,
      "route53.healthCheck.optionalFeature.nonAws": 12,
      "clouddns.zone": 1,
      "clouddns.queries.routingPolicy": 450,
      "clouddns.healthCheck": 6,
      "cloudflare.dns.queries": 0,
      "cloudflare.loadBalancer.base": 1,
      "cloudflare.loadBalancer.queries": 0,
      "azuredns.zone": 1,
      "azuredns.queries": 0,
      "trafficmanager.queries": 0,
      // one probed endpoint per region and signal
      "trafficmanager.healthCheck.azure": 2 * 3,
      "trafficmanager.healthCheck.external": 4 * 3,
    });
  });

  it("counts fast-interval features and the routing kind of Route 53 queries", () => {
    const spec = specWithDns("prod", {
      routing: "latency",
      providers: { primary: "route53", secondary: "trafficmanager" },
      healthCheck: { protocol: "TCP", port: 443, intervalSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
    });
    const usage = bySku(trafficUsage(spec));
    // Latency records answer each client from its nearest region: the AWS regions' share of the latest month's
    // demand (aws-use1 520k + aws-euw1 360k of 1,900k) is answered by their NLB aliases, free.
    expect(usage["route53.queries.latency"]).toBeCloseTo((450 * 1020) / 1900, 9);
    expect(usage["route53.queries.aliasToAws"]).toBeCloseTo((450 * 880) / 1900, 9);
    expect(usage["route53.healthCheck.aws"]).toBe(2); // one signal: no CALCULATED parents
    expect(usage["route53.healthCheck.optionalFeature.nonAws"]).toBe(4); // fast interval only (a TCP check has no HTTPS feature)
    expect(usage["trafficmanager.queries"]).toBe(450);
    expect(usage["trafficmanager.healthCheck.fastInterval.external"]).toBe(4);
    expect(usage["trafficmanager.healthCheck.fastInterval.azure"]).toBe(2);
  });

  it("weighted and failover Route 53 queries are standard; a single provider takes every query", () => {
    // Staging fails over from aws-use1: its PRIMARY record, an alias to the NLB, answers every query for free.
    const usage = bySku(trafficUsage(specWithDns("staging")));
    expect(usage["route53.queries.standard"]).toBe(0);
    expect(usage["route53.queries.aliasToAws"]).toBe(15);
    const gcpFirst = bySku(trafficUsage(specWithDns("staging", { failoverOrder: ["gcp-euw1", "aws-use1", "azure-sea"] })));
    expect(gcpFirst["route53.queries.standard"]).toBe(15);
    expect(gcpFirst["route53.queries.aliasToAws"]).toBeUndefined();
    expect(usage["cloudflare.loadBalancer.queries"]).toBe(15);
    expect(bySku(trafficUsage(specWithDns("dev")))["clouddns.queries.routingPolicy"]).toBe(1);
    expect(trafficUsage(specWithDns("local"))).toEqual([]);
  });

  it("weighted Route 53 queries: the AWS regions' weight share is answered by NLB aliases, free; geo aliases into the zone are charged", () => {
    const weights = { "aws-use1": 40, "aws-euw1": 20, "gcp-usc1": 10, "gcp-asne1": 10, "azure-weu": 10, "azure-sea": 10 };
    const usage = bySku(trafficUsage(specWithDns("prod", { routing: "weighted", weights })));
    expect(usage["route53.queries.standard"]).toBeCloseTo(450 * 0.4, 9);
    expect(usage["route53.queries.aliasToAws"]).toBeCloseTo(450 * 0.6, 9);
    const geo = bySku(trafficUsage(specWithDns("prod")));
    expect(geo["route53.queries.geo"]).toBe(450);
    expect(geo["route53.queries.aliasToAws"]).toBeUndefined();
  });

  it("marks query quantities as usage-based and provisioned counts as not", () => {
    for (const item of trafficUsage(specWithDns("prod"))) {
      expect(item.usageBased).toBe(item.unit === "1M queries");
      expect(item.monthlyQuantity).toBeGreaterThanOrEqual(0);
    }
  });
});
