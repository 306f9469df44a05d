import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { coarseClock } from "../../../runtime/escrow/coarse-clock.js";

describe("coarse clock", () => {
  it("serves a cached time and catches up with the base on its timer", async () => {
    const base = new ManualClock(1000);
    const c = coarseClock(base, 1);
    base.advance(50);
    expect(c.now()).toBe(1000); // cached: no read of the base on the fast path
    await new Promise((r) => setTimeout(r, 20));
    expect(c.now()).toBe(1050);
    c.stop();
    base.advance(50);
    await new Promise((r) => setTimeout(r, 10));
    expect(c.now()).toBe(1050);
  });
});
