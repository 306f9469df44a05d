// The HLC reset protocol's precondition on a referenced node: the physical clock must be certainly within
// the degrade threshold of its reference — the measurement's error bound counts against it.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { HlcResetRefusedError, resetHlc } from "../../../runtime/clock/epoch.js";
import { ClockNode } from "../../../runtime/clock/node.js";
import { microsFromMs } from "../../../runtime/clock/timestamp.js";
import { FileUpperBound } from "../../../runtime/clock/upper-bound.js";

const dir = mkdtempSync(join(tmpdir(), "hlc-epoch-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("resetHlc on a node measured against its reference", () => {
  it("refuses while the offset ± its bound may reach the degrade threshold, and resets once a measurement is certain", () => {
    const clock = new ManualClock(1_700_000_000_000);
    const node = new ClockNode({ clock, maxOffsetMs: 250 }); // degrade threshold 125 ms
    // The HLC ran 200 ms ahead of the physical clock (a peer's timestamp, within max offset).
    node.receive({ wall: microsFromMs(clock.now() + 200), logical: 0 });
    const reset = () => resetHlc(node, { store: new FileUpperBound(dir), minLeadMs: 100, referenced: true, clock, reason: "test" });
    expect(reset).toThrow(/not been measured/);
    // A slow exchange: our clock looks 10 ms ahead, but could be 160 ms off.
    node.measure(10, 150);
    expect(reset).toThrow(HlcResetRefusedError);
    expect(reset).toThrow(/physical clock is -10 ms ± 150 ms off its time reference \(degrade threshold 125 ms\)/);
    node.measure(10, 1);
    expect(reset().epoch).toBe(1);
    expect(node.epoch.epoch).toBe(1);
  });
});
