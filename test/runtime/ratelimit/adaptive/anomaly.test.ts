import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RateAnomalyDetector, RateBaseline } from "../../../../runtime/ratelimit/adaptive/anomaly.js";

const opts = { halfLifeIntervals: 30, threshold: 6, warmupIntervals: 20 };
const feed = (b: RateBaseline, counts: number[]) => counts.map((c) => b.observe(c));

describe("RateBaseline", () => {
  it("never alarms on a series that stays within two Poisson deviations of its rate", () => {
    fc.assert(
      fc.property(fc.integer({ min: 16, max: 10_000 }), fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 1, maxLength: 300 }), (rate, jitter) => {
        const b = new RateBaseline(opts);
        const verdicts = feed(
          b,
          jitter.map((j) => Math.round(rate + j * Math.sqrt(rate) * 0.99)),
        );
        expect(verdicts.filter((v) => v.anomaly !== null)).toEqual([]);
      }),
    );
  });

  it("reports a spike above the threshold and a drop to nothing, once warmed up", () => {
    fc.assert(
      fc.property(fc.integer({ min: 49, max: 100_000 }), (rate) => {
        const b = new RateBaseline(opts);
        feed(b, new Array<number>(40).fill(rate));
        const spike = b.observe(Math.ceil(rate + 7 * Math.sqrt(rate)));
        expect(spike.anomaly).toBe("spike");
        expect(spike.score).toBeGreaterThan(6);
        expect(b.observe(0).anomaly).toBe("drop");
      }),
    );
  });

  it("only learns during the warm-up, whatever the counts", () => {
    const b = new RateBaseline(opts);
    const verdicts = feed(b, [1, 1000, 0, 5000, 0, ...new Array<number>(15).fill(3)]);
    expect(verdicts.every((v) => v.anomaly === null && v.score === 0)).toBe(true);
    // The warm-up is a plain running mean of what it saw: (1 + 1000 + 5000 + 15·3) / 20.
    expect(b.observe(3).mean).toBeCloseTo(302.3, 6);
  });

  it("keeps flagging a sustained attack for many intervals, and learns a lasting level shift in the end", () => {
    const b = new RateBaseline(opts);
    feed(b, new Array<number>(60).fill(100));
    const attack = feed(b, new Array<number>(20).fill(1000));
    expect(attack.every((v) => v.anomaly === "spike")).toBe(true);
    const later = feed(b, new Array<number>(3000).fill(1000));
    expect(later.at(-1)!.anomaly).toBeNull();
    expect(later.at(-1)!.mean).toBeCloseTo(1000, 0);
  });
});

describe("RateAnomalyDetector", () => {
  const detector = () => new RateAnomalyDetector({ ...opts, intervalMs: 1000, maxSeries: 2 });

  it("judges each series per interval, a silent series on zero", () => {
    const d = detector();
    d.roll(0);
    for (let t = 0; t < 40; t++) {
      d.record("checkout", 100);
      d.record("search", 400);
      d.roll((t + 1) * 1000);
    }
    d.record("search", 4000);
    const verdicts = d.roll(41_000);
    expect(verdicts.map((v) => [v.series, v.intervalStart, v.count, v.anomaly])).toEqual([
      ["checkout", 40_000, 0, "drop"],
      ["search", 40_000, 4000, "spike"],
    ]);
  });

  it("judges intervals nobody rolled as empty, and does not track more series than allowed", () => {
    const d = detector();
    d.roll(0);
    for (let t = 0; t < 40; t++) {
      d.record("a", 100);
      d.roll((t + 1) * 1000);
    }
    const gap = d.roll(43_500);
    expect(gap.map((v) => [v.intervalStart, v.count, v.anomaly])).toEqual([
      [40_000, 0, "drop"],
      [41_000, 0, "drop"],
      [42_000, 0, "drop"],
    ]);
    d.record("b", 1);
    d.record("c", 5);
    expect(d.tracked).toBe(2);
    expect(d.untracked).toBe(5);
  });

  it("refuses options that cannot work", () => {
    expect(() => new RateAnomalyDetector({ ...opts, intervalMs: 0, maxSeries: 1 })).toThrow(/intervalMs > 0/);
  });
});
