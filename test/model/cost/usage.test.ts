import { describe, expect, it } from "vitest";
import { priceUsage } from "../../../model/cost/usage.js";
import type { Sku, UsageItem } from "../../../model/usage.js";
import { skuPrices } from "../../../model/prices/dns.js";

const item = (sku: Sku, monthlyQuantity: number, resource = "r", unit = "unit", usageBased = false): UsageItem => ({
  resource,
  resourceType: "aws:route53/zone:Zone",
  component: sku,
  sku,
  monthlyQuantity,
  unit,
  usageBased,
});

describe("priceUsage (fabricated usage items)", () => {
  it("prices Route 53: latency queries, HTTPS fast-interval health checks on AWS and non-AWS endpoints", () => {
    const priced = priceUsage([
      item("route53.queries.latency", 900, "zone", "1M queries", true), // 900 × 0.60 = 540.00
      item("route53.healthCheck.aws", 2), // 2 × 0.50 = 1.00
      item("route53.healthCheck.optionalFeature.aws", 4), // HTTPS + fast interval on 2 checks: 4 × 1.00 = 4.00
      item("route53.healthCheck.nonAws", 4), // 4 × 0.75 = 3.00
      item("route53.healthCheck.optionalFeature.nonAws", 8), // 8 × 2.00 = 16.00
    ]);
    expect(priced.map((p) => p.monthlyCents)).toEqual([54000, 100, 400, 300, 1600]);
  });
  it("Route 53 zones meter account-wide: the 26th zone costs $0.10", () => {
    // 20 zones: 20 × 0.50 = 10.00; next 10: 5 × 0.50 + 5 × 0.10 = 3.00
    const [a, b] = priceUsage([item("route53.hostedZone", 20), item("route53.hostedZone", 10)]);
    expect(a!.monthlyCents).toBe(1000);
    expect(b!.components.map((c) => [c.monthlyQuantity, c.price.usd])).toEqual([
      [5, 0.5],
      [5, 0.1],
    ]);
    expect(b!.monthlyCents).toBe(300);
  });
  it("prices Cloud DNS, Traffic Manager and Cloudflare SKUs", () => {
    const priced = priceUsage([
      item("clouddns.zone", 1), // 0.20
      item("clouddns.queries.routingPolicy", 300), // 300 × 0.70 = 210.00
      item("trafficmanager.queries", 100), // 100 × 0.54 = 54.00
      item("trafficmanager.healthCheck.external", 6), // 6 × 0.54 = 3.24
      item("trafficmanager.healthCheck.fastInterval.external", 6), // 6 × 2.00 = 12.00
      item("cloudflare.dns.queries", 500), // free
      item("cloudflare.loadBalancer.base", 1), // 5.00 (unverified)
      item("cloudflare.loadBalancer.queries", 250), // 250 × 1.00 = 250.00
    ]);
    expect(priced.map((p) => p.monthlyCents)).toEqual([20, 21000, 5400, 324, 1200, 0, 500, 25000]);
  });
  it("every SKU has a dated, sourced price", () => {
    for (const [sku, tiers] of Object.entries(skuPrices)) {
      for (const t of tiers) {
        expect(t.price.source, sku).not.toBe("");
        expect(t.price.date, sku).toMatch(/^\d{4}-\d{2}$/);
      }
    }
  });
  it("rejects a negative quantity naming the resource", () => {
    expect(() => priceUsage([item("clouddns.zone", -1, "zone-x")])).toThrow(/zone-x.*monthlyQuantity must be ≥ 0, got -1/);
  });
});
