/**
 * RFC 1035 §5 master files, read and written. Reading handles $ORIGIN, $TTL, relative names, `@`, a
 * blank owner (the previous one), TTL and class in either order, TTL units (1h, 2d), `( … )`
 * continuation over lines, `;` comments and quoted strings; every record's data is turned into the
 * canonical rdata of ./rdata.ts, and a mistake is an error naming the line. Only the record types a stack
 * can serve (and SOA) are accepted: anything else would be silently lost on import. Writing emits
 * absolute names, one record per line, in a stable order — what `named-checkzone` reads back.
 *
 * Why not an npm parser: `dns-zonefile` (the only maintained-looking one) has no HTTPS/SVCB, TLSA, SSHFP or
 * DS, no TTL units and no line numbers in its errors; `dns-packet` is wire format only.
 */
import { absoluteName, canonicalRdata, isRecordType, recordTypes, tokenize, type RecordType } from "./rdata.js";

export interface ZoneFileRecord {
  /** 1-based line the record starts on (0 for records not read from a file). */
  line: number;
  /** Absolute, lower-case, trailing dot. */
  name: string;
  ttl: number;
  type: RecordType | "SOA";
  rdata: string;
}

export interface ZoneFile {
  origin: string;
  records: ZoneFileRecord[];
}

/** Zone input the user must fix (a master file's line, an octoDNS value): the CLI prints it, exit 2. */
export class ZoneInputError extends Error {
  override name = "ZoneInputError";
}

export class ZoneFileError extends ZoneInputError {
  override name = "ZoneFileError";
  constructor(
    readonly source: string,
    readonly line: number,
    problem: string,
  ) {
    super(`${source}:${line}: ${problem}`);
  }
}

interface Entry {
  line: number;
  text: string;
  /** The entry's first line starts with white space: the owner is the previous record's. */
  inheritsOwner: boolean;
}

/** Physical lines → logical entries: comments dropped, `( … )` groups joined. */
function entries(text: string, source: string): Entry[] {
  const out: Entry[] = [];
  let current: Entry | undefined;
  let depth = 0;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    let body = "";
    let inQuote = false;
    for (let i = 0; i < raw.length; i++) {
      const c = raw[i]!;
      if (inQuote) {
        if (c === "\\" && i + 1 < raw.length) body += c + raw[++i];
        else {
          if (c === '"') inQuote = false;
          body += c;
        }
      } else if (c === ";") break;
      else if (c === '"') {
        inQuote = true;
        body += c;
      } else if (c === "(") {
        depth++;
        body += " ";
      } else if (c === ")") {
        if (--depth < 0) throw new ZoneFileError(source, line, "')' without a matching '('");
        body += " ";
      } else body += c;
    }
    if (inQuote) throw new ZoneFileError(source, line, "unterminated quoted string");
    if (current === undefined) current = { line, text: body, inheritsOwner: /^\s/.test(raw) };
    else current.text += ` ${body}`;
    if (depth === 0) {
      if (current.text.trim() !== "") out.push(current);
      current = undefined;
    }
  });
  if (depth > 0 && current !== undefined) throw new ZoneFileError(source, current.line, "'(' is never closed");
  return out;
}

const UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** A TTL: seconds, or BIND's units (1h30m). Undefined when the token is not a TTL. */
function ttlOf(token: string): number | undefined {
  if (/^\d+$/.test(token)) return Number(token);
  if (!/^(\d+[smhdw])+$/i.test(token)) return undefined;
  let total = 0;
  for (const [, n, u] of token.matchAll(/(\d+)([smhdw])/gi)) total += Number(n) * UNIT[u!.toLowerCase()]!;
  return total;
}

