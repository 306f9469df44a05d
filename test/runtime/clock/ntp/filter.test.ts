// The NTP clock filter: the least-uncertain of the recent exchanges, sound at every step, following a real
// step of the clock on the first exchange after it.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ClockFilter, type OffsetSample } from "../../../../runtime/clock/ntp/filter.js";

/** Exchanges with a source whose true offset is `truth`, each 500 ms apart, wrong by at most its own bound. */
const exchanges = (truth: number, startMs = 0) =>
  fc
    .array(fc.record({ boundMs: fc.double({ min: 0.05, max: 1000, noNaN: true }), share: fc.double({ min: -1, max: 1, noNaN: true }) }), { minLength: 1, maxLength: 20 })
    .map((xs) => xs.map(({ boundMs, share }, i): OffsetSample => ({ atMs: startMs + i * 500, offsetMs: truth + share * boundMs, errorBoundMs: boundMs })));

describe("ClockFilter", () => {
  it("is sound: what it passes on always contains the true offset, and is never less certain than the newest exchange", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1000, max: 1000 }).chain((truth) => fc.tuple(fc.constant(truth), exchanges(truth))),
        ([truth, samples]) => {
          const filter = new ClockFilter({ driftPpm: 0 });
          for (const s of samples) {
            const f = filter.add(s);
            expect(Math.abs(f.offsetMs - truth)).toBeLessThanOrEqual(f.errorBoundMs + 1e-9);
            expect(f.errorBoundMs).toBeLessThanOrEqual(s.errorBoundMs);
          }
        },
      ),
    );
  });

  it("a single slow exchange among quiet ones is never passed on", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 }), fc.double({ min: 5, max: 2000, noNaN: true }), fc.boolean(), (quiet, delayMs, behind) => {
        const filter = new ClockFilter();
        for (let i = 0; i < quiet; i++) filter.add({ atMs: i * 500, offsetMs: 0.1, errorBoundMs: 0.3 });
        // The reply sat in a busy machine's queue: the apparent offset is off by up to half the round trip.
        const slow = { atMs: quiet * 500, offsetMs: (behind ? -1 : 1) * (delayMs / 2), errorBoundMs: delayMs / 2 + 0.3 };
        const f = filter.add(slow);
        expect(f.sample).not.toBe(slow);
        expect(f.offsetMs).toBe(0.1);
        expect(f.errorBoundMs).toBeLessThan(1);
      }),
    );
  });

  it("follows a real step of the clock on the first exchange after it, and ages what it keeps at the drift bound", () => {
    const filter = new ClockFilter({ driftPpm: 200 });
    filter.add({ atMs: 0, offsetMs: 0, errorBoundMs: 0.2 });
    // An older, tighter sample wins over a fresh looser one, its bound grown by 200 ppm × 1 s.
    expect(filter.add({ atMs: 1000, offsetMs: 0.3, errorBoundMs: 0.5 })).toMatchObject({ offsetMs: 0, errorBoundMs: 0.2 + 0.2 });
    // The clock is stepped 600 ms ahead (a `meridian chaos skew`): every earlier sample contradicts the new one.
    expect(filter.add({ atMs: 2100, offsetMs: -600, errorBoundMs: 0.5 })).toMatchObject({ offsetMs: -600, errorBoundMs: 0.5 });
    expect(filter.add({ atMs: 2600, offsetMs: -600.2, errorBoundMs: 3 })).toMatchObject({ offsetMs: -600 });
    // And back.
    expect(filter.add({ atMs: 2500, offsetMs: 0.1, errorBoundMs: 0.4 })).toMatchObject({ offsetMs: 0.1, errorBoundMs: 0.4 });
  });

  it("keeps the last `size` exchanges only", () => {
    const filter = new ClockFilter({ size: 2, driftPpm: 0 });
    filter.add({ atMs: 0, offsetMs: 1, errorBoundMs: 1 });
    filter.add({ atMs: 1, offsetMs: 2, errorBoundMs: 5 });
    // The tightest (bound 1) has left the window: the best of the two kept wins.
    expect(filter.add({ atMs: 2, offsetMs: 3, errorBoundMs: 6 })).toMatchObject({ offsetMs: 2, errorBoundMs: 5 });
  });

  it("rejects a bad size, drift or sample", () => {
    expect(() => new ClockFilter({ size: 0 })).toThrow(/size/);
    expect(() => new ClockFilter({ driftPpm: -1 })).toThrow(/drift/);
    expect(() => new ClockFilter().add({ atMs: 0, offsetMs: Number.NaN, errorBoundMs: 1 })).toThrow(/finite/);
    expect(() => new ClockFilter().add({ atMs: 0, offsetMs: 0, errorBoundMs: -1 })).toThrow(/bound/);
  });
});
