import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decode, encode, fromNtpTimestamp, NtpPacketError, reply, toNtpTimestamp, type NtpPacket } from "../../../../runtime/clock/ntp/packet.js";

const ts = fc.record({ seconds: fc.nat(0xffffffff), fraction: fc.nat(0xffffffff) });
const packet = fc.record({
  leap: fc.constantFrom(0, 1, 2, 3 as const),
  version: fc.integer({ min: 1, max: 4 }),
  mode: fc.integer({ min: 0, max: 7 }),
  stratum: fc.nat(255),
  poll: fc.integer({ min: -128, max: 127 }),
  precision: fc.integer({ min: -128, max: 127 }),
  rootDelayS: fc.nat(65535).map((x) => x / 65536),
  rootDispersionS: fc.nat(65535).map((x) => x / 65536),
  referenceId: fc.uint8Array({ minLength: 4, maxLength: 4 }).map((a) => Buffer.from(a)),
  reference: ts,
  origin: ts,
  receive: ts,
  transmit: ts,
}) as fc.Arbitrary<NtpPacket>;

describe("NTP packets", () => {
  it("property: decode(encode(p)) = p, and the header is 48 bytes", () => {
    fc.assert(
      fc.property(packet, (p) => {
        const b = encode(p);
        expect(b.length).toBe(48);
        expect(decode(b)).toEqual(p);
      }),
      { numRuns: 200 },
    );
  });

  it("NTP timestamps: the Unix epoch is 2208988800 s after 1900; sub-µs fractions round-trip; era 1 (2036+) wraps", () => {
    expect(toNtpTimestamp(0)).toEqual({ seconds: 2_208_988_800, fraction: 0 });
    expect(toNtpTimestamp(500).fraction).toBe(2 ** 31);
    const t = Date.UTC(2026, 10, 24, 1, 2, 3) + 0.25;
    expect(fromNtpTimestamp(toNtpTimestamp(t))).toBeCloseTo(t, 3);
    const y2040 = Date.UTC(2040, 0, 1);
    expect(toNtpTimestamp(y2040).seconds).toBeLessThan(2_208_988_800);
    expect(fromNtpTimestamp(toNtpTimestamp(y2040), y2040)).toBe(y2040);
  });

  it("rejects short packets and bad versions; replies only to clients; unsynchronised means leap 3, stratum 16", () => {
    expect(() => decode(Buffer.alloc(47))).toThrow(NtpPacketError);
    expect(() => decode(Buffer.alloc(48))).toThrow(/version 0/);
    const req = decode(
      encode({
        leap: 0,
        version: 3,
        mode: 3,
        stratum: 0,
        poll: 4,
        precision: 0,
        rootDelayS: 0,
        rootDispersionS: 0,
        referenceId: Buffer.alloc(4),
        reference: toNtpTimestamp(0),
        origin: toNtpTimestamp(0),
        receive: toNtpTimestamp(0),
        transmit: { seconds: 1, fraction: 2 },
      }),
    );
    const state = { leap: 1 as const, synchronized: true, referenceId: "GPS", referenceMs: 0, rootDispersionS: 0.001, precision: -20 };
    expect(reply(req, 1, 2, state)).toMatchObject({ mode: 4, version: 3, leap: 1, stratum: 1, origin: { seconds: 1, fraction: 2 } });
    expect(reply({ ...req, mode: 1 }, 1, 2, state)).toBeNull();
    expect(reply(req, 1, 2, { ...state, synchronized: false })).toMatchObject({ leap: 3, stratum: 16 });
  });
});
