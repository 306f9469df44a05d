/**
 * Import → render → export on the providers themselves: the vendored zone is imported, rendered under
 * mocks on every provider of the hierarchy, and each provider's rendered record resources are read back
 * into (name, type, ttl, rdata) — the set must be the zone's (less the apex SOA/NS, the providers' own).
 * Azure DNS lacks SSHFP, HTTPS and SVCB, so it renders the zone without them and is refused with them.
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../../cli.js";
import { ofType, type Plan } from "../../harness.js";
import { configRdata, type RecordType } from "../../../model/traffic/rdata.js";
import { importZone, recordSet } from "../../../model/traffic/zone-sync.js";
import { parseZoneFile, type ZoneFileRecord } from "../../../model/traffic/zonefile.js";
import { planWithDns } from "./plans.js";

const APEX = "shop.example.net";
const zone = parseZoneFile(readFileSync(join(REPO_ROOT, "test/testdata/dns/shop.example.net.zone"), "utf8"), { source: "shop.example.net.zone" });
const served = zone.records.filter((r) => !(r.name === zone.origin && (r.type === "SOA" || r.type === "NS")));
const { records } = importZone(zone, "shop.example.net.zone");
const AZURE_LACKS = ["SSHFP", "HTTPS", "SVCB"];

type Row = [name: string, type: string, ttl: number, value: string];

function rows(list: Row[]): string[] {
  return recordSet(
    list.map(([name, type, ttl, value]): ZoneFileRecord => {
      const data = configRdata(type as RecordType, value);
      if ("problem" in data) throw new Error(`${name} ${type}: ${data.problem}`);
      return { line: 0, name: `${name.replace(/\.$/, "")}.`, ttl, type: type as RecordType, rdata: data.rdata };
    }),
  );
}

const host = (name: string) => /(^|\.)(api|gslb)\./.test(name);
type Inputs = Record<string, unknown>;
const num = (x: unknown) => String(x as number);

/** The hierarchy's apex NS set (every provider's nameservers; test/components/dns/apex-ns.test.ts), not zone data. */
const apexNs = (i: Inputs) => i["type"] === "NS" && String(i["name"]).replace(/\.$/, "") === APEX.replace(/\.$/, "");

/** Each provider's record resources, read back as zone rows (the GSLB host left out). */
const readBack: Record<string, (plan: Plan) => string[]> = {
  route53: (plan) =>
    rows(
      ofType(plan, "aws:route53/record:Record")
        .map((r) => r.inputs)
        .filter((i) => !host(String(i["name"])) && !apexNs(i))
        .flatMap((i) => (i["records"] as string[]).map((v): Row => [String(i["name"]), String(i["type"]), i["ttl"] as number, v])),
    ),
  clouddns: (plan) =>
    rows(
      ofType(plan, "gcp:dns/recordSet:RecordSet")
        .map((r) => r.inputs)
        .filter((i) => !host(String(i["name"])) && !apexNs(i))
        .flatMap((i) => (i["rrdatas"] as string[]).map((v): Row => [String(i["name"]), String(i["type"]), i["ttl"] as number, v])),
    ),
  cloudflare: (plan) =>
    rows(
      ofType(plan, "cloudflare:index/dnsRecord:DnsRecord")
        .map((r) => r.inputs)
        .filter((i) => !host(String(i["name"])) && !apexNs(i))
        .map((i): Row => {
          const d = (i["data"] ?? {}) as Inputs;
          const type = String(i["type"]);
          const value: Record<string, () => string> = {
            MX: () => `${num(i["priority"])} ${String(i["content"])}`,
            CAA: () => `${num(d["flags"])} ${String(d["tag"])} "${String(d["value"])}"`,
            SRV: () => `${num(d["priority"])} ${num(d["weight"])} ${num(d["port"])} ${String(d["target"])}`,
            TLSA: () => `${num(d["usage"])} ${num(d["selector"])} ${num(d["matchingType"])} ${String(d["certificate"])}`,
            SSHFP: () => `${num(d["algorithm"])} ${num(d["type"])} ${String(d["fingerprint"])}`,
            DS: () => `${num(d["keyTag"])} ${num(d["algorithm"])} ${num(d["digestType"])} ${String(d["digest"])}`,
            HTTPS: () => `${num(d["priority"])} ${String(d["target"])} ${String(d["value"])}`,
            SVCB: () => `${num(d["priority"])} ${String(d["target"])} ${String(d["value"])}`,
          };
          return [String(i["name"]), type, i["ttl"] as number, value[type]?.() ?? String(i["content"])];
        }),
    ),
  trafficmanager: (plan) =>
    rows(
      ofType(plan, "azure-native:dns:RecordSet")
        .map((r) => r.inputs)
        .filter((i) => i["relativeRecordSetName"] !== "api" && !(i["relativeRecordSetName"] === "@" && i["recordType"] === "NS"))
        .flatMap((i) => {
          const rel = String(i["relativeRecordSetName"]);
          const name = rel === "@" ? APEX : `${rel}.${APEX}`;
          const type = String(i["recordType"]);
          const list = <T>(key: string) => (i[key] ?? []) as T[];
          const values: string[] = {
            A: () => list<Inputs>("aRecords").map((r) => String(r["ipv4Address"])),
            AAAA: () => list<Inputs>("aaaaRecords").map((r) => String(r["ipv6Address"])),
            CNAME: () => [String((i["cnameRecord"] as Inputs)["cname"])],
            TXT: () => list<Inputs>("txtRecords").map((r) => (r["value"] as string[]).join("")),
            MX: () => list<Inputs>("mxRecords").map((r) => `${num(r["preference"])} ${String(r["exchange"])}`),
            CAA: () => list<Inputs>("caaRecords").map((r) => `${num(r["flags"])} ${String(r["tag"])} "${String(r["value"])}"`),
            NS: () => list<Inputs>("nsRecords").map((r) => String(r["nsdname"])),
            PTR: () => list<Inputs>("ptrRecords").map((r) => String(r["ptrdname"])),
            SRV: () => list<Inputs>("srvRecords").map((r) => `${num(r["priority"])} ${num(r["weight"])} ${num(r["port"])} ${String(r["target"])}`),
            TLSA: () => list<Inputs>("tlsaRecords").map((r) => `${num(r["usage"])} ${num(r["selector"])} ${num(r["matchingType"])} ${String(r["certAssociationData"])}`),
            DS: () => list<Inputs>("dsRecords").map((r) => `${num(r["keyTag"])} ${num(r["algorithm"])} ${num((r["digest"] as Inputs)["algorithmType"])} ${String((r["digest"] as Inputs)["value"])}`),
          }[type]!();
          return values.map((v): Row => [name, type, i["ttl"] as number, v]);
        }),
    ),
};

describe("an imported zone renders on every provider and reads back equal", () => {
  it("Route 53, Cloud DNS and Cloudflare serve every record set of the zone", async () => {
    const plan = await planWithDns({ apex: APEX, records, providers: { primary: "route53", secondary: "clouddns", tertiary: "cloudflare" } });
    for (const provider of ["route53", "clouddns", "cloudflare"]) expect(readBack[provider]!(plan), provider).toEqual(recordSet(served));
  }, 300_000);

  it("Azure DNS serves every record set of a type it has", async () => {
    const plan = await planWithDns({ apex: APEX, records: records.filter((r) => !AZURE_LACKS.includes(r.type)), providers: { primary: "route53", standbys: ["trafficmanager"] } });
    expect(readBack["trafficmanager"]!(plan)).toEqual(recordSet(served.filter((r) => !AZURE_LACKS.includes(r.type))));
  }, 300_000);
});
