/**
 * Record data in master-file presentation form (RFC 1035 §5.1 and each type's RFC): the record types a
 * stack may serve, which fields of each are domain names, and one canonical spelling — names absolute
 * and lower-case with a trailing dot, hex fields joined and lower-case, TXT as quoted strings — so a
 * zone file, stack config and an export compare as sets of (name, type, ttl, rdata).
 */

/** ALIAS (ANAME, CNAME flattening) is not a wire type: the apex answers A/AAAA queries with its target's addresses. */
export const recordTypes = ["A", "AAAA", "CNAME", "TXT", "MX", "CAA", "SRV", "NS", "PTR", "TLSA", "SSHFP", "HTTPS", "SVCB", "DS", "ALIAS"] as const;
export type RecordType = (typeof recordTypes)[number];

interface TypeShape {
  /** Field count; `rest` types take at least this many (SVCB params, TXT strings). */
  fields: number;
  rest?: true;
  /** Index of the domain-name field, if any. */
  name?: number;
  /** Fields from this index on are one hex string that may be split by white space (RFC 4034 §5.3). */
  hexFrom?: number;
  /** Indices of fields that are unsigned integers. */
  numbers?: readonly number[];
  expected: string;
}

export const RDATA_SHAPES: Record<RecordType, TypeShape> = {
  A: { fields: 1, expected: "an IPv4 address" },
  AAAA: { fields: 1, expected: "an IPv6 address" },
  CNAME: { fields: 1, name: 0, expected: "a domain name" },
  NS: { fields: 1, name: 0, expected: "a name server's domain name" },
  PTR: { fields: 1, name: 0, expected: "a domain name" },
  TXT: { fields: 1, rest: true, expected: "one or more character strings" },
  MX: { fields: 2, name: 1, numbers: [0], expected: '"<preference> <exchange>"' },
  CAA: { fields: 3, numbers: [0], expected: "'<flags> issue|issuewild|iodef \"<value>\"'" },
  SRV: { fields: 4, name: 3, numbers: [0, 1, 2], expected: '"<priority> <weight> <port> <target>"' },
  TLSA: { fields: 4, hexFrom: 3, numbers: [0, 1, 2], expected: '"<usage> <selector> <matching type> <hex data>"' },
  SSHFP: { fields: 3, hexFrom: 2, numbers: [0, 1], expected: '"<algorithm> <fingerprint type> <hex fingerprint>"' },
  DS: { fields: 4, hexFrom: 3, numbers: [0, 1, 2], expected: '"<key tag> <algorithm> <digest type> <hex digest>"' },
  HTTPS: { fields: 2, rest: true, name: 1, numbers: [0], expected: '"<priority> <target> [key=value ...]"' },
  SVCB: { fields: 2, rest: true, name: 1, numbers: [0], expected: '"<priority> <target> [key=value ...]"' },
  ALIAS: { fields: 1, name: 0, expected: "the target's domain name" },
};

export function isRecordType(type: string): type is RecordType {
  return (recordTypes as readonly string[]).includes(type);
}

/** A presentation-form token: `quoted` keeps a character string's quotes apart from a bare word. */
export interface Token {
  text: string;
  quoted: boolean;
}

/** Split record data into tokens: white space separates, "…" is one token (backslash escapes kept). */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"') {
      let j = i + 1;
      let body = "";
      while (j < text.length && text[j] !== '"') {
        if (text[j] === "\\" && j + 1 < text.length) body += text[j++];
        body += text[j++];
      }
      if (j >= text.length) throw new Error(`unterminated quoted string ${text.slice(i)}`);
      tokens.push({ text: body, quoted: true });
      i = j + 1;
    } else {
      let j = i;
      let word = "";
      while (j < text.length && !/\s/.test(text[j]!)) {
        if (text[j] === '"') {
          // A quoted part inside a word (SvcParams: alpn="h2,h3"): quotes dropped unless it holds a space.
          const end = text.indexOf('"', j + 1);
          if (end < 0) throw new Error(`unterminated quoted string ${text.slice(j)}`);
          const part = text.slice(j + 1, end);
          word += /\s/.test(part) ? `"${part}"` : part;
          j = end + 1;
          continue;
        }
        if (text[j] === "\\" && j + 1 < text.length) word += text[j++];
        word += text[j++];
      }
      tokens.push({ text: word, quoted: false });
      i = j;
    }
  }
  return tokens;
}

/** A domain name made absolute: relative to `origin` (zone files), or already absolute (config, `origin` null). */
export function absoluteName(name: string, origin: string | null): string {
  const lower = name.toLowerCase();
  if (lower === "@" && origin !== null) return origin;
  if (lower.endsWith(".")) return lower;
  return origin === null ? `${lower}.` : `${lower}.${origin === "." ? "" : origin}`;
}

