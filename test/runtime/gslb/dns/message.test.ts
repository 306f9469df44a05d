// DNS message handling, pure: the authoritative server's rules table-tested, then fuzzed with fast-check —
// arbitrary bytes and mutated real queries never throw, never answer a response, and never exceed the UDP limit.
import dnsPacket from "dns-packet";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CLASSIC_UDP_BYTES, EDNS_UDP_BYTES, handleMessage, zoneOf, type DnsClient, type DnsQuestion } from "../../../../runtime/gslb/index.js";

const seen: DnsQuestion[] = [];
const clients: DnsClient[] = [];
const zone = zoneOf({
  zone: "Example.TEST.",
  nameservers: [{ name: "ns1.example.test", addresses: ["192.0.2.53"] }],
  answer: (q, client) => {
    seen.push(q);
    clients.push(client);
    if (q.name === "api.example.test") return q.type === "A" ? [{ type: "A", data: "192.0.2.1", ttl: 5 }] : [];
    if (q.name === "big.example.test") return Array.from({ length: 100 }, (_, i) => ({ type: "A" as const, data: `198.51.100.${i}`, ttl: 5 }));
    if (q.name === "boom.example.test") throw new Error("resolver bug");
    return null;
  },
});
const udp = { client: { address: "203.0.113.9", transport: "udp" as const } };
const tcp = { client: { address: "203.0.113.9", transport: "tcp" as const } };

function query(name: string, type = "A", extra: Partial<dnsPacket.Packet> = {}): Buffer {
  return dnsPacket.encode({ type: "query", id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: type as "A", name, class: "IN" }], ...extra });
}
const edns = (udpPayloadSize = 4096, ednsVersion = 0, options: unknown[] = []) => ({
  additionals: [{ type: "OPT", name: ".", udpPayloadSize, ednsVersion, extendedRcode: 0, flags: 0, options } as unknown as dnsPacket.Answer],
});
type Decoded = dnsPacket.DecodedPacket & { rcode: string; opcode: string };
const ask = (msg: Buffer, o = udp): Decoded | null => {
  const out = handleMessage(zone, msg, o);
  return out === null ? null : (dnsPacket.decode(out) as Decoded);
};

