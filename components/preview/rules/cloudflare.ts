/**
 * Cloudflare rules (pulumi-cloudflare v6 bridges the Cloudflare Terraform provider generated from the
 * API schema; the SDK's doc comments are the API's field documentation): DNS records, load balancers,
 * pools and monitors.
 */
import { arr, inputs, ip, known, num, obj, str, type ProviderRule } from "./rule.js";

const SDK = "https://github.com/pulumi/pulumi-cloudflare/blob/master/sdk/nodejs";
const REGIONS = new Set(["WNAM", "ENAM", "WEU", "EEU", "NSAM", "SSAM", "OC", "ME", "NAF", "SAF", "SAS", "SEAS", "NEAS", "ALL_REGIONS"]);
const STEERING = new Set(["off", "geo", "random", "dynamic_latency", "proximity", "least_outstanding_requests", "least_connections", ""]);

export const cloudflareRules: ProviderRule[] = [
  {
    id: "cloudflare-dns-record",
    provider: "cloudflare",
    types: ["cloudflare:index/dnsRecord:DnsRecord"],
    summary: "ttl is 1 (automatic) or 60-86400 (30 on Enterprise); A/AAAA content is an address; only A, AAAA and CNAME can be proxied",
    source: `${SDK}/dnsRecord.ts (ttl, proxied doc comments); https://developers.cloudflare.com/dns/manage-dns-records/reference/ttl/`,
    check(r) {
      const p = inputs(r);
      const out: string[] = [];
      const ttl = num(p["ttl"]);
      if (ttl !== undefined && ttl !== 1 && (ttl < 30 || ttl > 86400)) out.push(`ttl ${ttl}: Value must be between 60 and 86400, with the minimum reduced to 30 for Enterprise zones. (code 9003)`);
      const type = str(p["type"]);
      const content = p["content"];
      if (typeof content === "string" && known(content)) {
        if (type === "A" && !ip.v4(content)) out.push(`Content for A record is invalid. Must be a valid IPv4 address (code 9005): '${content}'`);
        if (type === "AAAA" && !ip.v6(content)) out.push(`Content for AAAA record is invalid. Must be a valid IPv6 address (code 9005): '${content}'`);
      }
      if (p["proxied"] === true && type !== "A" && type !== "AAAA" && type !== "CNAME") out.push(`${type} records cannot be proxied. (code 9004)`);
      return out;
    },
  },
  {
    id: "cloudflare-apex-ns-multi-provider",
    provider: "cloudflare",
    types: ["cloudflare:index/dnsRecord:DnsRecord"],
    summary:
      "NS records at a zone's apex are served only with multi-provider DNS on (ZoneDnsSettings multiProvider: true); without it the zone stays pending while other providers' nameservers are delegated",
    source: `${SDK}/zoneDnsSettings.ts (multiProvider doc comment); https://developers.cloudflare.com/dns/nameservers/nameserver-options/#multi-provider-dns`,
    check(r, plan) {
      const p = inputs(r);
      if (str(p["type"]) !== "NS") return [];
      const name = str(p["name"])?.replace(/\.$/, "");
      const apex = plan.ofType("cloudflare:index/zone:Zone").some((z) => str(inputs(z)["name"])?.replace(/\.$/, "") === name);
      if (!apex) return [];
      const multi = plan.ofType("cloudflare:index/zoneDnsSettings:ZoneDnsSettings").some((z) => inputs(z)["multiProvider"] === true);
      return multi ? [] : [`NS record at the zone apex ${name}: Cloudflare respects apex NS records only with multi-provider DNS enabled (zone DNS settings multi_provider: true).`];
    },
  },
  {
    id: "cloudflare-load-balancer",
    provider: "cloudflare",
    types: ["cloudflare:index/loadBalancer:LoadBalancer"],
    summary: "A load balancer has default pools and a fallback pool, a known steering policy and region codes; ttl only when not proxied",
    source: `${SDK}/loadBalancer.ts (fallbackPool, ttl, regionPools, steeringPolicy doc comments)`,
    check(r) {
      const p = inputs(r);
      const out: string[] = [];
      if (arr(p["defaultPools"]).length === 0) out.push("default_pools: A list of pool IDs ordered by their failover priority is required (at least one pool).");
      if (p["fallbackPool"] === undefined) out.push("fallback_pool: The pool ID to use when all other pools are detected as unhealthy is required.");
      if (p["proxied"] === true && p["ttl"] !== undefined)
        out.push("ttl: Time to live (TTL) of the DNS entry for the IP address returned by this load balancer applies only to gray-clouded (unproxied) load balancers.");
      const steering = str(p["steeringPolicy"]);
      if (steering !== undefined && !STEERING.has(steering)) out.push(`steering_policy: '${steering}' is not one of ${[...STEERING].filter(Boolean).join(", ")}.`);
      for (const code of Object.keys(obj(p["regionPools"]))) {
        if (!REGIONS.has(code)) out.push(`region_pools: '${code}' is not a Cloudflare region code.`);
      }
      return out;
    },
  },
  {
    id: "cloudflare-load-balancer-pool",
    provider: "cloudflare",
    types: ["cloudflare:index/loadBalancerPool:LoadBalancerPool"],
    summary: "Origins have unique names and weights 0-1; checkRegions are region codes; minimumOrigins does not exceed the origins",
    source: `${SDK}/loadBalancerPool.ts (origins, checkRegions, minimumOrigins doc comments)`,
    check(r) {
      const p = inputs(r);
      const out: string[] = [];
      const origins = arr(p["origins"]).map(obj);
      const names = origins.map((o) => o["name"]);
      if (new Set(names).size !== names.length) out.push("origins: origin names must be unique within a pool.");
      for (const o of origins) {
        const w = num(o["weight"]);
        if (w !== undefined && (w < 0 || w > 1)) out.push(`origins: weight ${w} of origin ${String(o["name"])} must be between 0 and 1.`);
      }
      for (const code of arr(p["checkRegions"])) if (typeof code === "string" && !REGIONS.has(code)) out.push(`check_regions: '${code}' is not a Cloudflare region code.`);
      const min = num(p["minimumOrigins"]);
      if (min !== undefined && min > origins.length) out.push(`minimum_origins ${min} exceeds the ${origins.length} origins of the pool; the pool could never be healthy.`);
      return out;
    },
  },
  {
    id: "cloudflare-monitor",
    provider: "cloudflare",
    types: ["cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor"],
    summary: "path, expectedCodes and header are valid for HTTP/HTTPS monitors only; timeout is shorter than the interval",
    source: `${SDK}/loadBalancerMonitor.ts (path, expectedCodes, header doc comments: "only valid for HTTP and HTTPS monitors")`,
    check(r) {
      const p = inputs(r);
      const out: string[] = [];
      const type = str(p["type"]) ?? "http";
      if (type !== "http" && type !== "https") {
        for (const f of ["path", "expectedCodes", "header", "expectedBody"]) if (p[f] !== undefined) out.push(`${f}: This parameter is only valid for HTTP and HTTPS monitors (monitor type ${type}).`);
      }
      const interval = num(p["interval"]) ?? 60;
      const timeout = num(p["timeout"]) ?? 5;
      if (timeout >= interval) out.push(`timeout ${timeout} must be shorter than the interval ${interval}.`);
      return out;
    },
  },
];
