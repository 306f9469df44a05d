import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { ZoneHierarchy } from "../../../components/dns/zone-hierarchy.js";
import { trafficPolicy } from "../../../model/traffic/policy.js";
import { specWithDns } from "../../model/traffic/fixtures.js";
import { ofType, type Plan } from "../../harness.js";
import { planWithDns, prodDns } from "./plans.js";

/** Every name:type the plan serves on each provider (static records and the GSLB host). */
function servedByProvider(plan: Plan): Record<string, string[]> {
  const names = (type: string, name: (i: Record<string, unknown>) => string) => ofType(plan, type).map((r) => name(r.inputs));
  const apex = "meridian.example.com";
  // The apex NS set is the hierarchy's (test/components/dns/apex-ns.test.ts), not a served record of the spec.
  const uniq = (xs: string[]) => [...new Set(xs)].filter((x) => x !== `${apex} NS`).sort();
  return {
    route53: uniq(names("aws:route53/record:Record", (i) => `${i["name"]} ${i["type"]}`).filter((n) => !n.includes(".gslb."))),
    clouddns: uniq(names("gcp:dns/recordSet:RecordSet", (i) => `${String(i["name"]).replace(/\.$/, "")} ${i["type"]}`)),
    cloudflare: uniq([...names("cloudflare:index/dnsRecord:DnsRecord", (i) => `${i["name"]} ${i["type"]}`), ...names("cloudflare:index/loadBalancer:LoadBalancer", (i) => `${i["name"]} A`)]),
    trafficmanager: uniq(
      names("azure-native:dns:RecordSet", (i) => {
        const rel = String(i["relativeRecordSetName"]);
        // The host is a CNAME to the Traffic Manager profile, which answers A.
        return `${rel === "@" ? apex : `${rel}.${apex}`} ${rel === "api" ? "A" : i["recordType"]}`;
      }),
    ),
  };
}

describe("ZoneHierarchy", () => {
  it("every provider serves the same names, and a record added to the spec appears in every provider", async () => {
    const before = servedByProvider(await planWithDns({}));
    expect(before.route53).toEqual(["api.meridian.example.com A", "meridian.example.com CAA", "meridian.example.com TXT", "www.meridian.example.com CNAME"]);
    for (const provider of ["clouddns", "cloudflare", "trafficmanager"]) expect(before[provider]).toEqual(before.route53);

    const records = [...(prodDns()["records"] as unknown[]), { name: "status", type: "A", ttlSeconds: 300, values: ["198.51.100.7"] }];
    const plan = await planWithDns({ records });
    const after = servedByProvider(plan);
    for (const provider of Object.keys(after)) expect(after[provider]).toEqual([...(before["route53"] ?? []), "status.meridian.example.com A"].sort());
    const status = (type: string) => ofType(plan, type).find((r) => JSON.stringify(r.inputs).includes("198.51.100.7"))!.inputs;
    expect(status("aws:route53/record:Record")).toMatchObject({ name: "status.meridian.example.com", ttl: 300, records: ["198.51.100.7"] });
    expect(status("gcp:dns/recordSet:RecordSet")).toMatchObject({ name: "status.meridian.example.com.", ttl: 300, rrdatas: ["198.51.100.7"] });
    expect(status("cloudflare:index/dnsRecord:DnsRecord")).toMatchObject({ name: "status.meridian.example.com", ttl: 300, content: "198.51.100.7" });
    expect(status("azure-native:dns:RecordSet")).toMatchObject({ relativeRecordSetName: "status", ttl: 300, aRecords: [{ ipv4Address: "198.51.100.7" }] });
  }, 240_000);

  it("delegation combines the primary's and secondary's nameservers, not the standbys'", async () => {
    // Zones answer with provider-style nameservers, as the clouds do after creation.
    const ns = {
      "aws:route53/zone:Zone": ["ns-1.awsdns-01.org", "ns-2.awsdns-02.net"],
      "gcp:dns/managedZone:ManagedZone": ["ns-cloud-a1.googledomains.com", "ns-cloud-a2.googledomains.com"],
      "cloudflare:index/zone:Zone": ["ada.ns.cloudflare.com"],
      "azure-native:dns:Zone": ["ns1-01.azure-dns.com"],
    } as Record<string, string[]>;
    await pulumi.runtime.setMocks(
      {
        newResource: (a) => ({ id: `${a.name}-id`, state: { ...a.inputs, ...(ns[a.type] ? { nameServers: ns[a.type] } : {}) } }),
        call: (a) => a.inputs,
      },
      "meridian",
      "prod",
      false,
    );
    const policy = trafficPolicy(specWithDns("prod"));
    const endpoints = Object.fromEntries(policy.targets.map((t, i) => [t.id, pulumi.output(`198.51.100.${i + 1}`)]));
    const hierarchy = new ZoneHierarchy("dns", { policy, endpoints });
    const value = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));
    expect(await value(hierarchy.delegation)).toEqual([...(ns["aws:route53/zone:Zone"] ?? []), ...(ns["gcp:dns/managedZone:ManagedZone"] ?? [])]);
    expect(await value(hierarchy.nameServers["cloudflare"]!)).toEqual(ns["cloudflare:index/zone:Zone"]);
    expect(await value(hierarchy.resourceCount)).toBeGreaterThan(100);
  });

  it("one GlobalTrafficPolicy per provider, with each provider's RTO as a stack output", async () => {
    const plan = await planWithDns({}, "staging");
    expect(ofType(plan, "meridian:dns:GlobalTrafficPolicy").map((r) => r.name)).toEqual(["dns-route53", "dns-cloudflare"]);
    const traffic = plan.outputs["traffic"] as { delegation: unknown; providers: string[]; rtoSeconds: Record<string, number> };
    expect(traffic.providers).toEqual(["route53", "cloudflare"]);
    expect(traffic.rtoSeconds).toEqual({ route53: 156, cloudflare: 155 });
  });
});
