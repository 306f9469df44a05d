/**
 * A provider's own export of a zone as zone records: Route 53's `aws route53 list-resource-record-sets --output
 * json` (`{ "ResourceRecordSets": [{ Name, Type, TTL, ResourceRecords: [{ Value }] }] }`, names with `\052`-style
 * octal escapes) and Cloud DNS's `gcloud dns record-sets list --format=json` (`[{ name, type, ttl, rrdatas }]`).
 * Values are presentation format with absolute names, read by the same rdata rules as a master file. A Route 53
 * apex alias to an A/AAAA record set of the zone is the stack's ALIAS; other aliases (AWS resources) and routed
 * records (the GSLB host is Meridian's own) have no stack form, so they are refused by name rather than dropped.
 */
import { canonicalRdata, isRecordType, tokenize, type RecordType } from "./rdata.js";
import { ZoneInputError, type ZoneFile, type ZoneFileRecord } from "./zonefile.js";

interface RawSet {
  name: string;
  type: string;
  ttl: unknown;
  values: unknown[];
  where: string;
  /** Route 53 alias target (DNSName), for an alias record. */
  alias?: string;
}

/** Route 53 escapes characters outside letters, digits, '-' and '_' in names as `\ooo` (octal). */
const unescapeRoute53 = (name: string) => name.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
const absolute = (name: string) => (name.endsWith(".") ? name : `${name}.`).toLowerCase();

const ROUTING_KEYS = ["SetIdentifier", "Weight", "Region", "GeoLocation", "GeoProximityLocation", "Failover", "MultiValueAnswer", "CidrRoutingConfig", "HealthCheckId"];

function route53Sets(doc: Record<string, unknown>, source: string): RawSet[] {
  const sets = doc["ResourceRecordSets"];
  if (!Array.isArray(sets)) throw new ZoneInputError(`${source}: ResourceRecordSets is not a list`);
  return sets.map((raw, i) => {
    const s = (raw ?? {}) as Record<string, unknown>;
    const name = absolute(unescapeRoute53(String(s["Name"] ?? "")));
    const where = `${source}: ResourceRecordSets[${i}] ${name} ${String(s["Type"])}`;
    const routed = ROUTING_KEYS.filter((k) => s[k] !== undefined);
    if (routed.length > 0) throw new ZoneInputError(`${where}: a routed record (${routed.join(", ")}) is not static data; the GSLB host is the traffic policy's`);
    const values = Array.isArray(s["ResourceRecords"]) ? (s["ResourceRecords"] as { Value?: unknown }[]).map((r) => r.Value) : [];
    const alias = s["AliasTarget"] === undefined ? undefined : absolute(unescapeRoute53(String((s["AliasTarget"] as { DNSName?: string }).DNSName ?? "?")));
    return { name, type: String(s["Type"] ?? ""), ttl: s["TTL"], values, where, ...(alias ? { alias } : {}) };
  });
}

function cloudDnsSets(doc: unknown[], source: string): RawSet[] {
  return doc.map((raw, i) => {
    const s = (raw ?? {}) as Record<string, unknown>;
    const name = absolute(String(s["name"] ?? ""));
    const where = `${source}: [${i}] ${name} ${String(s["type"])}`;
    if (s["routingPolicy"] !== undefined) throw new ZoneInputError(`${where}: a routed record set (routingPolicy) is not static data; the GSLB host is the traffic policy's`);
    return { name, type: String(s["type"] ?? ""), ttl: s["ttl"], values: Array.isArray(s["rrdatas"]) ? (s["rrdatas"] as unknown[]) : [], where };
  });
}

/** The zone in a provider export; the origin is `origin`, else the export's SOA owner. */
export function providerExportZone(doc: unknown, origin: string | undefined, source: string): ZoneFile {
  let sets: RawSet[];
  if (doc !== null && typeof doc === "object" && !Array.isArray(doc) && "ResourceRecordSets" in doc) sets = route53Sets(doc as Record<string, unknown>, source);
  else if (Array.isArray(doc)) sets = cloudDnsSets(doc, source);
  else throw new ZoneInputError(`${source}: not a provider export (expected Route 53's {"ResourceRecordSets": […]} or Cloud DNS's [{name, type, ttl, rrdatas}])`);
  const zone = origin !== undefined ? absolute(origin) : sets.find((s) => s.type === "SOA")?.name;
  if (zone === undefined) throw new ZoneInputError(`${source}: no SOA record names the zone; give --origin`);
  const records: ZoneFileRecord[] = [];
  for (const s of sets) {
    if (s.alias !== undefined) {
      // An apex alias to an address record set of the zone is the stack's ALIAS (one for its A and AAAA pair).
      if (s.name !== zone || !s.alias.endsWith(`.${zone}`) || !["A", "AAAA"].includes(s.type.toUpperCase())) {
        throw new ZoneInputError(`${s.where}: a Route 53 alias to ${s.alias} has no stack form (a stack aliases only at the apex, to an A/AAAA record set of the zone)`);
      }
      if (!records.some((r) => r.type === "ALIAS" && r.name === zone)) records.push({ line: 0, name: zone, ttl: 3600, type: "ALIAS", rdata: s.alias });
      continue;
    }
    const type = s.type.toUpperCase();
    if (type !== "SOA" && !isRecordType(type)) throw new ZoneInputError(`${s.where}: record type ${s.type} is not supported`);
    const ttl = Number(s.ttl);
    if (!Number.isInteger(ttl) || ttl < 0) throw new ZoneInputError(`${s.where}: TTL ${JSON.stringify(s.ttl)} is not a whole number of seconds`);
    if (s.values.length === 0) throw new ZoneInputError(`${s.where}: no values`);
    for (const v of s.values) {
      if (typeof v !== "string") throw new ZoneInputError(`${s.where}: value ${JSON.stringify(v)} is not a string`);
      if (type === "SOA") {
        records.push({ line: 0, name: s.name, ttl, type, rdata: v });
        continue;
      }
      // Exports write names fully qualified (Route 53: "the trailing dot is optional").
      let data: ReturnType<typeof canonicalRdata>;
      try {
        data = canonicalRdata(type as RecordType, tokenize(v), null);
      } catch (err) {
        throw new ZoneInputError(`${s.where}: ${(err as Error).message}`);
      }
      if ("problem" in data) throw new ZoneInputError(`${s.where}: ${data.problem}`);
      records.push({ line: 0, name: s.name, ttl, type: type as RecordType, rdata: data.rdata });
    }
  }
  return { origin: zone, records };
}