describe("authoritative DNS rules", () => {
  it("answers a name in the zone authoritatively, echoing the question's case", () => {
    const r = ask(query("API.example.TEST"))!;
    expect(r).toMatchObject({ id: 4242, type: "response", rcode: "NOERROR", flag_aa: true, flag_rd: true, flag_ra: false });
    expect(r.questions![0]!.name).toBe("API.example.TEST");
    expect(r.answers).toMatchObject([{ type: "A", data: "192.0.2.1", ttl: 5 }]);
    expect(seen.at(-1)).toEqual({ name: "api.example.test", type: "A" });
  });

  it("NXDOMAIN and NODATA carry the SOA; outside the zone and class CH are REFUSED; resolver errors SERVFAIL", () => {
    const nx = ask(query("nope.example.test"))!;
    expect(nx.rcode).toBe("NXDOMAIN");
    expect(nx.authorities).toMatchObject([{ type: "SOA", name: "example.test" }]);
    const nodata = ask(query("api.example.test", "TXT"))!;
    expect([nodata.rcode, nodata.answers!.length, nodata.authorities![0]!.type]).toEqual(["NOERROR", 0, "SOA"]);
    expect(ask(query("example.org"))!.rcode).toBe("REFUSED");
    expect(ask(query("notexample.test"))!.rcode).toBe("REFUSED");
    const ch = dnsPacket.encode({ type: "query", id: 1, questions: [{ type: "TXT", name: "api.example.test", class: "CH" }] });
    expect(ask(ch)).toMatchObject({ rcode: "REFUSED", answers: [] });
    expect(ask(query("boom.example.test"))!.rcode).toBe("SERVFAIL");
  });

  it("the apex answers its SOA and NS, the name server its glue, ANY the RFC 8482 HINFO", () => {
    expect(ask(query("example.test", "SOA"))!.answers).toMatchObject([{ type: "SOA", data: { mname: "ns1.example.test", rname: "hostmaster.example.test" } }]);
    expect(ask(query("example.test", "NS"))!.answers).toMatchObject([{ type: "NS", data: "ns1.example.test" }]);
    expect(ask(query("ns1.example.test"))!.answers).toMatchObject([{ type: "A", data: "192.0.2.53" }]);
    expect(ask(query("api.example.test", "ANY"))!.answers).toMatchObject([{ type: "HINFO", data: { cpu: "RFC8482" } }]);
  });

  it("ignores responses; NOTIMP for other opcodes; FORMERR for QDCOUNT≠1, junk and two OPT records", () => {
    expect(handleMessage(zone, dnsPacket.encode({ type: "response", id: 7, questions: [{ type: "A", name: "api.example.test" }] }), udp)).toBeNull();
    const update = query("example.test", "SOA");
    update.writeUInt16BE((5 << 11) | 0, 2); // opcode UPDATE
    expect(ask(update)).toMatchObject({ id: 4242, rcode: "NOTIMP", opcode: "UPDATE" });
    const notify = query("example.test", "SOA");
    notify.writeUInt16BE((4 << 11) | 0x0400, 2);
    expect(ask(notify)!.rcode).toBe("NOTIMP");
    expect(ask(dnsPacket.encode({ type: "query", id: 9, questions: [] }))!.rcode).toBe("FORMERR");
    expect(
      ask(
        dnsPacket.encode({
          type: "query",
          id: 9,
          questions: [
            { type: "A", name: "a.example.test" },
            { type: "A", name: "b.example.test" },
          ],
        }),
      )!.rcode,
    ).toBe("FORMERR");
    const truncatedQuestion = query("api.example.test").subarray(0, 20);
    expect(ask(truncatedQuestion)!.rcode).toBe("FORMERR");
    const twoOpts = query("api.example.test", "A", { additionals: [...edns().additionals, ...edns().additionals] });
    expect(ask(twoOpts)!.rcode).toBe("FORMERR");
    expect(handleMessage(zone, Buffer.from([1, 2, 3]), udp)).toBeNull();
  });

  it("EDNS: advertises our UDP size, answers BADVERS to version 1, echoes the client subnet it was given", () => {
    const r = ask(query("api.example.test", "A", edns()))!;
    expect(r.additionals).toMatchObject([{ type: "OPT", udpPayloadSize: EDNS_UDP_BYTES, ednsVersion: 0 }]);
    const v1 = ask(query("api.example.test", "A", edns(4096, 1)))!;
    expect(v1.rcode).toBe("NOERROR"); // the low 4 bits; the upper 8 are in OPT
    expect(v1.additionals).toMatchObject([{ type: "OPT", extendedRcode: 1 }]);
    expect(v1.answers).toEqual([]);
    const ecs = ask(query("api.example.test", "A", edns(4096, 0, [{ code: "CLIENT_SUBNET", family: 1, sourcePrefixLength: 24, ip: "198.51.100.0" }])))!;
    expect(clients.at(-1)).toEqual({ address: "203.0.113.9", transport: "udp", subnet: { address: "198.51.100.0", prefixLength: 24 } });
    expect((ecs.additionals![0] as unknown as { options: unknown[] }).options).toMatchObject([{ code: 8, sourcePrefixLength: 24, scopePrefixLength: 24, ip: "198.51.100.0" }]);
  });

  it("truncates a UDP answer over 512 bytes (or the EDNS size) with TC=1; TCP carries it whole", () => {
    const classic = handleMessage(zone, query("big.example.test"), udp)!;
    expect(classic.length).toBeLessThanOrEqual(CLASSIC_UDP_BYTES);
    expect(dnsPacket.decode(classic)).toMatchObject({ flag_tc: true, answers: [] });
    const withEdns = handleMessage(zone, query("big.example.test", "A", edns(1000)), udp)!;
    expect(withEdns.length).toBeLessThanOrEqual(1000);
    expect(dnsPacket.decode(withEdns).flag_tc).toBe(true);
    const whole = dnsPacket.decode(handleMessage(zone, query("big.example.test"), tcp)!);
    expect([whole.flag_tc, whole.answers!.length]).toEqual([false, 100]);
  });

  it("a rate-limited source gets nothing, or on the slip a truncated reply no larger than its query", () => {
    const q = query("api.example.test");
    expect(handleMessage(zone, q, { ...udp, limit: () => "drop" })).toBeNull();
    const slip = handleMessage(zone, q, { ...udp, limit: () => "signal" })!;
    expect(slip.length).toBeLessThanOrEqual(q.length);
    expect(dnsPacket.decode(slip)).toMatchObject({ id: 4242, flag_tc: true, answers: [] });
  });
});

describe("fuzzing", () => {
  const check = (msg: Uint8Array, transport: "udp" | "tcp") => {
    const buf = Buffer.from(msg);
    const out = handleMessage(zone, buf, transport === "udp" ? udp : tcp);
    if (out === null) return;
    expect(out.length).toBeGreaterThanOrEqual(12);
    expect(out.readUInt16BE(0)).toBe(buf.readUInt16BE(0)); // same id
    expect(out.readUInt16BE(2) & 0x8000).toBe(0x8000); // always a response
    if (transport === "udp") expect(out.length).toBeLessThanOrEqual(EDNS_UDP_BYTES);
  };

  it("arbitrary bytes never throw and never get anything but a well-formed-header response", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), fc.constantFrom("udp", "tcp") as fc.Arbitrary<"udp" | "tcp">, check), { numRuns: 2000 });
  });

  it("mutated real queries (bit flips, truncation, appended junk) never throw", () => {
    const seeds = [
      query("api.example.test"),
      query("big.example.test", "A", edns(512)),
      query("example.test", "NS", edns(4096, 0, [{ code: "CLIENT_SUBNET", family: 2, sourcePrefixLength: 56, ip: "2001:db8::" }])),
    ];
    const mutated = fc
      .tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { maxLength: 8 }), fc.nat(), fc.uint8Array({ maxLength: 40 }))
      .map(([seed, flips, cut, junk]) => {
        const b = Buffer.from(seed);
        for (const [at, bit] of flips) b[at % b.length]! ^= 1 << bit;
        return Buffer.concat([b.subarray(0, Math.max(0, b.length - (cut % 8))), junk]);
      });
    fc.assert(fc.property(mutated, fc.constantFrom("udp", "tcp") as fc.Arbitrary<"udp" | "tcp">, check), { numRuns: 2000 });
  });
});