/** Parse a master file. `origin` (absolute or not) is the initial $ORIGIN; the file's own $ORIGIN overrides it. */
export function parseZoneFile(text: string, options: { origin?: string; source?: string } = {}): ZoneFile {
  const source = options.source ?? "zone";
  let origin = options.origin === undefined ? undefined : absoluteName(options.origin, null);
  let firstOrigin = origin;
  let defaultTtl: number | undefined;
  let lastTtl: number | undefined;
  let owner: string | undefined;
  const records: ZoneFileRecord[] = [];
  for (const entry of entries(text, source)) {
    const fail = (problem: string): never => {
      throw new ZoneFileError(source, entry.line, problem);
    };
    let tokens;
    try {
      tokens = tokenize(entry.text);
    } catch (err) {
      return fail((err as Error).message);
    }
    const words = tokens.map((t) => t.text);
    const directive = words[0]!.toUpperCase();
    if (!entry.inheritsOwner && directive.startsWith("$")) {
      if (directive === "$ORIGIN" && words[1] !== undefined) {
        origin = absoluteName(words[1], origin ?? null);
        firstOrigin ??= origin;
      } else if (directive === "$TTL" && words[1] !== undefined) defaultTtl = ttlOf(words[1]) ?? fail(`$TTL ${words[1]}: expected a TTL such as 3600 or 1h`);
      else fail(`${words[0]}: unsupported directive (expected $ORIGIN <name> or $TTL <ttl>; $INCLUDE and $GENERATE are not read)`);
      continue;
    }
    let i = 0;
    if (!entry.inheritsOwner) {
      const name = words[i++]!;
      if (origin === undefined && !name.endsWith(".")) fail(`relative name "${name}" with no $ORIGIN: add $ORIGIN or pass --origin`);
      owner = absoluteName(name, origin ?? null);
    } else if (owner === undefined) fail("the first record has no owner name");
    let ttl: number | undefined;
    for (let k = 0; k < 2 && i < words.length; k++) {
      const word = words[i]!;
      const asTtl = tokens[i]!.quoted ? undefined : ttlOf(word);
      if (asTtl !== undefined && ttl === undefined) {
        ttl = asTtl;
        i++;
      } else if (/^(IN|CH|HS|CS)$/i.test(word)) {
        if (word.toUpperCase() !== "IN") fail(`class ${word}: only IN is served`);
        i++;
      }
    }
    const typeWord = words[i++];
    if (typeWord === undefined) return fail("expected a record type after the owner, TTL and class");
    const type = typeWord.toUpperCase();
    const rest = tokens.slice(i);
    ttl ??= defaultTtl ?? lastTtl;
    if (ttl === undefined) return fail("no TTL: give one on the record or a $TTL line before it");
    if (ttl > 2147483647) fail(`TTL ${ttl}: at most 2147483647`);
    lastTtl = ttl;
    if (type === "SOA") {
      if (rest.length !== 7) fail(`SOA has ${rest.length} field(s); expected "<mname> <rname> <serial> <refresh> <retry> <expire> <minimum>"`);
      const [mname, rname, ...numbers] = rest.map((t) => t.text);
      records.push({
        line: entry.line,
        name: owner!,
        ttl,
        type: "SOA",
        rdata: [absoluteName(mname!, origin ?? null), absoluteName(rname!, origin ?? null), ...numbers.map((n) => String(ttlOf(n) ?? fail(`SOA field ${n}: expected a number`)))].join(" "),
      });
      continue;
    }
    if (!isRecordType(type)) fail(`record type ${typeWord} is not supported (supported: ${recordTypes.join(", ")})`);
    const data = canonicalRdata(type as RecordType, rest, origin ?? null);
    if ("problem" in data) return fail(data.problem);
    records.push({ line: entry.line, name: owner!, ttl, type: type as RecordType, rdata: data.rdata });
  }
  const soa = records.find((r) => r.type === "SOA");
  const zoneOrigin = soa?.name ?? firstOrigin;
  if (zoneOrigin === undefined) throw new ZoneFileError(source, 1, "no origin: the file has no SOA or $ORIGIN; pass --origin");
  return { origin: zoneOrigin, records };
}

/** Sort key: the apex first, then names by their labels right to left (DNSSEC canonical-ish order), then type. */
function order(a: ZoneFileRecord, b: ZoneFileRecord): number {
  const labels = (n: string) => n.split(".").reverse().join(".");
  const rank = (r: ZoneFileRecord) => (r.type === "SOA" ? 0 : r.type === "NS" ? 1 : 2);
  return labels(a.name).localeCompare(labels(b.name)) || rank(a) - rank(b) || a.type.localeCompare(b.type) || a.rdata.localeCompare(b.rdata);
}

/** A master file of `records`, absolute names throughout. */
export function formatZoneFile(origin: string, records: readonly ZoneFileRecord[], header: readonly string[] = []): string {
  const lines = [...header.map((h) => `; ${h}`), `$ORIGIN ${origin}`];
  for (const r of [...records].sort(order)) lines.push(`${r.name}\t${r.ttl}\tIN\t${r.type}\t${r.rdata}`);
  return `${lines.join("\n")}\n`;
}
