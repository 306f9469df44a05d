// The GSLB's authoritative DNS server as the real dig (BIND 9) sees it: UDP and TCP, EDNS and its sizes,
// truncation and the TCP retry, the apex SOA/NS, NOTIMP for UPDATE (dig +opcode and nsupdate), BADVERS,
// REFUSED outside the zone or class, the per-client rate limit — and datagrams from port 0 and junk that
// must not stop it.
import dnsPacket from "dns-packet";
import fc from "fast-check";
import { execFile } from "node:child_process";
import { createSocket } from "node:dgram";
import { createConnection } from "node:net";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addressRecords, startDnsServer, type DnsServer } from "../../../../runtime/gslb/index.js";
import { sendFromPortZero, sprayUdp } from "../../../hostile.js";

const ZONE = "meridian.localhost.test";
const run = promisify(execFile);

// Asynchronous: the server runs in this process, so a blocking child would starve it.
async function dig(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run("dig", ["@127.0.0.1", "-p", String(port), "+tries=1", "+time=2", ...args]);
  return stdout;
}

describe("GSLB DNS server (checked with the real dig)", () => {
  let server: DnsServer;
  let limited: DnsServer;
  let addresses = ["127.0.1.1"];
  const answer = (q: { name: string; type: string }) => {
    if (q.name === `api.${ZONE}`) return addressRecords(q, { addresses, ttl: 5 });
    if (q.name === `big.${ZONE}`) return addressRecords(q, { addresses: Array.from({ length: 60 }, (_, i) => `10.0.${i >> 8}.${i & 255}`), ttl: 5 });
    return null;
  };

  beforeAll(async () => {
    server = await startDnsServer({ zone: ZONE, port: 0, answer, nameservers: [{ name: `ns1.${ZONE}`, addresses: ["127.0.0.1"] }] });
    limited = await startDnsServer({ zone: ZONE, port: 0, answer, rateLimit: { perSecond: 1, burst: 3, slip: 2 } });
  });
  afterAll(async () => {
    await server?.close();
    await limited?.close();
  });

  it("answers A records authoritatively from the answer function, over UDP and TCP, and follows its decision", async () => {
    const out = await dig(server.port, `api.${ZONE}`);
    expect(out).toMatch(/status: NOERROR/);
    expect(out).toMatch(/flags: qr aa rd;/); // authoritative, no recursion available
    expect(out).toMatch(/api\.meridian\.localhost\.test\.\s+5\s+IN\s+A\s+127\.0\.1\.1/);
    const tcp = await dig(server.port, "+tcp", `api.${ZONE}`);
    expect(tcp).toMatch(/IN\s+A\s+127\.0\.1\.1/);
    expect(tcp).toMatch(/\(TCP\)/);
    addresses = ["127.0.1.2"];
    expect(await dig(server.port, `api.${ZONE}`)).toMatch(/IN\s+A\s+127\.0\.1\.2/);
    expect(await dig(server.port, "+norec", `api.${ZONE}`)).toMatch(/flags: qr aa;/);
  });

  it("the apex answers SOA and NS; NXDOMAIN and NODATA carry the SOA; outside the zone and class CH are REFUSED", async () => {
    expect(await dig(server.port, ZONE, "SOA")).toMatch(/meridian\.localhost\.test\.\s+\d+\s+IN\s+SOA\s+ns1\.meridian\.localhost\.test\. hostmaster\.meridian\.localhost\.test\./);
    expect(await dig(server.port, ZONE, "NS")).toMatch(/IN\s+NS\s+ns1\.meridian\.localhost\.test\./);
    expect(await dig(server.port, `ns1.${ZONE}`)).toMatch(/IN\s+A\s+127\.0\.0\.1/);
    const nx = await dig(server.port, `nope.${ZONE}`);
    expect(nx).toMatch(/status: NXDOMAIN/);
    expect(nx).toMatch(/AUTHORITY: 1/);
    const aaaa = await dig(server.port, `api.${ZONE}`, "AAAA");
    expect(aaaa).toMatch(/status: NOERROR.*\n.*ANSWER: 0, AUTHORITY: 1/);
    expect(await dig(server.port, "example.org")).toMatch(/status: REFUSED/);
    expect(await dig(server.port, "-c", "CH", `api.${ZONE}`, "TXT")).toMatch(/status: REFUSED/);
    expect(await dig(server.port, "-c", "CH", "version.bind", "TXT")).toMatch(/status: REFUSED/);
  });

  it("NOTIMP for UPDATE (dig +opcode=update and a real nsupdate) and NOTIFY", async () => {
    expect(await dig(server.port, "+opcode=update", ZONE, "SOA")).toMatch(/opcode: UPDATE, status: NOTIMP/);
    expect(await dig(server.port, "+opcode=notify", ZONE, "SOA")).toMatch(/opcode: NOTIFY, status: NOTIMP/);
    const script = `server 127.0.0.1 ${server.port}\nzone ${ZONE}\nupdate add evil.${ZONE} 60 A 192.0.2.66\nsend\n`;
    const child = execFile("nsupdate", []);
    child.stdin!.end(script);
    const out = await new Promise<string>((resolve) => {
      let text = "";
      child.stdout!.on("data", (d: Buffer) => (text += d.toString()));
      child.stderr!.on("data", (d: Buffer) => (text += d.toString()));
      child.on("exit", () => resolve(text));
    });
    expect(out).toMatch(/NOTIMP/);
    expect(await dig(server.port, `evil.${ZONE}`)).toMatch(/status: NXDOMAIN/);
  });

  it("EDNS: our 1232-byte size advertised, BADVERS for version 1, a large answer truncated (TC) and retried over TCP", async () => {
    expect(await dig(server.port, "+bufsize=4096", `api.${ZONE}`)).toMatch(/EDNS: version: 0, flags:; udp: 1232/);
    expect(await dig(server.port, "+edns=1", "+noednsnegotiation", `api.${ZONE}`)).toMatch(/status: BADVERS/);
    const ignored = await dig(server.port, "+ignore", "+bufsize=512", `big.${ZONE}`);
    expect(ignored).toMatch(/flags: qr aa tc rd;/);
    expect(ignored).toMatch(/ANSWER: 0/);
    const classic = await dig(server.port, "+ignore", "+noedns", `big.${ZONE}`);
    expect(classic).toMatch(/flags: qr aa tc rd;/);
    const retried = await dig(server.port, "+bufsize=512", `big.${ZONE}`);
    expect(retried).toMatch(/Truncated, retrying in TCP mode/);
    expect(retried).toMatch(/ANSWER: 60/);
  });

  it("rate limits one source: the burst answered, then drops with every second one a TC=1 slip", async () => {
    const socket = createSocket("udp4");
    const replies: dnsPacket.DecodedPacket[] = [];
    socket.on("message", (m) => replies.push(dnsPacket.decode(m)));
    await new Promise<void>((r) => socket.bind(0, "127.0.0.1", r));
    for (let id = 1; id <= 9; id++) socket.send(dnsPacket.encode({ type: "query", id, questions: [{ type: "A", name: `api.${ZONE}` }] }), limited.port, "127.0.0.1");
    await new Promise((r) => setTimeout(r, 300));
    socket.close();
    // A burst of 3, then 6 over the limit: every second one slips through truncated, the rest get nothing.
    const answered = replies.filter((r) => !r.flag_tc && r.answers!.length === 1).length;
    const slipped = replies.filter((r) => r.flag_tc && r.answers!.length === 0).length;
    expect([answered, slipped, replies.length]).toEqual([3, 3, 6]);
    expect(limited.stats.rateLimited).toBe(6);
  });

  it("survives datagrams from source port 0, junk over UDP and TCP, and answers right after", async () => {
    const q = dnsPacket.encode({ type: "query", id: 1, questions: [{ type: "A", name: `api.${ZONE}` }] });
    sendFromPortZero("127.0.0.1", server.port, q);
    sendFromPortZero("127.0.0.1", server.port, Buffer.from("junk"));
    await sprayUdp(
      "127.0.0.1",
      server.port,
      fc.sample(fc.uint8Array({ maxLength: 300 }), 200).map((b) => Buffer.from(b)),
    );
    await new Promise<void>((resolve) => {
      const s = createConnection({ host: "127.0.0.1", port: server.port }, () => {
        s.write(Buffer.from([0x00, 0x05, 1, 2, 3, 4, 5])); // a frame shorter than a header: the connection ends
      });
      s.on("close", () => resolve());
      s.on("error", () => resolve());
    });
    expect(await dig(server.port, `api.${ZONE}`)).toMatch(/status: NOERROR/);
    expect(await dig(server.port, "+tcp", `api.${ZONE}`)).toMatch(/status: NOERROR/);
    expect(server.stats.dropped).toBeGreaterThan(0);
  });
});
