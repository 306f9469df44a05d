/**
 * Authoritative DNS message handling for one zone (RFC 1035, 6891, 8482, 7871), pure: bytes in, bytes
 * out. It behaves as an authoritative server must: responses (QR=1) are ignored; opcodes other than
 * QUERY get NOTIMP; QDCOUNT≠1, undecodable messages and bad OPT records get FORMERR; EDNS versions above 0
 * get BADVERS; class other than IN, and names outside the zone, get REFUSED (we are not a resolver); the
 * apex answers its own SOA and NS; ANY gets RFC 8482's minimal HINFO. Everything else asks `answer` —
 * the GSLB's choice of records — where null means the name does not exist (NXDOMAIN) and [] that it has
 * no records of the type (NODATA); both carry the SOA for negative caching. A UDP reply larger than 512
 * bytes (or the client's EDNS size, at most ours) is truncated with TC=1 so the client retries over TCP.
 * The question is echoed byte for byte (clients match on it, and 0x20 case randomisation survives).
 */
import dnsPacket from "dns-packet";

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
/** Extended RCODE 16 (RFC 6891 §9): the upper 8 bits travel in the OPT record. */
const BADVERS_UPPER = 1;
const HEADER_BYTES = 12;
const QR = 0x8000;
const AA = 0x0400;
const TC = 0x0200;
const RD = 0x0100;
/** RFC 1035's limit without EDNS, and the payload we advertise with it (DNS flag day 2020). */
export const CLASSIC_UDP_BYTES = 512;
export const EDNS_UDP_BYTES = 1232;

export interface DnsQuestion {
  /** Lower case, without the trailing dot. */
  name: string;
  type: string;
}

export interface DnsClient {
  address: string;
  transport: "udp" | "tcp";
  /** The EDNS Client Subnet (RFC 7871) a resolver sent on the client's behalf. */
  subnet?: { address: string; prefixLength: number };
}

export type DnsRecord = { type: "A" | "AAAA" | "CNAME"; data: string; ttl: number; name?: string } | { type: "TXT"; data: string[]; ttl: number; name?: string };

/** The GSLB's answer for a name in the zone: records, [] (NODATA), or null (NXDOMAIN). */
export type DnsAnswerFn = (question: DnsQuestion, client: DnsClient) => DnsRecord[] | null;

export interface ZoneOptions {
  zone: string;
  answer: DnsAnswerFn;
  /** Name servers for the apex NS set (default `ns1.<zone>`), with optional glue addresses. */
  nameservers?: { name: string; addresses?: string[] }[];
  /** SOA serial (default 1) and negative-caching TTL (default 5 s). */
  serial?: number;
  negativeTtl?: number;
}

export interface Zone {
  apex: string;
  answer: DnsAnswerFn;
  nameservers: { name: string; addresses: string[] }[];
  soa: dnsPacket.Answer;
  negativeTtl: number;
}

export function zoneOf(o: ZoneOptions): Zone {
  const apex = normalise(o.zone);
  const negativeTtl = o.negativeTtl ?? 5;
  const nameservers = (o.nameservers ?? [{ name: `ns1.${apex}` }]).map((n) => ({ name: normalise(n.name), addresses: n.addresses ?? [] }));
  const soa: dnsPacket.Answer = {
    type: "SOA",
    name: apex,
    class: "IN",
    ttl: negativeTtl,
    data: { mname: nameservers[0]!.name, rname: `hostmaster.${apex}`, serial: o.serial ?? 1, refresh: 60, retry: 10, expire: 600, minimum: negativeTtl },
  };
  return { apex, answer: o.answer, nameservers, soa, negativeTtl };
}

const normalise = (name: string) => name.toLowerCase().replace(/\.$/, "");

/** Header-only reply, for messages we cannot (or must not) decode further. */
function bareReply(query: Buffer, rcode: number): Buffer {
  const b = Buffer.alloc(HEADER_BYTES);
  query.copy(b, 0, 0, 2);
  const flags = query.readUInt16BE(2);
  b.writeUInt16BE(QR | (flags & 0x7800) | (flags & RD) | rcode, 2);
  return b;
}

