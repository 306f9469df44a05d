import { describe, expect, it } from "vitest";
import { calibratedRealtimeClock, measureAnchor } from "../../../runtime/clock/realtime.js";

describe("calibrated realtime clock", () => {
  it("anchors the monotonic clock to wall time at a Date.now() edge", () => {
    const anchor = measureAnchor(3);
    // Date.now() truncates to the millisecond, so the calibrated reading is within [Date.now(), Date.now() + 1).
    const clock = calibratedRealtimeClock({ recalibrateMs: 60_000 });
    try {
      const before = Date.now();
      const t = clock.now();
      const after = Date.now();
      expect(t).toBeGreaterThanOrEqual(before - 1);
      expect(t).toBeLessThan(after + 2);
      expect(Math.abs(anchor + performance.now() - clock.now())).toBeLessThan(1);
      clock.calibrate();
    } finally {
      clock.stop();
    }
  });
});
