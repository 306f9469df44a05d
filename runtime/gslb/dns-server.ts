/**
 * An authoritative DNS server on UDP (dns-packet for the wire format) for one zone. It answers from a
 * resolver function — the GSLB's decision — so `dig @127.0.0.1 -p <port> api.<apex>` shows what the
 * traffic policy returns right now. Names outside the zone are REFUSED; unknown names in it are NXDOMAIN.
 */
import dgram from "node:dgram";
import dnsPacket from "dns-packet";

const RCODE = { NOERROR: 0, NXDOMAIN: 3, REFUSED: 5, FORMERR: 1 } as const;

export interface DnsAnswerSet {
  /** IPv4 addresses to return as A records. */
  addresses: string[];
  ttl: number;
}

export interface DnsServerOptions {
  zone: string;
  host?: string;
  port: number;
  /** The answer for a name in the zone, or null when the name does not exist. */
  resolve(name: string, client: { address: string }): DnsAnswerSet | null;
}

export interface DnsServer {
  port: number;
  close(): Promise<void>;
}

export function startDnsServer(options: DnsServerOptions): Promise<DnsServer> {
  const zone = options.zone.toLowerCase().replace(/\.$/, "");
  const socket = dgram.createSocket("udp4");
  socket.on("message", (msg, rinfo) => {
    const reply = respond(msg, zone, options, rinfo.address);
    if (reply) socket.send(reply, rinfo.port, rinfo.address);
  });
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(options.port, options.host ?? "127.0.0.1", () => {
      socket.off("error", reject);
      resolve({
        port: socket.address().port,
        close: () => new Promise<void>((done) => socket.close(() => done())),
      });
    });
  });
}

function respond(msg: Buffer, zone: string, options: DnsServerOptions, client: string): Buffer | null {
  let query: dnsPacket.DecodedPacket;
  try {
    query = dnsPacket.decode(msg);
  } catch {
    return msg.length >= 2 ? dnsPacket.encode({ type: "response", id: msg.readUInt16BE(0), flags: RCODE.FORMERR }) : null;
  }
  const question = query.questions?.[0];
  const base = { type: "response" as const, id: query.id ?? 0, questions: query.questions ?? [] };
  if (!question) return dnsPacket.encode({ ...base, flags: RCODE.FORMERR });
  const name = question.name.toLowerCase().replace(/\.$/, "");
  if (name !== zone && !name.endsWith(`.${zone}`)) return dnsPacket.encode({ ...base, flags: RCODE.REFUSED });

  const flags = dnsPacket.AUTHORITATIVE_ANSWER;
  const answer = options.resolve(name, { address: client });
  if (answer === null) return dnsPacket.encode({ ...base, flags: flags | RCODE.NXDOMAIN, authorities: [soa(zone)] });
  const answers: dnsPacket.Answer[] =
    question.type === "A" || (question.type as string) === "ANY"
      ? answer.addresses.map((data) => ({ type: "A", name: question.name, class: "IN", ttl: answer.ttl, data }))
      : [];
  // NOERROR with no answers (NODATA) for other types, with the SOA so resolvers cache the negative answer.
  return dnsPacket.encode({ ...base, flags, answers, authorities: answers.length ? [] : [soa(zone)] });
}

function soa(zone: string): dnsPacket.Answer {
  return {
    type: "SOA",
    name: zone,
    class: "IN",
    ttl: 5,
    data: { mname: `ns1.${zone}`, rname: `hostmaster.${zone}`, serial: 1, refresh: 60, retry: 10, expire: 600, minimum: 5 },
  };
}
