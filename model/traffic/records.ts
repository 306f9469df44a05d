/**
 * The zone's record set as every provider in the hierarchy serves it: the static records of the spec,
 * resolved to fully qualified names and parsed into the parts providers spell differently (MX preference
 * and exchange, CAA flags/tag/value, quoted TXT). Providers render from these; none parses the spec.
 */
import type { StaticRecord } from "../config/traffic.js";
import { configRdata, tokenize } from "./rdata.js";

export interface ZoneRecord {
  /** Relative name as written (`www`, `@`). */
  name: string;
  fqdn: string;
  type: StaticRecord["type"];
  ttlSeconds: number;
  values: string[];
  mx: { preference: number; exchange: string }[];
  caa: { flags: number; tag: string; value: string }[];
  /** Each value as canonical zone-file rdata (./rdata.ts): absolute names with the dot, hex joined. */
  rdata: string[];
}

/** The numeric and text fields of a canonical rdata, for providers that take structured records. */
export function rdataFields(rdata: string): string[] {
  return tokenize(rdata).map((t) => t.text);
}

function recordFqdn(apex: string, name: string): string {
  return name === "@" ? apex : `${name}.${apex}`;
}

/** A stable resource-name slug for a record: `www-cname`, `apex-txt`. */
export function recordSlug(record: Pick<ZoneRecord, "name" | "type">): string {
  const name = record.name === "@" ? "apex" : record.name.replace(/[^a-z0-9-]/g, "-");
  return `${name}-${record.type.toLowerCase()}`;
}

export function zoneRecords(apex: string, records: readonly StaticRecord[], defaultTtl: number): ZoneRecord[] {
  return records.map((r) => ({
    name: r.name,
    fqdn: recordFqdn(apex, r.name),
    type: r.type,
    ttlSeconds: r.ttlSeconds ?? defaultTtl,
    values: r.values,
    mx: r.type === "MX" ? r.values.map(parseMx) : [],
    caa: r.type === "CAA" ? r.values.map(parseCaa) : [],
    rdata: r.values.map((v) => {
      const parsed = configRdata(r.type, v);
      if ("problem" in parsed) throw new Error(parsed.problem);
      return parsed.rdata;
    }),
  }));
}

function parseMx(value: string): { preference: number; exchange: string } {
  const m = /^(\d+)\s+(\S+)$/.exec(value);
  if (!m) throw new Error(`MX value "${value}": expected "<preference> <exchange>"`);
  return { preference: Number(m[1]), exchange: m[2]!.replace(/\.$/, "") };
}

function parseCaa(value: string): { flags: number; tag: string; value: string } {
  const m = /^(\d+)\s+(issue|issuewild|iodef)\s+"?([^"]*)"?$/.exec(value);
  if (!m) throw new Error(`CAA value "${value}": expected '<flags> issue|issuewild|iodef "<value>"'`);
  return { flags: Number(m[1]), tag: m[2]!, value: m[3]! };
}

/** Zone-file spelling (Cloud DNS rrdatas): absolute names end in a dot, TXT strings are quoted. */
export function zoneFileValues(record: ZoneRecord): string[] {
  switch (record.type) {
    case "CNAME":
      return record.values.map((v) => (v.endsWith(".") ? v : `${v}.`));
    case "MX":
      return record.mx.map((m) => `${m.preference} ${m.exchange}.`);
    case "TXT":
      return record.values.map((v) => (v.startsWith('"') ? v : `"${v.replace(/"/g, '\\"')}"`));
    case "CAA":
      return record.caa.map((c) => `${c.flags} ${c.tag} "${c.value}"`);
    case "A":
    case "AAAA":
      return record.values;
    default:
      return record.rdata;
  }
}
