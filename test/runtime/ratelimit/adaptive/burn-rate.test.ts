import { describe, expect, it } from "vitest";
import { BurnRateThrottle } from "../../../../runtime/ratelimit/adaptive/burn-rate.js";

const MIN = 60_000;

function traffic(t: BurnRateThrottle, from: number, to: number, errorRate: number) {
  for (let now = from; now < to; now += 10_000) t.record(now, 1000 * (1 - errorRate), 1000 * errorRate);
}

describe("SLO burn-rate throttling", () => {
  it("measures burn as a multiple of the error budget per window", () => {
    const t = new BurnRateThrottle({ objective: 0.999 });
    traffic(t, 0, 60 * MIN, 0.002);
    expect(t.burnRate(60 * MIN, 60 * MIN - 1)).toBeCloseTo(2, 9);
    traffic(t, 60 * MIN, 65 * MIN, 0.05);
    expect(t.burnRate(5 * MIN, 65 * MIN - 1)).toBeCloseTo(50, 9);
  });

  it("fires only when both windows of a pair burn too fast, sheds at once and recovers gradually", () => {
    const t = new BurnRateThrottle({ objective: 0.999, recoveryStep: 0.1, recoveryIntervalMs: MIN });
    // A short spike: the 5-minute window burns hot but the hour does not yet — no throttling.
    traffic(t, 0, 58 * MIN, 0);
    traffic(t, 58 * MIN, 60 * MIN, 0.1);
    expect(t.firing(60 * MIN - 1)).toEqual([]);
    expect(t.admitFraction(60 * MIN - 1)).toBe(1);
    // Sustained: both 1 h and 5 min above 14.4× → admit half of the sheddable traffic.
    traffic(t, 60 * MIN, 70 * MIN, 0.1);
    expect(t.firing(70 * MIN - 1).map((w) => w.burnRate)).toEqual([14.4, 6]);
    expect(t.admitFraction(70 * MIN - 1)).toBe(0.5);
    // Errors stop. The 1 h/5 min pair clears after 5 minutes but the 6 h/30 min pair still fires until
    // its 30-minute window is clean (t = 100 min); then admission recovers by 0.1 a minute.
    traffic(t, 70 * MIN, 120 * MIN, 0);
    expect(t.firing(80 * MIN).map((w) => w.burnRate)).toEqual([6]);
    const fractions = [80, 99, 100, 102, 104, 110].map((m) => Number(t.admitFraction(m * MIN).toFixed(2)));
    expect(fractions.slice(0, 4)).toEqual([0.5, 0.5, 0.6, 0.8]);
    expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
    expect(fractions[fractions.length - 1]).toBe(1);
    expect(fractions.some((f) => f > 0.5 && f < 1)).toBe(true);
    let admitted = 0;
    for (let i = 0; i < 100; i++) if (t.shouldAdmit(110 * MIN, false, () => i / 100)) admitted++;
    expect(admitted).toBe(100);
    expect(() => new BurnRateThrottle({ objective: 99.9 })).toThrow(/objective is 99.9; expected a fraction/);
  });
});
