// The skew-threshold state machine, driven by an injected clock as `meridian local`'s clock-skew drill drives it.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { SkewMonitor, type SkewEvent } from "../../../runtime/clock/skew.js";

function monitor(clock = new ManualClock(0)) {
  const seen: SkewEvent[] = [];
  const m = new SkewMonitor({ clock, maxOffsetMs: 500, recoveryHoldMs: 10_000, syncLossMs: 60_000, onEvent: (e) => seen.push(e) });
  return { m, clock, seen };
}

describe("SkewMonitor", () => {
  it("walks degrade → freeze (alert) → recovering → healthy for a region pushed past max offset", () => {
    const { m, clock, seen } = monitor();
    expect(m.observe(100)).toBe("healthy");
    expect(m.observe(-260)).toBe("degraded");
    expect(m.allowsStrong()).toBe(true);
    expect(m.observe(650)).toBe("frozen");
    expect(m.allowsStrong()).toBe(false);
    clock.advance(1000);
    expect(m.observe(300)).toBe("frozen"); // below freeze but above degrade: stays frozen
    expect(m.observe(20)).toBe("recovering");
    expect(m.allowsStrong()).toBe(false);
    clock.advance(9_999);
    expect(m.evaluate()).toBe("recovering");
    clock.advance(1);
    expect(m.evaluate()).toBe("healthy");
    expect(m.allowsStrong()).toBe(true);
    expect(seen.map((e) => e.to)).toEqual(["degraded", "frozen", "recovering", "healthy"]);
    expect(seen.filter((e) => e.alert).map((e) => e.to)).toEqual(["frozen"]);
    expect(m.events()).toEqual(seen);
    expect(seen[1]).toMatchObject({ from: "degraded", offsetMs: 650, errorBoundMs: 0, at: 0 });
  });

  it("a relapse during the hold-down re-freezes and restarts the hold", () => {
    const { m, clock } = monitor();
    m.observe(450);
    m.observe(0);
    expect(m.state).toBe("recovering");
    clock.advance(5_000);
    expect(m.observe(300)).toBe("frozen");
    m.observe(0);
    clock.advance(9_000);
    expect(m.evaluate()).toBe("recovering");
    clock.advance(1_000);
    expect(m.evaluate()).toBe("healthy");
  });

  it("degrades when synchronisation is lost, and heals on the next good measurement", () => {
    const { m, clock, seen } = monitor();
    clock.advance(60_000);
    expect(m.evaluate()).toBe("degraded");
    expect(seen[0]!.reason).toMatch(/synchronisation lost/);
    expect(m.observe(1)).toBe("healthy");
  });

  it("rejects bad thresholds, non-finite offsets and negative or infinite error bounds", () => {
    expect(() => new SkewMonitor({ clock: new ManualClock(), maxOffsetMs: 500, degradeFraction: 0.9, freezeFraction: 0.8 })).toThrow(RangeError);
    expect(() => monitor().m.observe(Number.NaN)).toThrow(/finite/);
    expect(() => monitor().m.observe(0, -1)).toThrow(/error bound/);
    expect(() => monitor().m.observe(0, Infinity)).toThrow(/error bound/);
  });
});

// The offset's error bound (NTP: delay/2 + dispersion): the skew is only known to lie in |offset| ± bound.
// Thresholds here: degrade 250 ms, freeze 400 ms.
describe("SkewMonitor with the measurement's error bound", () => {
  /** Precise measurements of a history of true skews, then the monitor's settled state. */
  const history = fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 1, maxLength: 6 });
  /** One measurement of `truth` as a busy machine makes it: any apparent offset within its (sound) bound. */
  const noisy = fc.record({ boundMs: fc.integer({ min: 0, max: 2000 }), share: fc.double({ min: -1, max: 1, noNaN: true }) });

  it("a single measurement whose bound covers its error never changes the state the true skew put it in", () => {
    fc.assert(
      fc.property(history, noisy, (truths, { boundMs, share }) => {
        const { m } = monitor();
        for (const t of truths) m.observe(t);
        const before = m.state;
        const events = m.events().length;
        const truth = truths.at(-1)!;
        m.observe(truth + Math.trunc(share * boundMs), boundMs);
        expect(m.state).toBe(before);
        expect(m.events()).toHaveLength(events);
      }),
    );
  });

  it("a real skew still moves it: certainly past freeze freezes, certainly below degrade starts recovery, from any state", () => {
    fc.assert(
      fc.property(history, fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 1000 }), fc.boolean(), (truths, boundMs, beyond, ahead) => {
        const { m } = monitor();
        for (const t of truths) m.observe(t);
        const sign = ahead ? 1 : -1;
        expect(m.observe(sign * (400 + boundMs + beyond), boundMs)).toBe("frozen");
        expect(m.allowsStrong()).toBe(false);
        expect(m.observe(sign * Math.max(0, 249 - boundMs - (beyond % 250)), boundMs)).toBe("recovering");
        expect(m.allowsStrong()).toBe(false);
      }),
    );
  });

  it("acts on the interval, not the point: one slow exchange neither freezes nor reopens, an undecided one keeps the state", () => {
    const { m, clock, seen } = monitor();
    // A 900 ms round trip on a busy machine: apparent offset −450 ms, but known only to ±450 ms.
    expect(m.observe(-450, 450)).toBe("healthy");
    expect(m.observe(330, 100)).toBe("healthy"); // 230–430 ms: maybe past degrade, maybe not
    expect(m.observe(330, 20)).toBe("degraded"); // 310–350 ms: certainly past degrade
    expect(m.observe(420, 30)).toBe("degraded"); // 390–450 ms: maybe past freeze
    expect(m.observe(-420, 10)).toBe("frozen");
    expect(seen.at(-1)).toMatchObject({ to: "frozen", offsetMs: -420, errorBoundMs: 10, alert: true });
    expect(seen.at(-1)!.reason).toMatch(/offset -420 ms ± 10 ms certainly ≥ freeze threshold 400 ms/);
    expect(m.observe(0, 300)).toBe("frozen"); // could still be 300 ms off: no recovery
    expect(m.observe(100, 100)).toBe("recovering"); // at most 200 ms: certainly below degrade
    clock.advance(5_000);
    expect(m.observe(200, 100)).toBe("recovering"); // 100–300 ms: not certainly back above degrade
    clock.advance(5_000);
    expect(m.evaluate()).toBe("healthy");
    expect(m.observe(0, 260)).toBe("healthy");
    expect(m.errorBoundMs).toBe(260);
  });
});
