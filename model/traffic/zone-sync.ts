/**
 * Zones as data, the octoDNS way: an existing zone (master file or octoDNS YAML) becomes the stack's
 * static records; a stack's records become the zone a provider serves; two record sets compare as sets
 * of (name, type, ttl, rdata) in canonical form, grouped into RRsets for a plan of adds, changes and
 * deletes. The apex SOA and NS are the provider's own (each provider's zone publishes its name servers)
 * and the GSLB host is answered by the traffic policy, so neither is imported, exported as data or diffed.
 */
import { staticRecordSchema, type StaticRecord } from "../config/traffic.js";
import { canonicalRdata, configRdata, configValue, isRecordType, tokenize, type RecordType } from "./rdata.js";
import type { ZoneRecord } from "./records.js";
import { ZoneFileError, ZoneInputError, type ZoneFile, type ZoneFileRecord } from "./zonefile.js";

export interface ImportResult {
  origin: string;
  records: StaticRecord[];
  /** What was left out or adjusted, one line each (apex SOA/NS, RRset TTLs evened out). */
  notes: string[];
}

const relativeName = (name: string, origin: string) => (name === origin ? "@" : name.slice(0, -(origin.length + 1)));

/** A zone's records as stack config records, one per RRset, in the order the file first names them. */
export function importZone(zone: ZoneFile, source: string): ImportResult {
  const { origin } = zone;
  const notes: string[] = [];
  const sets = new Map<string, { first: ZoneFileRecord; ttl: number; values: string[] }>();
  for (const r of zone.records) {
    if (r.name !== origin && !r.name.endsWith(`.${origin}`)) throw new ZoneFileError(source, r.line, `${r.name} is outside the zone ${origin}`);
    if (r.name === origin && (r.type === "SOA" || r.type === "NS")) {
      if (!notes.some((n) => n.startsWith(`apex ${r.type}`))) notes.push(`apex ${r.type} not imported: every provider's zone publishes its own`);
      continue;
    }
    const key = `${r.name} ${r.type}`;
    const set = sets.get(key) ?? { first: r, ttl: r.ttl, values: [] };
    if (r.ttl !== set.ttl) {
      notes.push(`${key}: TTLs ${set.ttl} and ${r.ttl} in one RRset (line ${r.line}); using ${Math.min(set.ttl, r.ttl)} (RFC 2181 §5.2)`);
      set.ttl = Math.min(set.ttl, r.ttl);
    }
    const value = configValue(r.type as RecordType, r.rdata);
    if (!set.values.includes(value)) set.values.push(value);
    sets.set(key, set);
  }
  const records = [...sets.values()].map(({ first, ttl, values }) => {
    const candidate = { name: relativeName(first.name, origin), type: first.type, ttlSeconds: ttl, values };
    const parsed = staticRecordSchema.safeParse(candidate);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new ZoneFileError(source, first.line, `${first.name} ${first.type} cannot be a stack record: ${issue.path.join(".") || "record"}: ${issue.message}`);
    }
    return parsed.data;
  });
  return { origin, records, notes };
}

/** octoDNS's per-type value objects, in presentation order (octoDNS record docs, SVCB/HTTPS from octoDNS 1.5). */
const OCTODNS_FIELDS: Partial<Record<RecordType, string[][]>> = {
  MX: [
    ["preference", "priority"],
    ["exchange", "value"],
  ],
  SRV: [["priority"], ["weight"], ["port"], ["target"]],
  CAA: [["flags"], ["tag"], ["value"]],
  TLSA: [["certificate_usage"], ["selector"], ["matching_type"], ["certificate_association_data"]],
  SSHFP: [["algorithm"], ["fingerprint_type"], ["fingerprint"]],
  DS: [["key_tag"], ["algorithm"], ["digest_type"], ["digest"]],
  HTTPS: [["svcpriority"], ["targetname"]],
  SVCB: [["svcpriority"], ["targetname"]],
};

function octodnsRdata(type: RecordType, value: unknown, where: string): string {
  let text: string;
  if (typeof value === "string" || typeof value === "number") {
    // octoDNS escapes ';' in TXT values (\;); a TXT value is one character string.
    text = type === "TXT" ? `"${String(value).replace(/\\;/g, ";").replace(/"/g, '\\"')}"` : String(value);
  } else if (value !== null && typeof value === "object" && OCTODNS_FIELDS[type]) {
    const v = value as Record<string, unknown>;
    const parts = OCTODNS_FIELDS[type].map((names) => {
      const found = names.map((n) => v[n]).find((x) => x !== undefined);
      if (found === undefined) throw new ZoneInputError(`${where}: ${type} value needs ${names.join(" or ")}`);
      return type === "CAA" && names[0] === "value" ? `"${String(found)}"` : String(found);
    });
    const params = v["svcparams"];
    if (params !== undefined && params !== null && typeof params === "object") {
      for (const [k, p] of Object.entries(params as Record<string, unknown>)) parts.push(p === "" || p === null ? k : `${k}=${Array.isArray(p) ? p.join(",") : String(p)}`);
    }
    text = parts.join(" ");
  } else throw new ZoneInputError(`${where}: unexpected ${type} value ${JSON.stringify(value)}`);
  const data = canonicalRdata(type, tokenize(text), null);
  if ("problem" in data) throw new ZoneInputError(`${where}: ${data.problem}`);
  return data.rdata;
}

