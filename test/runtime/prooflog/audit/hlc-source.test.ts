import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { HybridClock } from "../../../../runtime/clock/hlc.js";
import { compareHlc, hlcTimestamps } from "../../../../runtime/prooflog/audit/audit.js";

describe("hlcTimestamps: the audit trail stamped by the service's HLC", () => {
  it("keeps the HLC's order (ms wall time, logical ticks) and follows remote updates", () => {
    const clock = new ManualClock(1_700_000_000_000);
    const hlc = new HybridClock({ clock, maxOffsetMs: 500 });
    const source = hlcTimestamps(hlc);
    const a = source();
    const b = source(); // same physical ms: the logical counter ticks
    expect(a.wallTime).toBe(1_700_000_000_000);
    expect(b).toEqual({ wallTime: a.wallTime, logical: a.logical + 1 });
    // A causally later remote event moves the trail forward even though the local clock did not.
    hlc.updateAndCheckMaxOffset({ wall: (1_700_000_000_000 + 200) * 1000, logical: 7 });
    const c = source();
    expect(compareHlc(c, b)).toBeGreaterThan(0);
    expect(c.wallTime).toBe(1_700_000_000_200);
  });
});