/** Length of the first question's bytes starting at offset 12, or -1 when it runs off the message. */
function rawQuestionLength(msg: Buffer): number {
  let o = HEADER_BYTES;
  while (o < msg.length) {
    const len = msg[o]!;
    if (len === 0) return o + 1 + 4 <= msg.length ? o + 1 + 4 - HEADER_BYTES : -1;
    if ((len & 0xc0) === 0xc0) return o + 2 + 4 <= msg.length ? o + 2 + 4 - HEADER_BYTES : -1;
    o += len + 1;
  }
  return -1;
}

export interface HandleOptions {
  client: DnsClient;
  /** Asked once per UDP message (RRL): "signal" answers a truncated reply (BIND's slip), "drop" nothing. */
  limit?: () => "answer" | "signal" | "drop";
}

/** The reply to one DNS message, or null when the message gets none. Never throws. */
export function handleMessage(zone: Zone, msg: Buffer, o: HandleOptions): Buffer | null {
  if (msg.length < HEADER_BYTES) return null;
  const flags = msg.readUInt16BE(2);
  if (flags & QR) return null; // a response: answering it could loop two servers forever
  // Rate limit every reply, errors included: a spoofed source must not get a reflector from us.
  const decision = o.limit?.() ?? "answer";
  if (decision === "drop") return null;
  if (decision === "signal") return truncated(msg, []);
  const opcode = (flags >> 11) & 0xf;
  const qdcount = msg.readUInt16BE(4);
  if (opcode !== 0) return withQuestion(bareReply(msg, RCODE.NOTIMP), msg, qdcount);
  if (qdcount !== 1) return bareReply(msg, RCODE.FORMERR);
  let query: dnsPacket.DecodedPacket;
  try {
    query = dnsPacket.decode(msg);
  } catch {
    return bareReply(msg, RCODE.FORMERR);
  }
  const opts = (query.additionals ?? []).filter((a) => a.type === "OPT") as dnsPacket.OptAnswer[];
  if (opts.length > 1 || opts.some((a) => a.name !== "." && a.name !== "")) return bareReply(msg, RCODE.FORMERR);
  const edns = opts[0];
  const limit = o.client.transport === "tcp" ? 65_535 : edns ? Math.min(EDNS_UDP_BYTES, Math.max(CLASSIC_UDP_BYTES, edns.udpPayloadSize)) : CLASSIC_UDP_BYTES;
  const ecs = edns?.options?.find((x) => x.code === 8) as { ip?: string; sourcePrefixLength?: number; family?: number } | undefined;
  const client: DnsClient = ecs?.ip !== undefined && (ecs.family === 1 || ecs.family === 2) ? { ...o.client, subnet: { address: ecs.ip, prefixLength: ecs.sourcePrefixLength ?? 0 } } : o.client;
  const opt = (extendedRcode = 0): dnsPacket.Answer[] =>
    edns
      ? [
          {
            type: "OPT",
            name: ".",
            udpPayloadSize: EDNS_UDP_BYTES,
            extendedRcode,
            ednsVersion: 0,
            flags: 0,
            // Echo the client subnet with its own prefix as scope: the answer is never reused beyond it.
            options: client.subnet
              ? [{ code: "CLIENT_SUBNET", family: ecs!.family, sourcePrefixLength: client.subnet.prefixLength, scopePrefixLength: client.subnet.prefixLength, ip: client.subnet.address }]
              : [],
          } as unknown as dnsPacket.Answer,
        ]
      : [];
  const question = query.questions![0]!;
  const head = { id: query.id ?? 0, type: "response" as const, questions: [question] };
  const rd = flags & RD;
  const reply = (rcode: number, answers: dnsPacket.Answer[] = [], authorities: dnsPacket.Answer[] = [], extendedRcode = 0, aa = true): Buffer =>
    finish(msg, encodeSafely({ ...head, flags: (aa ? AA : 0) | rd | rcode, answers, authorities, additionals: opt(extendedRcode) }), limit, opt(extendedRcode));
  if (edns && edns.ednsVersion > 0) return reply(0, [], [], BADVERS_UPPER, false);
  if (question.class !== "IN") return reply(RCODE.REFUSED, [], [], 0, false);
  const name = normalise(question.name);
  if (name !== zone.apex && !name.endsWith(`.${zone.apex}`)) return reply(RCODE.REFUSED, [], [], 0, false);

  const type = String(question.type).toUpperCase();
  if (type === "ANY") return reply(RCODE.NOERROR, [{ type: "HINFO", name: question.name, class: "IN", ttl: 3600, data: { cpu: "RFC8482", os: "" } }]);
  const negative = () => [zone.soa];
  if (name === zone.apex && (type === "SOA" || type === "NS")) {
    const answers = type === "SOA" ? [zone.soa] : zone.nameservers.map((n): dnsPacket.Answer => ({ type: "NS", name: zone.apex, class: "IN", ttl: 3600, data: n.name }));
    return reply(
      RCODE.NOERROR,
      answers.map((a) => ({ ...a, name: question.name })),
    );
  }
  const ns = zone.nameservers.find((n) => n.name === name);
  if (ns && ns.addresses.length > 0) {
    const glue = ns.addresses
      .filter((a) => (type === "AAAA") === a.includes(":"))
      .map((data): dnsPacket.Answer => ({ type: data.includes(":") ? "AAAA" : "A", name: question.name, class: "IN", ttl: 3600, data }));
    return reply(RCODE.NOERROR, glue, glue.length ? [] : negative());
  }
  let records: DnsRecord[] | null;
  try {
    records = zone.answer({ name, type }, client);
  } catch {
    return reply(RCODE.SERVFAIL, [], [], 0, false);
  }
  if (records === null) return reply(RCODE.NXDOMAIN, [], negative());
  const answers = records.filter((r) => r.type === type || r.type === "CNAME").map((r) => ({ type: r.type, name: r.name ?? question.name, class: "IN", ttl: r.ttl, data: r.data }) as dnsPacket.Answer);
  return reply(RCODE.NOERROR, answers, answers.length ? [] : negative());
}

