import { describe, expect, it } from "vitest";
import { trafficPolicy } from "../../../model/traffic/policy.js";
import { formatSeconds, providerOutageTiming, providerTiming, worstTiming } from "../../../model/traffic/timing.js";
import { specWithDns } from "./fixtures.js";

describe("failover timing", () => {
  it("detection = interval × threshold + probe timeout; RTO adds one TTL", () => {
    const policy = trafficPolicy(specWithDns("prod", { healthCheck: { intervalSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 }, ttlSeconds: 60 }));
    expect(providerTiming(policy, "clouddns")).toMatchObject({ detectionSeconds: 95, drainSeconds: 60, rtoSeconds: 155, recoverySeconds: 90 });
    // Route 53 fixes its own probe timeout (4 s connect + 2 s response).
    expect(providerTiming(policy, "route53")).toMatchObject({ probeTimeoutSeconds: 6, detectionSeconds: 96, rtoSeconds: 156 });
    expect(worstTiming(policy).provider).toBe("route53");
  });

  it("moves with the health-check settings", () => {
    const fast = trafficPolicy(
      specWithDns("prod", { providers: { primary: "route53", secondary: "trafficmanager" }, healthCheck: { intervalSeconds: 10, timeoutSeconds: 5, failureThreshold: 2 }, ttlSeconds: 20 }),
    );
    expect(providerTiming(fast, "trafficmanager")).toMatchObject({ detectionSeconds: 25, rtoSeconds: 45 });
    expect(providerTiming(fast, "route53").rtoSeconds).toBe(46);
  });

  it("a proxied (anycast) Cloudflare load balancer has nothing to drain", () => {
    const policy = trafficPolicy(specWithDns("prod", { routing: "anycast", providers: { primary: "cloudflare" } }));
    expect(providerTiming(policy, "cloudflare")).toMatchObject({ drainSeconds: 0, rtoSeconds: 95 });
  });

  it("a delegated secondary takes over by resolver retry; a standby needs the parent's NS TTL", () => {
    const prod = trafficPolicy(specWithDns("prod"));
    expect(providerOutageTiming(prod)).toEqual({ secondaryTakeoverSeconds: 2, tertiarySwitchSeconds: 172800 });
    const single = trafficPolicy(specWithDns("prod", { providers: { primary: "route53" } }));
    expect(providerOutageTiming(single)).toEqual({ secondaryTakeoverSeconds: null, tertiarySwitchSeconds: null });
  });

  it("formats durations for runbooks", () => {
    expect([formatSeconds(45), formatSeconds(60), formatSeconds(156), formatSeconds(172800), formatSeconds(5400)]).toEqual(["45 s", "1 min", "2 min 36 s", "48 h", "1 h 30 min"]);
  });
});
