// The NTP server's datagram edge: per-client rate limiting with KoD RATE (as chrony's ratelimit), a datagram
// from source port 0 and junk that must not stop it, and chronyd itself still syncing afterwards.
import fc from "fast-check";
import { createSocket } from "node:dgram";
import { describe, expect, it } from "vitest";
import { NtpServer, type NtpRateLimit } from "../../../../runtime/clock/ntp/server.js";
import { clientRequest, decode, encode, toNtpTimestamp, type NtpPacket } from "../../../../runtime/clock/ntp/packet.js";
import { sendFromPortZero, sprayUdp } from "../../../hostile.js";

const request = (transmitMs: number): NtpPacket => clientRequest(toNtpTimestamp(transmitMs), 6);
const source = { now: () => Date.now(), state: () => ({ leap: 0 as const, synchronized: true, referenceId: "GPS", referenceMs: Date.now(), rootDispersionS: 1e-5, precision: -20 }) };

/** Send `n` requests back to back from one socket; collect the replies for 300 ms. */
async function burst(port: number, n: number): Promise<NtpPacket[]> {
  const s = createSocket("udp4");
  const replies: NtpPacket[] = [];
  s.on("message", (m) => replies.push(decode(m)));
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", r));
  for (let i = 0; i < n; i++) s.send(encode(request(Date.now() + i)), port, "127.0.0.1");
  await new Promise((r) => setTimeout(r, 300));
  s.close();
  return replies;
}

/** chrony's `ratelimit interval 3 burst 4 leak 1`: one reply per 8 s after a burst of 4, half the excess KoD'd. */
const CHRONY_LIMIT: NtpRateLimit = { intervalLog2: 3, burst: 4, leak: 1 };

/** A server of its own for one test (the default rate limit unless given one), closed after it. */
async function withServer(limit: NtpRateLimit | undefined, fn: (server: NtpServer, port: number) => Promise<void>) {
  const server = new NtpServer(source, limit);
  try {
    await fn(server, await server.listen(0, "127.0.0.1"));
  } finally {
    await server.close();
  }
}

// Each test has its own server: the rate limiter's per-address state must not carry from one test to the next.
describe("NTP server edge", () => {
  it("answers a burst, then kisses the excess with RATE (stratum 0, leap 3, origin echoed, no time) or drops it", () =>
    withServer(CHRONY_LIMIT, async (server, port) => {
      const replies = await burst(port, 12);
      const served = replies.filter((r) => r.stratum === 1);
      const kod = replies.filter((r) => r.stratum === 0);
      expect(served).toHaveLength(4);
      expect(kod).toHaveLength(4); // every second of the 8 excess requests
      for (const k of kod) {
        expect(k.referenceId.toString("ascii")).toBe("RATE");
        expect([k.leap, k.mode, k.transmit.seconds, k.receive.seconds]).toEqual([3, 4, 0, 0]);
        expect(k.origin.seconds).toBeGreaterThan(0);
      }
      expect(server.stats).toMatchObject({ kod: 4, rateLimited: 4 });
    }));

  it("survives a request from source port 0 and a spray of junk, and still answers a new client", async () => {
    await withServer(CHRONY_LIMIT, async (server, port) => {
      const before = server.stats.requests;
      sendFromPortZero("127.0.0.1", port, encode(request(Date.now())));
      await sprayUdp(
        "127.0.0.1",
        port,
        fc.sample(fc.uint8Array({ maxLength: 96 }), 100).map((b) => Buffer.from(b)),
      );
      await new Promise((r) => setTimeout(r, 100));
      expect(server.stats.requests).toBeGreaterThan(before + 100);
    });
    // This server has rate limited 127.0.0.1 by now (a burst of 4 at most); on a fresh one, the port-0 request is
    // dropped (nowhere to send it) and the next request from the same address is answered.
    await withServer(undefined, async (fresh, p) => {
      sendFromPortZero("127.0.0.1", p, encode(request(Date.now())));
      const [reply] = await burst(p, 1);
      expect(reply).toMatchObject({ mode: 4, stratum: 1 });
      expect(fresh.stats.dropped).toBeGreaterThanOrEqual(1); // the port-0 reply was dropped, not sent
    });
  });
});
