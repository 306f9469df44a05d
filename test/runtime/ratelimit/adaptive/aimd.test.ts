import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AimdLimiter } from "../../../../runtime/ratelimit/adaptive/aimd.js";

describe("AIMD limit", () => {
  it("converges to a sawtooth around the service's capacity (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 20, max: 500 }), fc.constantFrom(0.5, 0.7, 0.9), fc.integer({ min: 1, max: 10 }), (capacity, decrease, increase) => {
        const a = new AimdLimiter({ initial: 10, min: 1, max: 10_000, increase, decrease, intervalMs: 100, latencyTargetMs: 50 });
        let now = 0;
        const seen: number[] = [];
        for (let interval = 0; interval < 2000; interval++) {
          // Saturating demand: as many in flight as the limit allows; queueing once above capacity.
          const inFlight = Math.floor(a.limit);
          const latency = inFlight <= capacity ? 20 : 20 * (inFlight / capacity) ** 3;
          for (let k = 0; k < 10; k++) a.observe({ latencyMs: latency, error: false, inFlight }, now + k);
          now += 100;
          a.roll(now);
          if (interval > 1500) seen.push(a.limit);
        }
        const low = Math.min(...seen);
        const high = Math.max(...seen);
        expect(high).toBeLessThanOrEqual(capacity * 1.5 + increase + 1);
        expect(low).toBeGreaterThanOrEqual(Math.min(capacity, 10) * decrease - 1);
        expect(seen.some((l) => l >= capacity * 0.6)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it("cuts once per interval on errors or backpressure, never grows while idle, stays in bounds", () => {
    const a = new AimdLimiter({ initial: 100, min: 10, max: 120, increase: 10, decrease: 0.5, intervalMs: 1000, latencyTargetMs: 100 });
    for (let i = 0; i < 50; i++) a.observe({ latencyMs: 5, error: i % 2 === 0, inFlight: 90 }, i);
    a.roll(1000);
    expect(a.limit).toBe(50);
    expect(a.lastSignal).toBe("errors");
    a.signalBackpressure(1500);
    a.roll(2000);
    expect(a.limit).toBe(25);
    expect(a.lastSignal).toBe("backpressure");
    a.observe({ latencyMs: 5, error: false, inFlight: 1 }, 2500);
    a.roll(3000);
    expect(a.limit).toBe(25);
    for (let t = 3000; t < 20_000; t += 1000) {
      a.observe({ latencyMs: 5, error: false, inFlight: 1000 }, t);
      a.roll(t + 1000);
    }
    expect(a.limit).toBe(120);
    for (let t = 20_000; t < 40_000; t += 1000) {
      a.signalBackpressure(t);
      a.roll(t + 1000);
    }
    expect(a.limit).toBe(10);
    expect(() => new AimdLimiter({ initial: 1, min: 1, max: 2, increase: 1, decrease: 1.5, intervalMs: 1, latencyTargetMs: 1 })).toThrow(/decrease is 1.5/);
  });
});
