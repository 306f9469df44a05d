// The simulated ensemble: GPS outage → holdover with ε growing at the oscillator's drift; recovery;
// spoofing outvoted; jamming flagged; ε-inflation drills.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { buildEnsemble, Ensemble } from "../../../../runtime/clock/sources/ensemble.js";
import { GpsReceiver } from "../../../../runtime/clock/sources/gps.js";
import { OSCILLATORS, Oscillator } from "../../../../runtime/clock/sources/oscillator.js";

const T0 = Date.UTC(2026, 5, 1);

describe("Ensemble", () => {
  it("a GPS outage widens ε at the oscillator's drift rate, and recovery narrows it again", () => {
    const clock = new ManualClock(T0);
    const gps = new GpsReceiver("gps-a", { seed: 3 });
    const rb = new Oscillator("rubidium-a", "rubidium", T0, 4);
    const e = new Ensemble({ clock, gps: [gps], oscillators: [rb] });
    const locked = e.sample();
    expect(locked.holdover).toBe(false);
    expect(locked.epsilonMs).toBeLessThan(1e-3);

    gps.inject({ kind: "outage", untilMs: T0 + 10 * 86_400_000 });
    const eps: number[] = [];
    for (const s of [1000, 2000, 4000]) {
      clock.set(T0 + s * 1000);
      const h = e.sample();
      expect(h.holdover).toBe(true);
      expect(h.sources.find((x) => x.id === "gps-a")!.status).toBe("unavailable");
      eps.push(h.epsilonMs);
      // True time stays inside the served interval throughout holdover.
      expect(Math.abs(h.offsetMs)).toBeLessThanOrEqual(h.epsilonMs);
    }
    const spec = OSCILLATORS.rubidium;
    const ageing = spec.ageingPerDay / 86_400;
    const expectedGrowth = (t: number) => (spec.driftBound * t + 0.5 * ageing * t * t) * 1000;
    expect(eps[1]! - eps[0]!).toBeCloseTo(expectedGrowth(2000) - expectedGrowth(1000), 12);
    expect(eps[2]! - eps[1]!).toBeCloseTo(expectedGrowth(4000) - expectedGrowth(2000), 12);

    gps.restore();
    clock.advance(1000);
    const back = e.sample();
    expect(back.holdover).toBe(false);
    expect(back.epsilonMs).toBeLessThan(eps[0]!);
    expect(back.lastSteerMs).toBe(clock.now());
  });

  it("a spoofed GPS is a falseticker, outvoted by rubidium and cesium and never steers them", () => {
    const clock = new ManualClock(T0);
    const e = buildEnsemble({ clock, primary: "gps", seed: 9 });
    e.sample();
    e.gps("gps-a").inject({ kind: "spoofing", offsetMs: 2, untilMs: T0 + 3_600_000 });
    clock.advance(60_000);
    const s = e.sample();
    expect(s.falsetickers).toEqual(["gps-a"]);
    expect(s.synchronized).toBe(true);
    expect(s.holdover).toBe(true);
    expect(Math.abs(s.offsetMs)).toBeLessThan(1e-3);
    expect(s.lastSteerMs).toBe(T0);
  });

  it("jamming expires on its own; an ε-inflation drill adds to ε until it ends", () => {
    const clock = new ManualClock(T0);
    const e = buildEnsemble({ clock, primary: "gps" });
    e.gps("gps-a").inject({ kind: "jamming", untilMs: T0 + 5000 });
    expect(e.sample().holdover).toBe(true);
    clock.advance(5000);
    expect(e.sample().holdover).toBe(false);
    const base = e.sample().epsilonMs;
    e.inflate(7, T0 + 10_000);
    expect(e.sample().epsilonMs).toBeCloseTo(base + 7, 3);
    clock.set(T0 + 10_000);
    expect(e.sample().inflationMs).toBe(0);
  });

  it("serves smeared time with LI 0, or POSIX time with the leap indicator set the day before", () => {
    const leap = { atMs: Date.UTC(2026, 11, 31, 24), kind: "insert" as const };
    const clock = new ManualClock(leap.atMs - 3_600_000);
    const posix = buildEnsemble({ clock, primary: "cesium", leap });
    const smeared = buildEnsemble({ clock, primary: "cesium", leap, smear: true });
    const p = posix.sample();
    const s = smeared.sample();
    expect(p.leapIndicator).toBe(1);
    expect(s.leapIndicator).toBe(0);
    // One hour before midnight the smear has absorbed 11/24 of the second.
    expect(p.timeMs - s.timeMs).toBeCloseTo((11 / 24) * 1000, 3);
  });
});