const quote = (s: string) => `"${s}"`;

/**
 * The canonical rdata of one record, or a message saying what was expected. `origin` resolves relative
 * names (zone files); null means names are absolute with or without the trailing dot (stack config).
 */
export function canonicalRdata(type: RecordType, tokens: readonly Token[], origin: string | null): { rdata: string } | { problem: string } {
  const shape = RDATA_SHAPES[type];
  const bad = (why: string) => ({ problem: `${type} data "${tokens.map((t) => (t.quoted ? quote(t.text) : t.text)).join(" ")}": ${why}; expected ${shape.expected}` });
  if (type === "TXT") {
    // A bare word is a character string too (RFC 1035 §5.1); quote everything for one spelling.
    if (tokens.length === 0) return bad("no character string");
    return { rdata: tokens.map((t) => quote(t.text)).join(" ") };
  }
  let fields = tokens.map((t) => t.text);
  if (shape.hexFrom !== undefined && fields.length > shape.hexFrom) {
    fields = [...fields.slice(0, shape.hexFrom), fields.slice(shape.hexFrom).join("").toLowerCase()];
    if (!/^[0-9a-f]+$/.test(fields[shape.hexFrom]!)) return bad("the last field must be hexadecimal");
  }
  if (shape.rest ? fields.length < shape.fields : fields.length !== shape.fields) return bad(`${fields.length} field(s)`);
  for (const i of shape.numbers ?? []) if (!/^\d+$/.test(fields[i]!) || Number(fields[i]) > 65535) return bad(`field ${i + 1} must be an unsigned integer`);
  if (type === "A" && !isIpv4(fields[0]!)) return bad("not an IPv4 address");
  if (type === "AAAA" && !isIpv6(fields[0]!)) return bad("not an IPv6 address");
  if (type === "CAA") {
    if (!/^(issue|issuewild|iodef)$/i.test(fields[1]!)) return bad(`unknown tag ${fields[1]}`);
    return { rdata: `${Number(fields[0])} ${fields[1]!.toLowerCase()} ${quote(tokens[2]!.text)}` };
  }
  if (shape.name !== undefined) fields[shape.name] = fields[shape.name] === "." ? "." : absoluteName(fields[shape.name]!, origin);
  if (type === "AAAA") fields[0] = fields[0]!.toLowerCase();
  for (const i of shape.numbers ?? []) fields[i] = String(Number(fields[i]));
  if (type === "HTTPS" || type === "SVCB") {
    // SvcParams keep their order of appearance; keys are case-insensitive, values are not.
    const params = tokens.slice(2).map((t, k) => (t.quoted ? fields[k + 2]! : fields[k + 2]!.replace(/^[^=]+/, (key) => key.toLowerCase())));
    return { rdata: [...fields.slice(0, 2), ...params].join(" ") };
  }
  return { rdata: fields.join(" ") };
}

function isIpv4(text: string): boolean {
  const parts = text.split(".");
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

function isIpv6(text: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || (text.match(/::/g) ?? []).length > 1) return false;
  const groups = text.split(":");
  return groups.length >= 3 && groups.length <= 8 && groups.every((g) => g === "" || /^[0-9a-fA-F]{1,4}$/.test(g) || isIpv4(g));
}

/** The canonical rdata of a stack config value (names absolute, trailing dot optional). */
export function configRdata(type: RecordType, value: string): { rdata: string } | { problem: string } {
  try {
    // An unquoted TXT value is one character string as written, spaces and all (the config's convention).
    const tokens = type === "TXT" && !value.startsWith('"') ? [{ text: value.replace(/"/g, '\\"'), quoted: true }] : tokenize(value);
    return canonicalRdata(type, tokens, null);
  } catch (err) {
    return { problem: (err as Error).message };
  }
}

/** A canonical rdata as a stack config value: names without the trailing dot, a single plain TXT string unquoted. */
export function configValue(type: RecordType, rdata: string): string {
  const shape = RDATA_SHAPES[type];
  if (type === "TXT") {
    const strings = tokenize(rdata);
    const only = strings[0]!.text;
    return strings.length === 1 && !/["\\]/.test(only) && only.length > 0 ? only : rdata;
  }
  if (shape.name === undefined) return rdata;
  const tokens = tokenize(rdata).map((t) => (t.quoted ? quote(t.text) : t.text));
  const name = tokens[shape.name]!;
  if (name !== ".") tokens[shape.name] = name.replace(/\.$/, "");
  return tokens.join(" ");
}
