// The clock domain gateway's translations (runtime/clock/gateway.ts): physical and legacy timestamps into
// HLC with the uncertainty they carry, refused outside the bound; HLC rendered for legacy clients.
import { describe, expect, it } from "vitest";
import { TimeInputError, TimeOutOfBoundError, headerInterval, intoHlc, legacyInterval, parseHttpDate, parseRfc3339, physicalInterval, renderHlc, rfc3339Micros } from "../../../runtime/clock/index.js";

const T = Date.UTC(2026, 11, 2, 17, 19, 4) * 1000; // 2026-12-02T17:19:04Z in µs
const bounds = { nowMicros: T, maxOffsetMicros: 250_000, maxUncertaintyMicros: 1_000_000 };

describe("into HLC", () => {
  it("maps an RFC 3339 timestamp to the latest instant it may stand for: truncation to its digits plus the stated uncertainty", () => {
    expect(parseRfc3339("2026-12-02T17:19:04.123456Z")).toEqual({ micros: T + 123_456, resolutionMicros: 1 });
    expect(parseRfc3339("2026-12-02T17:19:04.1Z")).toEqual({ micros: T + 100_000, resolutionMicros: 100_000 });
    expect(parseRfc3339("2026-12-02T18:19:04+01:00")).toEqual({ micros: T, resolutionMicros: 1_000_000 });
    expect(parseRfc3339("2026-12-02T17:19:04.123456789Z")).toEqual({ micros: T + 123_456, resolutionMicros: 1 });
    const m = intoHlc(physicalInterval("2026-12-02T17:19:03.5Z", 20), bounds, "t");
    // [t − 20 ms, t + 100 ms (one tenth) + 20 ms]
    expect(m.earliest).toEqual({ wall: T - 500_000 - 20_000, logical: 0 });
    expect(m.hlc).toEqual({ wall: T - 500_000 + 100_000 + 20_000, logical: 0 });
    expect(m.uncertaintyMs).toBe(70);
  });

  it("maps Unix milliseconds (1 ms, or 1 µs with a fraction) and legacy whole seconds (1 s)", () => {
    expect(physicalInterval(T / 1000)).toEqual({ earliestMicros: T, latestMicros: T + 1000 });
    expect(physicalInterval(T / 1000 + 0.5)).toEqual({ earliestMicros: T + 500, latestMicros: T + 501 });
    expect(legacyInterval(T / 1e6)).toEqual({ earliestMicros: T, latestMicros: T + 1_000_000 });
    expect(legacyInterval("Wed, 02 Dec 2026 17:19:04 GMT", 100)).toEqual({ earliestMicros: T - 100_000, latestMicros: T + 1_100_000 });
    expect(parseHttpDate("Wed, 02 Dec 2026 17:19:04 GMT")).toBe(T);
    // A legacy second ending before now maps; one ending beyond max offset does not.
    expect(intoHlc(legacyInterval(T / 1e6 - 1), bounds, "t").hlc.wall).toBe(T);
    expect(() => intoHlc(legacyInterval(T / 1e6), bounds, "t")).toThrow(TimeOutOfBoundError);
  });

  it("takes the header form: RFC 3339 as physical, HTTP-date as legacy, with the uncertainty header", () => {
    expect(headerInterval("2026-12-02T17:19:04Z", "12.5")).toEqual({ earliestMicros: T - 12_500, latestMicros: T + 1_000_000 + 12_500 });
    expect(headerInterval("Wed, 02 Dec 2026 17:19:04 GMT", undefined)).toEqual({ earliestMicros: T, latestMicros: T + 1_000_000 });
    for (const u of ["-1", "1e3", "NaN", "12ms", ""]) expect(() => headerInterval("2026-12-02T17:19:04Z", u), u).toThrow(TimeInputError);
  });

  it("refuses timestamps outside the bound, naming it: beyond max offset ahead, or too uncertain to order", () => {
    expect(() => intoHlc(physicalInterval(T / 1000 + 300), bounds, "ts")).toThrow(/ts: its latest possible instant is 301 ms ahead of this clock, beyond the max offset of 250 ms/);
    expect(() => intoHlc(physicalInterval(T / 1000 - 10_000, 1500), bounds, "ts")).toThrow(/uncertainty ±1500\.5 ms exceeds the gateway's bound of ±1000 ms/);
    // Within the bound: a physical time 200 ms ahead (max offset 250) maps to itself.
    expect(intoHlc(physicalInterval(T / 1000 + 200), bounds, "ts").hlc.wall).toBe(T + 201_000);
    // Far in the past is a valid time (an old record): mapped, not refused.
    expect(intoHlc(physicalInterval("1999-12-31T23:59:59.999999Z"), bounds, "ts").hlc.wall).toBe(Date.UTC(2000, 0, 1) * 1000);
  });

  it("refuses malformed and hostile input with a message naming it", () => {
    const bad: [() => unknown, RegExp][] = [
      [() => parseRfc3339("2026-02-30T00:00:00Z"), /no such date/],
      [() => parseRfc3339("2026-12-02T24:00:00Z"), /no such date/],
      [() => parseRfc3339("2016-12-31T23:59:60Z"), /leap second :60/],
      [() => parseRfc3339("2026-12-02T17:19:04+25:00"), /not a UTC offset/],
      [() => parseRfc3339("2026-12-02T17:19:04"), /expected YYYY-MM-DD/],
      [() => parseRfc3339("1969-12-31T23:59:59Z"), /before 1970/],
      [() => parseRfc3339("9999-12-31T23:59:59Z"), /beyond the range/],
      [() => parseRfc3339("x".repeat(100_000)), /expected YYYY/],
      [() => parseHttpDate("Thu, 02 Dec 2026 17:19:04 GMT"), /is not a Thu/],
      [() => parseHttpDate("Wed, 02 Dec 2026 17:19:04 UTC"), /IMF-fixdate/],
      [() => physicalInterval(Number.NaN), /not a finite number/],
      [() => physicalInterval(Number.POSITIVE_INFINITY), /not a finite number/],
      [() => physicalInterval(-1), /before 1970/],
      [() => physicalInterval(1e300), /beyond the range/],
      [() => physicalInterval(T / 1000, -5), /uncertainty -5 ms/],
      [() => physicalInterval(T / 1000, Number.NaN), /uncertainty/],
      [() => legacyInterval(1.5), /whole seconds/],
    ];
    for (const [f, message] of bad) expect(f).toThrow(message);
  });
});

describe("out of HLC", () => {
  it("renders an HLC timestamp for legacy clients: Unix µs/ms/s, RFC 3339 with microseconds, HTTP-date; logical and epoch beside", () => {
    expect(renderHlc({ wall: T + 123_456, logical: 7 }, 2)).toEqual({
      hlc: `${T + 123_456}.7`,
      epoch: 2,
      logical: 7,
      unixMicros: T + 123_456,
      unixMs: (T + 123_456) / 1000,
      unixSeconds: T / 1e6,
      rfc3339: "2026-12-02T17:19:04.123456Z",
      httpDate: "Wed, 02 Dec 2026 17:19:04 GMT",
    });
    expect(rfc3339Micros(T + 7)).toBe("2026-12-02T17:19:04.000007Z");
    // The rendered second is kept between calls: the next second, and back, render their own.
    expect(rfc3339Micros(T + 1_000_000)).toBe("2026-12-02T17:19:05.000000Z");
    expect(rfc3339Micros(T + 1_999_999)).toBe("2026-12-02T17:19:05.999999Z");
    expect(rfc3339Micros(T - 1)).toBe("2026-12-02T17:19:03.999999Z");
    // Round trip: the rendering maps back to the same wall time (µs resolution).
    expect(parseRfc3339(rfc3339Micros(T + 999_999)).micros).toBe(T + 999_999);
  });
});
