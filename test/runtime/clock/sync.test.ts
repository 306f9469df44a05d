// NtpSync against the real grandmaster: measurements reach TrueTime and the skew monitor; a lost
// reference counts failures and leaves ε growing.
import { describe, expect, it } from "vitest";
import { Grandmaster, preciseSystemClock } from "../../../runtime/clock/grandmaster.js";
import { ClockNode } from "../../../runtime/clock/node.js";
import { NtpSync } from "../../../runtime/clock/sync.js";

describe("NtpSync", () => {
  it("polls the grandmaster into the node, and counts failures once it is gone", async () => {
    const gm = new Grandmaster({ offsetMs: -320 });
    const { ntp } = await gm.listen(0);
    const node = new ClockNode({ clock: preciseSystemClock, maxOffsetMs: 500 });
    const errors: Error[] = [];
    const sync = new NtpSync(node, { host: "127.0.0.1", port: ntp, clock: preciseSystemClock, timeoutMs: 300, onError: (e) => errors.push(e) });
    const m = await sync.pollOnce();
    expect(m).not.toBeNull();
    // Our clock is ~320 ms ahead of the grandmaster: past 50 % of max offset (250), below 80 % (400).
    expect(node.skew.state).toBe("degraded");
    expect(node.truetime.epsilonMs()).toBeGreaterThan(0);
    await gm.close();
    expect(await sync.pollOnce()).toBeNull();
    expect(sync.consecutiveFailures).toBe(1);
    expect(errors[0]!.message).toMatch(/no NTP reply/);
    expect(sync.last).toBe(m);
    sync.start();
    sync.stop();
  });
});
