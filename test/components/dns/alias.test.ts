/**
 * ALIAS at the apex (#21): each provider renders it its own way — Route 53 an alias to the target's record sets in
 * the zone, Azure DNS an alias record set to them, Cloud DNS its ALIAS type, Cloudflare a flattened apex CNAME —
 * and a target a provider cannot alias is refused naming the provider.
 */
import { describe, expect, it } from "vitest";
import { byName, ofType } from "../../harness.js";
import { planWithDns, prodDns } from "./plans.js";

const records = (prodDns()["records"] as unknown[]) ?? [];
const origin = { name: "origin", type: "A", values: ["192.0.2.10"] };
const originV6 = { name: "origin", type: "AAAA", values: ["2001:db8::10"] };

describe("ALIAS at the apex", () => {
  it("an in-zone target renders on every prod provider through its own mechanism", async () => {
    const plan = await planWithDns({ records: [...records, origin, originV6, { name: "@", type: "ALIAS", values: ["origin.meridian.example.com"] }] });
    // Route 53: one alias per address type, to the target's record set in the same zone, after it.
    for (const type of ["A", "AAAA"]) {
      const alias = byName(plan, "aws:route53/record:Record", `route53-apex-alias-${type.toLowerCase()}`);
      const target = byName(plan, "aws:route53/record:Record", `route53-origin-${type.toLowerCase()}`);
      expect(alias.inputs).toMatchObject({ name: "meridian.example.com", type, aliases: [{ name: "origin.meridian.example.com", zoneId: target.inputs["zoneId"], evaluateTargetHealth: false }] });
      expect(alias.inputs["ttl"]).toBeUndefined();
      expect(alias.dependencies).toContain(target.urn);
      // Azure DNS: an alias record set of the same type pointing at the target record set.
      const azure = byName(plan, "azure-native:dns:RecordSet", `azuredns-apex-alias-${type.toLowerCase()}`);
      expect(azure.inputs).toMatchObject({ relativeRecordSetName: "@", recordType: type, targetResource: { id: `azuredns-origin-${type.toLowerCase()}-id` } });
    }
    expect(byName(plan, "gcp:dns/recordSet:RecordSet", "clouddns-apex-alias").inputs).toMatchObject({ name: "meridian.example.com.", type: "ALIAS", rrdatas: ["origin.meridian.example.com."] });
    expect(byName(plan, "cloudflare:index/dnsRecord:DnsRecord", "cloudflare-apex-alias-0").inputs).toMatchObject({
      name: "meridian.example.com",
      type: "CNAME",
      content: "origin.meridian.example.com",
      proxied: false,
    });
    // Nothing answers the apex with a CNAME where a CNAME cannot be (Route 53, Azure DNS).
    expect(ofType(plan, "aws:route53/record:Record").filter((r) => r.inputs["name"] === "meridian.example.com" && r.inputs["type"] === "CNAME")).toEqual([]);
  });

  it("an outside target is refused for Route 53 and Azure DNS, naming them; Cloud DNS and Cloudflare alone serve it", async () => {
    const alias = { name: "@", type: "ALIAS", values: ["shop.cdn-host.example"] };
    await expect(planWithDns({ records: [...records, alias] })).rejects.toThrow(
      /route53 \(providers\.primary\) aliases only A\/AAAA record sets of its own zone .*, so "@" ALIAS shop\.cdn-host\.example cannot be in this hierarchy[\s\S]*trafficmanager \(providers\.standbys\.0\) aliases only/,
    );
    const plan = await planWithDns({ providers: { primary: "clouddns", secondary: "cloudflare" }, records: [...records, alias] });
    expect(byName(plan, "gcp:dns/recordSet:RecordSet", "clouddns-apex-alias").inputs["rrdatas"]).toEqual(["shop.cdn-host.example."]);
  });

  it("refuses an ALIAS below the apex, beside apex A records, and in a signed Cloud DNS zone", async () => {
    await expect(planWithDns({ records: [{ name: "www2", type: "ALIAS", values: ["origin.meridian.example.com"] }] })).rejects.toThrow(/an ALIAS record is at the apex \(@\); below it use a CNAME/);
    await expect(
      planWithDns({
        providers: { primary: "cloudflare" },
        records: [
          { name: "@", type: "A", values: ["192.0.2.1"] },
          { name: "@", type: "ALIAS", values: ["x.example"] },
        ],
      }),
    ).rejects.toThrow(/an ALIAS answers the apex's A and AAAA queries: the apex cannot also have A or AAAA records/);
    await expect(planWithDns({ providers: { primary: "clouddns" }, dnssec: { signing: true }, records: [{ name: "@", type: "ALIAS", values: ["x.example"] }] })).rejects.toThrow(
      /clouddns \(providers\.primary\): ALIAS records are not compatible with DNSSEC/,
    );
  });
});
