/**
 * One apex across providers (#21): every provider of the prod hierarchy publishes the same apex NS set — every
 * provider's nameservers — so a resolver reaching any of them is told the same hierarchy, and the Cloudflare
 * tertiary is a full zone with multi-provider DNS (active, warm) rather than a zone left pending.
 */
import { describe, expect, it } from "vitest";
import { byName, ofType, type Plan } from "../../harness.js";
import { planWithDns } from "./plans.js";

const bare = (n: string) => n.replace(/\.$/, "");
const cloudflareOwn = (n: string) => n.endsWith(".ns.cloudflare.com");

/** Each provider's apex NS set as rendered, names without the final dot, sorted. */
function apexSets(plan: Plan): Record<string, string[]> {
  const cloudflareNs = ofType(plan, "cloudflare:index/dnsRecord:DnsRecord").filter((r) => r.inputs["type"] === "NS" && r.inputs["name"] === "meridian.example.com");
  return {
    route53: (byName(plan, "aws:route53/record:Record", "route53-apex-ns").inputs["records"] as string[]).map(bare).sort(),
    clouddns: (byName(plan, "gcp:dns/recordSet:RecordSet", "clouddns-apex-ns").inputs["rrdatas"] as string[]).map(bare).sort(),
    trafficmanager: (byName(plan, "azure-native:dns:RecordSet", "azuredns-apex-ns").inputs["nsRecords"] as { nsdname: string }[]).map((r) => bare(r.nsdname)).sort(),
    // Cloudflare serves its own nameservers at the apex of a full zone; these records add every other provider's.
    cloudflareAdded: cloudflareNs.map((r) => bare(String(r.inputs["content"]))).sort(),
  };
}

describe("one apex across providers", () => {
  it("the prod plan's zones on every provider carry the same apex NS set: every provider's nameservers", async () => {
    const plan = await planWithDns({});
    const sets = apexSets(plan);
    const route53 = sets["route53"]!;
    // 4 Route 53 + 4 Cloud DNS + 4 Azure DNS + 2 Cloudflare, all distinct.
    expect(route53).toHaveLength(14);
    for (const provider of ["clouddns", "trafficmanager"]) expect(sets[provider], provider).toEqual(route53);
    expect(route53.filter(cloudflareOwn)).toHaveLength(2);
    expect(sets["cloudflareAdded"]).toEqual(route53.filter((n) => !cloudflareOwn(n)));
    expect(byName(plan, "cloudflare:index/zoneDnsSettings:ZoneDnsSettings", "cloudflare-dns-settings").inputs).toMatchObject({ multiProvider: true });
    expect(byName(plan, "aws:route53/record:Record", "route53-apex-ns").inputs).toMatchObject({ allowOverwrite: true, ttl: 86400 });
  });
});
