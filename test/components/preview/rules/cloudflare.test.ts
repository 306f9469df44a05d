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

  it("cloudflare-apex-ns-multi-provider: an apex NS record needs multi-provider DNS", async () => {
    const without = await refusals(() => {
      new cloudflare.Zone("zone", { account: { id: "a" }, name: "example.com", type: "full" });
      new cloudflare.DnsRecord("ns", { zoneId: "z", name: "example.com", type: "NS", ttl: 86400, content: "ns-1.awsdns-01.org" });
      new cloudflare.DnsRecord("sub", { zoneId: "z", name: "sub.example.com", type: "NS", ttl: 86400, content: "ns1.sub.example.net" });
    });
    expect(messages(without, "cloudflare-apex-ns-multi-provider")).toEqual([
      "NS record at the zone apex example.com: Cloudflare respects apex NS records only with multi-provider DNS enabled (zone DNS settings multi_provider: true).",
    ]);
    const withIt = await refusals(() => {
      new cloudflare.Zone("zone", { account: { id: "a" }, name: "example.com", type: "full" });
      new cloudflare.ZoneDnsSettings("settings", { zoneId: "z", multiProvider: true });
      new cloudflare.DnsRecord("ns", { zoneId: "z", name: "example.com", type: "NS", ttl: 86400, content: "ns-1.awsdns-01.org" });
    });
    expect(messages(withIt, "cloudflare-apex-ns-multi-provider")).toEqual([]);
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
