import { describe, expect, it } from "vitest";
import { byName, ofType, type Plan } from "../../harness.js";
import { planForMode } from "./plans.js";

const LB = "cloudflare:index/loadBalancer:LoadBalancer";
const POOL = "cloudflare:index/loadBalancerPool:LoadBalancerPool";
const lb = (plan: Plan) => byName(plan, LB, "cloudflare-lb").inputs;
const endpoints = (plan: Plan) => plan.outputs["endpoints"] as Record<string, string>;
const originWeights = (plan: Plan, pool: string) => Object.fromEntries((byName(plan, POOL, pool).inputs["origins"] as { name: string; weight: number }[]).map((o) => [o.name, o.weight]));

describe("Cloudflare load balancing", () => {
  it("a monitor with the spec's numbers; pools carry origins, checker regions and (single-region) coordinates", async () => {
    const plan = await planForMode("failover", {
      providers: { primary: "cloudflare" },
      healthCheck: { protocol: "HTTPS", port: 443, path: "/healthz", intervalSeconds: 30, timeoutSeconds: 4, failureThreshold: 5 },
    });
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
    expect(byName(plan, POOL, "cloudflare-pool-gcp-asne1").inputs).toMatchObject({
      origins: [{ name: "gcp-asne1", address: endpoints(plan)["gcp-asne1"], weight: 1, enabled: true }],
      monitor: "cloudflare-monitor-id",
      minimumOrigins: 1,
      latitude: 35.7,
      longitude: 139.7,
      checkRegions: ["WNAM", "WEU", "NEAS"],
    });
  });

  it("weighted: one pool of every region at the spec's weights; it is also the fallback (fail-open)", async () => {
    const plan = await planForMode("weighted", { weights: { "aws-use1": 200, "aws-euw1": 100, "gcp-usc1": 50, "gcp-asne1": 50, "azure-weu": 0, "azure-sea": 100 } });
    expect(ofType(plan, POOL).map((p) => p.name)).toEqual(["cloudflare-pool-all"]);
    expect(originWeights(plan, "cloudflare-pool-all")).toEqual({ "aws-use1": 1, "aws-euw1": 0.5, "gcp-usc1": 0.25, "gcp-asne1": 0.25, "azure-weu": 0, "azure-sea": 0.5 });
    expect(byName(plan, POOL, "cloudflare-pool-all").inputs).toMatchObject({ originSteering: { policy: "random" } });
    expect(lb(plan)).toMatchObject({
      steeringPolicy: "random",
      proxied: false,
      ttl: 60,
      name: "api.meridian.example.com",
      defaultPools: ["cloudflare-pool-all-id"],
      fallbackPool: "cloudflare-pool-all-id",
    });
  });

  it("geo: each Cloudflare region of a continent tries its group's pool, then every region", async () => {
    const plan = await planForMode("geo", { weights: { "aws-euw1": 200, "azure-weu": 50 } });
    const pools = lb(plan)["regionPools"] as Record<string, string[]>;
    expect(lb(plan)).toMatchObject({ steeringPolicy: "geo", defaultPools: ["cloudflare-pool-all-id"], fallbackPool: "cloudflare-pool-all-id" });
    expect(pools["WEU"]).toEqual(["cloudflare-pool-europe-id", "cloudflare-pool-all-id"]);
    expect(pools["SAF"]).toEqual(["cloudflare-pool-europe-id", "cloudflare-pool-all-id"]);
    expect(pools["OC"]).toEqual(["cloudflare-pool-asia-id", "cloudflare-pool-all-id"]);
    expect(Object.keys(pools).sort()).toEqual(["EEU", "ENAM", "ME", "NAF", "NEAS", "NSAM", "OC", "SAF", "SAS", "SEAS", "SSAM", "WEU", "WNAM"]);
    expect(originWeights(plan, "cloudflare-pool-europe")).toEqual({ "aws-euw1": 1, "azure-weu": 0.25 });
    expect(byName(plan, POOL, "cloudflare-pool-europe").inputs["latitude"]).toBeUndefined();
  });

  it("latency and failover: a pool per region; dynamic_latency, or off with pools in failover order and the primary as fallback", async () => {
    expect(lb(await planForMode("latency"))["steeringPolicy"]).toBe("dynamic_latency");
    const plan = await planForMode("failover", { failoverOrder: ["gcp-asne1"] });
    expect(lb(plan)).toMatchObject({ steeringPolicy: "off", fallbackPool: "cloudflare-pool-gcp-asne1-id" });
    expect((lb(plan)["defaultPools"] as string[]).slice(0, 2)).toEqual(["cloudflare-pool-gcp-asne1-id", "cloudflare-pool-aws-use1-id"]);
  });

  it("anycast: a proxied load balancer (edge failover, no client TTL)", async () => {
    const plan = await planForMode("anycast");
    expect(lb(plan)).toMatchObject({ proxied: true, steeringPolicy: "random" });
    expect(lb(plan)["ttl"]).toBeUndefined();
  });
});