/** An octoDNS zone config (the YamlProvider's `<zone>.yaml`: name → record or list of records) as zone records. */
export function octodnsZone(doc: unknown, origin: string, source: string): ZoneFile {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) throw new ZoneInputError(`${source}: expected a map of record names (octoDNS YamlProvider zone file)`);
  const records: ZoneFileRecord[] = [];
  for (const [name, entry] of Object.entries(doc as Record<string, unknown>)) {
    const fqdn = name === "" ? origin : `${name.toLowerCase()}.${origin}`;
    for (const [k, rec] of (Array.isArray(entry) ? entry : [entry]).entries()) {
      const where = `${source}: '${name}'${Array.isArray(entry) ? `[${k}]` : ""}`;
      const r = rec as { type?: unknown; ttl?: unknown; value?: unknown; values?: unknown };
      const type = String(r.type ?? "").toUpperCase();
      if (!isRecordType(type)) throw new ZoneInputError(`${where}: record type ${String(r.type)} is not supported`);
      const ttl = r.ttl === undefined ? 3600 : Number(r.ttl);
      const values = Array.isArray(r.values) ? (r.values as unknown[]) : r.value !== undefined ? [r.value] : [];
      if (values.length === 0) throw new ZoneInputError(`${where}: no value or values`);
      for (const v of values) records.push({ line: 0, name: fqdn, ttl, type, rdata: octodnsRdata(type, v, where) });
    }
  }
  return { origin, records };
}

/** A stack's static records as the zone records every provider serves (canonical rdata). */
export function stackZoneRecords(records: readonly ZoneRecord[]): ZoneFileRecord[] {
  return records.flatMap((r) =>
    r.values.map((v) => {
      const data = configRdata(r.type, v);
      if ("problem" in data) throw new Error(data.problem);
      return { line: 0, name: `${r.fqdn}.`, ttl: r.ttlSeconds, type: r.type, rdata: data.rdata };
    }),
  );
}

/** The set view of a record list: `name type ttl rdata` lines, sorted and deduplicated. */
export function recordSet(records: readonly ZoneFileRecord[]): string[] {
  return [...new Set(records.map((r) => `${r.name} ${r.type} ${r.ttl} ${r.rdata}`))].sort();
}

export interface RRsetChange {
  kind: "add" | "change" | "delete";
  name: string;
  type: string;
  before?: { ttl: number; rdata: string[] };
  after?: { ttl: number; rdata: string[] };
}

function rrsets(records: readonly ZoneFileRecord[]): Map<string, { name: string; type: string; ttl: number; rdata: string[] }> {
  const sets = new Map<string, { name: string; type: string; ttl: number; rdata: string[] }>();
  for (const r of records) {
    const key = `${r.name} ${r.type}`;
    const set = sets.get(key) ?? { name: r.name, type: r.type, ttl: r.ttl, rdata: [] };
    set.ttl = Math.min(set.ttl, r.ttl);
    if (!set.rdata.includes(r.rdata)) set.rdata.push(r.rdata);
    sets.set(key, set);
  }
  for (const s of sets.values()) s.rdata.sort();
  return sets;
}

/** What applying `desired` over `current` does, per RRset (name and type), like octodns-sync's plan. */
export function diffRecords(current: readonly ZoneFileRecord[], desired: readonly ZoneFileRecord[]): RRsetChange[] {
  const before = rrsets(current);
  const after = rrsets(desired);
  const changes: RRsetChange[] = [];
  for (const [key, a] of after) {
    const b = before.get(key);
    const next = { ttl: a.ttl, rdata: a.rdata };
    if (b === undefined) changes.push({ kind: "add", name: a.name, type: a.type, after: next });
    else if (b.ttl !== a.ttl || b.rdata.join("\n") !== a.rdata.join("\n")) changes.push({ kind: "change", name: a.name, type: a.type, before: { ttl: b.ttl, rdata: b.rdata }, after: next });
  }
  for (const [key, b] of before) if (!after.has(key)) changes.push({ kind: "delete", name: b.name, type: b.type, before: { ttl: b.ttl, rdata: b.rdata } });
  return changes.sort((x, y) => `${x.name} ${x.type}`.localeCompare(`${y.name} ${y.type}`));
}

/** One line per change: `+ name ttl type rdata`, `~ name type ttl a -> b`, `- name ttl type rdata`. */
export function describeChange(c: RRsetChange): string[] {
  if (c.kind === "add") return c.after!.rdata.map((d) => `  + ${c.name} ${c.after!.ttl} ${c.type} ${d}`);
  if (c.kind === "delete") return c.before!.rdata.map((d) => `  - ${c.name} ${c.before!.ttl} ${c.type} ${d}`);
  const lines: string[] = [];
  if (c.before!.ttl !== c.after!.ttl) lines.push(`  ~ ${c.name} ${c.type} ttl ${c.before!.ttl} -> ${c.after!.ttl}`);
  for (const d of c.before!.rdata) if (!c.after!.rdata.includes(d)) lines.push(`  ~ ${c.name} ${c.type} - ${d}`);
  for (const d of c.after!.rdata) if (!c.before!.rdata.includes(d)) lines.push(`  ~ ${c.name} ${c.type} + ${d}`);
  return lines;
}
