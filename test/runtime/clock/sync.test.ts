// NtpSync against the real grandmaster: measurements reach TrueTime and the skew monitor; a lost
// reference counts failures and leaves ε growing; one exchange read late on a busy machine moves nothing,
// a real step of the clock freezes the node on the next exchange.
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
    let m = await sync.pollOnce();
    expect(m).not.toBeNull();
    // Our clock is ~320 ms ahead of the grandmaster: past 50 % of max offset (250), below 80 % (400) — certainly
    // so once an exchange's round trip is under 140 ms (a loaded machine's first one may not be).
    for (let i = 0; i < 20 && node.skew.state !== "degraded"; i++) m = await sync.pollOnce();
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

  it("a reply read late (a busy machine) neither freezes the node nor widens ε; a real skew still freezes it", async () => {
    const gm = new Grandmaster();
    const { ntp } = await gm.listen(0);
    try {
      let skewMs = 0;
      let late = 0;
      const clock = { now: () => preciseSystemClock.now() + skewMs };
      // The exchange's own readings: t1 on time, t4 taken `late` ms after the reply arrived.
      const ntpClock = {
        now: () => {
          const t = clock.now() + late;
          late = 0;
          return t;
        },
      };
      // Max offset 100 ms: degrade at 50, freeze at 80.
      const node = new ClockNode({ clock, maxOffsetMs: 100, skew: { recoveryHoldMs: 60_000 } });
      const sync = new NtpSync(node, { host: "127.0.0.1", port: ntp, clock: ntpClock, timeoutMs: 2000 });
      const slowPoll = async (lateMs: number) => {
        const poll = sync.pollOnce(); // t1 is read now, synchronously
        late = lateMs;
        return (await poll)!;
      };
      // Poll until the state is reached: an exchange slowed by the machine's real load may leave it undecided.
      const pollUntil = async (state: string) => {
        for (let i = 0; i < 20 && node.skew.state !== state; i++) await sync.pollOnce();
        return node.skew.state;
      };
      // The very first exchange is slow: a 400 ms round trip, an apparent offset near −200 ms, ± as much.
      const first = await slowPoll(400);
      expect(first.offsetMs).toBeLessThan(-80);
      expect(node.skew.state).toBe("healthy");
      for (let i = 0; i < 3; i++) await sync.pollOnce();
      // Later a slow one again: the filter passes on a quiet neighbour instead.
      const slow = await slowPoll(400);
      expect(slow.offsetMs).toBeLessThan(-80);
      expect(sync.lastFiltered!.sample).not.toBe(slow);
      expect(node.skew.state).toBe("healthy");
      expect(node.truetime.epsilonMs()).toBeLessThan(slow.errorBoundMs);
      expect(node.skew.events()).toEqual([]);
      // A real skew: the clock is stepped 200 ms ahead of the grandmaster; the first exchange certain of it freezes the node.
      skewMs = 200;
      expect(await pollUntil("frozen")).toBe("frozen");
      expect(node.skew.events().at(-1)).toMatchObject({ to: "frozen", alert: true });
      skewMs = 0;
      expect(await pollUntil("recovering")).toBe("recovering");
    } finally {
      await gm.close();
    }
  });
});