function encodeSafely(packet: dnsPacket.Packet): Buffer | null {
  try {
    return dnsPacket.encode(packet);
  } catch {
    return null;
  }
}

/** Put the query's own question bytes into the reply, then truncate if it is over the transport's limit. */
function finish(query: Buffer, encoded: Buffer | null, limit: number, opt: dnsPacket.Answer[]): Buffer {
  if (encoded === null) return bareReply(query, RCODE.SERVFAIL);
  const qlen = rawQuestionLength(query);
  const ours = rawQuestionLength(encoded);
  const out = qlen > 0 && ours > 0 ? Buffer.concat([encoded.subarray(0, HEADER_BYTES), query.subarray(HEADER_BYTES, HEADER_BYTES + qlen), encoded.subarray(HEADER_BYTES + ours)]) : encoded;
  return out.length <= limit ? out : truncated(query, opt);
}

/** TC=1 with the question (and OPT) only: "retry over TCP". Never larger than a query with its OPT. */
function truncated(query: Buffer, opt: dnsPacket.Answer[]): Buffer {
  const qlen = query.readUInt16BE(4) === 1 ? rawQuestionLength(query) : -1;
  const head = bareReply(query, RCODE.NOERROR);
  head.writeUInt16BE(head.readUInt16BE(2) | AA | TC, 2);
  if (qlen <= 0) return head;
  head.writeUInt16BE(1, 4);
  const optBytes = opt.length ? dnsPacket.encode({ type: "response", id: 0, additionals: opt }).subarray(HEADER_BYTES) : Buffer.alloc(0);
  head.writeUInt16BE(opt.length, 10);
  return Buffer.concat([head, query.subarray(HEADER_BYTES, HEADER_BYTES + qlen), optBytes]);
}

function withQuestion(reply: Buffer, query: Buffer, qdcount: number): Buffer {
  const qlen = qdcount === 1 ? rawQuestionLength(query) : -1;
  if (qlen <= 0) return reply;
  reply.writeUInt16BE(1, 4);
  return Buffer.concat([reply, query.subarray(HEADER_BYTES, HEADER_BYTES + qlen)]);
}
