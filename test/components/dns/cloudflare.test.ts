import { describe, expect, it } from "vitest";
import { byName, ofType, type Plan } from "../../harness.js";
import { planForMode } from "./plans.js";

const LB = "cloudflare:index/loadBalancer:LoadBalancer";
const POOL = "cloudflare:index/loadBalancerPool:LoadBalancerPool";
const lb = (plan: Plan) => byName(plan, LB, "cloudflare-lb").inputs;

describe("Cloudflare load balancing", () => {
  it("a monitor with the spec's numbers and one pool per region with its origin and coordinates", async () => {
    const plan = await planForMode("weighted", { healthCheck: { protocol: "HTTPS", port: 443, path: "/healthz", intervalSeconds: 30, timeoutSeconds: 4, failureThreshold: 5 }, providers: { primary: "cloudflare" } });
    expect(byName(plan, "cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor", "cloudflare-monitor").inputs).toMatchObject({
      accountId: "0123456789abcdef0123456789abcdef",
      type: "https",
      path: "/healthz",
      interval: 30,
      timeout: 4,
      retries: 0,
      consecutiveDown: 5,
      consecutiveUp: 5,
      expectedCodes: "2xx",
    });
    expect(ofType(plan, POOL)).toHaveLength(6);
    const endpoints = plan.outputs["endpoints"] as Record<string, string>;
    expect(byName(plan, POOL, "cloudflare-pool-gcp-asne1").inputs).toMatchObject({
      origins: [{ name: "gcp-asne1", address: endpoints["gcp-asne1"], weight: 1, enabled: true }],
      monitor: "cloudflare-monitor-id",
      latitude: 35.7,
      longitude: 139.7,
      checkRegions: ["WNAM", "WEU", "NEAS"],
    });
  });

  it("weighted: random steering with pool weights proportional to the spec's weights", async () => {
    const plan = await planForMode("weighted", { weights: { "aws-use1": 200, "aws-euw1": 100, "gcp-usc1": 50, "gcp-asne1": 50, "azure-weu": 0, "azure-sea": 100 } });
    expect(lb(plan)).toMatchObject({ steeringPolicy: "random", proxied: false, ttl: 60, name: "api.meridian.example.com" });
    expect((lb(plan)["randomSteering"] as { poolWeights: Record<string, number> }).poolWeights).toEqual({
      "cloudflare-pool-aws-use1-id": 1,
      "cloudflare-pool-aws-euw1-id": 0.5,
      "cloudflare-pool-gcp-usc1-id": 0.25,
      "cloudflare-pool-gcp-asne1-id": 0.25,
      "cloudflare-pool-azure-weu-id": 0,
      "cloudflare-pool-azure-sea-id": 0.5,
    });
  });

  it("geo: region pools for every Cloudflare region of each continent group", async () => {
    const plan = await planForMode("geo");
    const pools = lb(plan)["regionPools"] as Record<string, string[]>;
    expect(lb(plan)["steeringPolicy"]).toBe("geo");
    expect(pools["WEU"]).toEqual(["cloudflare-pool-aws-euw1-id", "cloudflare-pool-azure-weu-id"]);
    expect(pools["OC"]).toEqual(["cloudflare-pool-gcp-asne1-id", "cloudflare-pool-azure-sea-id"]);
    expect(Object.keys(pools).sort()).toEqual(["EEU", "ENAM", "ME", "NAF", "NEAS", "NSAM", "OC", "SAF", "SAS", "SEAS", "SSAM", "WEU", "WNAM"]);
  });

  it("latency and failover: dynamic_latency; off with pools in failover order and the primary as fallback", async () => {
    expect(lb(await planForMode("latency"))["steeringPolicy"]).toBe("dynamic_latency");
    const plan = await planForMode("failover", { failoverOrder: ["gcp-asne1"] });
    expect(lb(plan)).toMatchObject({ steeringPolicy: "off", fallbackPool: "cloudflare-pool-gcp-asne1-id" });
    expect((lb(plan)["defaultPools"] as string[])[0]).toBe("cloudflare-pool-gcp-asne1-id");
  });

  it("anycast: a proxied load balancer (edge failover, no client TTL)", async () => {
    const plan = await planForMode("anycast");
    expect(lb(plan)).toMatchObject({ proxied: true, steeringPolicy: "random" });
    expect(lb(plan)["ttl"]).toBeUndefined();
  });
});
