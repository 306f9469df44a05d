// The skew-threshold state machine, driven by an injected clock as `meridian local`'s clock-skew drill drives it.
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
    expect(seen[1]).toMatchObject({ from: "degraded", offsetMs: 650, at: 0 });
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

  it("rejects bad thresholds and non-finite offsets", () => {
    expect(() => new SkewMonitor({ clock: new ManualClock(), maxOffsetMs: 500, degradeFraction: 0.9, freezeFraction: 0.8 })).toThrow(RangeError);
    expect(() => monitor().m.observe(Number.NaN)).toThrow(/finite/);
  });
});
