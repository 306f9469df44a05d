// TrueTime intervals, commit-wait driven by an injected clock, CUSUM drift alarms, and the metrics.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { Cusum } from "../../../runtime/clock/drift.js";
import { TimeMetrics } from "../../../runtime/clock/metrics.js";
import { ClockUnsynchronizedError, TrueTime } from "../../../runtime/clock/truetime.js";
import { TIME_METRICS } from "../../../model/time/metrics.js";

describe("TrueTime", () => {
  it("ε = reference uncertainty + 200 ppm since the last sync: Spanner's 1 → 7 ms sawtooth over 30 s", () => {
    const clock = new ManualClock(1_000_000);
    const tt = new TrueTime({ clock });
    expect(() => tt.now()).toThrow(ClockUnsynchronizedError);
    tt.sync(2, 1);
    expect(tt.now()).toEqual({ earliest: 1_000_001, latest: 1_000_003 });
    clock.advance(30_000);
    expect(tt.epsilonMs()).toBeCloseTo(7, 9);
    tt.sync(2, 1);
    expect(tt.epsilonMs()).toBe(1);
  });

  it("after/before are definite only outside the interval", () => {
    const clock = new ManualClock(1000);
    const tt = new TrueTime({ clock });
    tt.sync(0, 5);
    expect(tt.after(994)).toBe(true);
    expect(tt.after(996)).toBe(false);
    expect(tt.before(1006)).toBe(true);
    expect(tt.before(1004)).toBe(false);
  });

  it("commitWait returns only once earliest > ts, waiting about 2ε for a timestamp taken at latest", async () => {
    const clock = new ManualClock(10_000);
    const slept: number[] = [];
    const tt = new TrueTime({ clock, driftPpm: 0, sleep: async (ms) => void (slept.push(ms), clock.advance(ms)) });
    tt.sync(0, 3);
    const ts = tt.now().latest;
    const waited = await tt.commitWait(ts);
    expect(tt.now().earliest).toBeGreaterThan(ts);
    expect(waited).toBeGreaterThanOrEqual(6);
    expect(waited).toBeLessThan(6.01);
    expect(await tt.commitWait(ts - 100)).toBe(0);
  });

  it("an ε-inflation drill widens the interval until it ends", () => {
    const clock = new ManualClock(0);
    const tt = new TrueTime({ clock, driftPpm: 0 });
    tt.sync(0, 1);
    tt.inflate(9, 1000);
    expect(tt.epsilonMs()).toBe(10);
    clock.advance(1000);
    expect(tt.epsilonMs()).toBe(1);
  });

  it("raises a CUSUM drift alarm when the clock starts running fast, and records metrics", async () => {
    const clock = new ManualClock(0);
    const metrics = new TimeMetrics();
    const alarms: string[] = [];
    const tt = new TrueTime({
      clock,
      sleep: async (ms) => clock.advance(ms),
      observer: { ...metrics.trueTimeObserver, driftAlarm: (a, ppm) => (alarms.push(`${a}@${ppm.toFixed(0)}`), metrics.trueTimeObserver.driftAlarm!(a, ppm)) },
    });
    // Healthy: offset wanders by ±0.05 ms per 16 s poll (±3 ppm) — no alarm.
    let offset = 0;
    for (let i = 0; i < 20; i++) {
      offset += i % 2 === 0 ? 0.05 : -0.05;
      clock.advance(16_000);
      tt.sync(offset, 0.5);
    }
    expect(alarms).toEqual([]);
    // The crystal goes bad: the reference pulls ahead 0.4 ms per poll (25 ppm) — CUSUM fires within a few polls.
    for (let i = 0; i < 5; i++) {
      offset += 0.4;
      clock.advance(16_000);
      tt.sync(offset, 0.5);
    }
    expect(alarms.length).toBeGreaterThan(0);
    expect(alarms[0]).toMatch(/^fast@/);
    tt.now();
    await tt.commitWait(tt.now().latest);
    const text = await metrics.registry.metrics();
    expect(text).toContain(`${TIME_METRICS.driftAlarms}{direction="fast"}`);
    expect(text).toMatch(new RegExp(`${TIME_METRICS.epsilon}_count \\d+`));
    expect(text).toMatch(new RegExp(`${TIME_METRICS.commitWait}_count 1`));
  });
});

describe("Cusum", () => {
  it("accumulates a small persistent shift a per-sample threshold would miss, then resets", () => {
    const c = new Cusum({ slack: 1, threshold: 10 });
    const alarms = Array.from({ length: 10 }, () => c.observe(3)); // each sample alone is under 10
    expect(alarms.indexOf("fast")).toBe(5); // 2 per sample after slack: 12 > 10 on the 6th
    expect(c.state.high).toBe(2 * 4);
    expect(new Cusum({ slack: 0, threshold: 5 }).observe(-6)).toBe("slow");
    expect(() => new Cusum({ slack: -1, threshold: 1 })).toThrow(RangeError);
  });
});
