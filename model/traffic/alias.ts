/**
 * ALIAS at the apex (ANAME, CNAME flattening): the apex answers A/AAAA queries with its target's addresses. Each
 * provider does it its own way, and not for every target:
 * - Cloudflare flattens a CNAME at the apex to any name (https://developers.cloudflare.com/dns/cname-flattening/);
 * - Cloud DNS has an ALIAS record type at the apex to any name, not in a DNSSEC-signed zone
 *   (https://cloud.google.com/dns/docs/records-overview#alias-records);
 * - Route 53 aliases AWS resources and record sets of its own zone — not a CNAME at the apex
 *   (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resource-record-sets-choosing-alias-non-alias.html);
 * - Azure DNS alias record sets point at Azure resources or a record set of the same zone
 *   (https://learn.microsoft.com/azure/dns/dns-alias).
 * A stack's ALIAS target is a name, so Route 53 and Azure DNS serve it only when it is an A/AAAA record set of the
 * stack's own records; anything else is refused naming the provider. AWS and Azure resource targets are not modelled.
 */
import type { DnsProvider, TrafficConfig } from "../config/traffic.js";

type AliasSupport = "any name" | "in-zone address records" | "none";

interface AliasProblem {
  path: (string | number)[];
  input: unknown;
  message: string;
}

const ALIAS_SUPPORT: Record<DnsProvider, AliasSupport> = {
  cloudflare: "any name",
  clouddns: "any name",
  route53: "in-zone address records",
  trafficmanager: "in-zone address records",
  local: "none",
};

/** The relative name of `target` under `apex` (`@` for the apex), or undefined when it is outside the zone. */
function relativeTo(apex: string, target: string): string | undefined {
  const t = target.replace(/\.$/, "").toLowerCase();
  if (t === apex) return "@";
  return t.endsWith(`.${apex}`) ? t.slice(0, -(apex.length + 1)) : undefined;
}

/** The address types (A, AAAA) the stack serves at `name`: what an in-zone alias can point at. */
function addressTypesAt(records: TrafficConfig["records"], name: string): ("A" | "AAAA")[] {
  return records.filter((r) => r.name === name && (r.type === "A" || r.type === "AAAA")).map((r) => r.type as "A" | "AAAA");
}

export function aliasProblems(chain: readonly DnsProvider[], dns: Pick<TrafficConfig, "apex" | "records" | "dnssec">, where: (p: DnsProvider) => string): AliasProblem[] {
  const problems: AliasProblem[] = [];
  dns.records.forEach((record, i) => {
    if (record.type !== "ALIAS") return;
    const target = record.values[0]!;
    const at = relativeTo(dns.apex, target);
    if (addressTypesAt(dns.records, "@").length > 0) {
      problems.push({ path: ["records", i], input: target, message: "an ALIAS answers the apex's A and AAAA queries: the apex cannot also have A or AAAA records" });
    }
    for (const provider of chain) {
      const support = ALIAS_SUPPORT[provider];
      const inZone = at !== undefined && at !== "@" && addressTypesAt(dns.records, at).length > 0;
      if (support === "any name" || (support === "in-zone address records" && inZone)) continue;
      const why = support === "none" ? "serves no ALIAS records" : `aliases only A/AAAA record sets of its own zone (or its cloud's resources), and ${target} is not an A or AAAA record of this stack`;
      problems.push({ path: ["records", i, "values", 0], input: target, message: `${where(provider)} ${why}, so "@" ALIAS ${target} cannot be in this hierarchy` });
    }
    if (dns.dnssec.signing && chain.includes("clouddns")) {
      problems.push({ path: ["records", i, "type"], input: "ALIAS", message: `${where("clouddns")}: ALIAS records are not compatible with DNSSEC (a signed zone cannot hold one)` });
    }
  });
  return problems;
}
