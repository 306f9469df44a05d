import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { isoRenderer, parseRfc3339 } from "../../../runtime/clock/index.js";

const T0 = 1_700_000_000_000;
/** Around a second boundary and anywhere in 1970–2100, fractions included (truncated, as Date does). */
const msAt = fc.oneof(fc.integer({ min: T0 - 2_000, max: T0 + 2_000 }), fc.double({ min: 0, max: 4_102_444_800_000, noNaN: true }));

describe("isoRenderer", () => {
  it("milliseconds: renders every time as Date#toISOString does, whatever the order of the calls (property)", () => {
    const iso = isoRenderer(3);
    fc.assert(fc.property(fc.array(msAt, { minLength: 1, maxLength: 20 }), (ms) => ms.every((m) => iso(m) === new Date(m).toISOString())));
  });

  it("microseconds: Date#toISOString's second, six digits after it, and a round trip through the RFC 3339 parser (property)", () => {
    const iso = isoRenderer(6);
    const microsAt = msAt.chain((m) => fc.integer({ min: 0, max: 999 }).map((extra) => Math.floor(m) * 1000 + extra));
    fc.assert(
      fc.property(fc.array(microsAt, { minLength: 1, maxLength: 20 }), (us) =>
        us.every((u) => {
          const text = iso(u);
          const micros = String(u % 1_000_000).padStart(6, "0");
          return text === `${new Date(Math.floor(u / 1000)).toISOString().slice(0, 20)}${micros}Z` && parseRfc3339(text).micros === u;
        }),
      ),
    );
  });

  it("keeps one rendered second per renderer: two renderers interleaved at different seconds stay right", () => {
    const a = isoRenderer(3);
    const b = isoRenderer(3);
    expect(a(T0)).toBe("2023-11-14T22:13:20.000Z");
    expect(b(T0 + 1_001)).toBe("2023-11-14T22:13:21.001Z");
    expect(a(T0 + 999)).toBe("2023-11-14T22:13:20.999Z");
    expect(b(T0 - 1)).toBe("2023-11-14T22:13:19.999Z");
  });
});
