import { describe, expect, it } from "vitest";
import * as cloudflare from "@pulumi/cloudflare";
import { messages, refusals } from "./refuse.js";

describe("Cloudflare provider rules", () => {
  it("cloudflare-dns-record: ttl, A content, proxied TXT", async () => {
    const v = await refusals(() => {
      new cloudflare.DnsRecord("a", { zoneId: "z", name: "api.example.com", type: "A", ttl: 5, content: "gw.example.net" });
      new cloudflare.DnsRecord("txt", { zoneId: "z", name: "example.com", type: "TXT", ttl: 60, content: "v=spf1 -all", proxied: true });
    });
    expect(messages(v, "cloudflare-dns-record")).toEqual([
      "ttl 5: Value must be between 60 and 86400, with the minimum reduced to 30 for Enterprise zones. (code 9003)",
      "Content for A record is invalid. Must be a valid IPv4 address (code 9005): 'gw.example.net'",
      "TXT records cannot be proxied. (code 9004)",
    ]);
  });

  it("cloudflare-load-balancer, -pool and -monitor", async () => {
    const v = await refusals(() => {
      new cloudflare.LoadBalancer("lb", { zoneId: "z", name: "api.example.com", defaultPools: [], fallbackPool: "p", proxied: true, ttl: 60, steeringPolicy: "nearest", regionPools: { MARS: ["p"] } });
      new cloudflare.LoadBalancerPool("pool", {
        accountId: "a",
        name: "p",
        origins: [
          { name: "x", address: "192.0.2.1", weight: 2 },
          { name: "x", address: "192.0.2.2" },
        ],
        checkRegions: ["XX"],
        minimumOrigins: 3,
      });
      new cloudflare.LoadBalancerMonitor("mon", { accountId: "a", type: "tcp", path: "/healthz", interval: 10, timeout: 10 });
    });
    expect(messages(v, "cloudflare-load-balancer")).toHaveLength(4);
    expect(messages(v, "cloudflare-load-balancer-pool")).toHaveLength(4);
    expect(messages(v, "cloudflare-monitor")).toEqual(["path: This parameter is only valid for HTTP and HTTPS monitors (monitor type tcp).", "timeout 10 must be shorter than the interval 10."]);
  });
});
