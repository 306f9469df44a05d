// ε against chrony's own bound at the same instant. chronyd reports its root dispersion as of its answer and
// grows it at skew + |residual frequency| + maxclockerror from its ref time (reference.c get_root_dispersion);
// the bound it states on true time at instant t is root delay / 2 + that dispersion. A report handled late — a
// busy event loop, or the node time agent's cached line — is older than the instant it arrives, so ε must be aged
// from when chronyd could have answered, not from when the answer was handled. The real-chronyd check is in
// chrony-sync.test.ts; here a simulated chronyd and a manual clock pin every instant.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { afterAll, describe, expect, it, vi } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { ChronySync, ClockNode } from "../../../runtime/clock/index.js";
import { PolledReference } from "../../../runtime/clock/polled.js";
import { referenceSync } from "../../../runtime/clock/reference.js";

/** chronyd's state since its last update, and `chronyc -c tracking` as it prints it at an instant. */
interface Chrony {
  refTimeS: number;
  systemTimeS: number;
  residualFrequencyPpm: number;
  skewPpm: number;
  rootDelayS: number;
  /** Root dispersion at the ref time. */
  rootDispersionS: number;
}
const MAX_CLOCK_ERROR_PPM = 1;
const rateOf = (c: Chrony) => (c.skewPpm + Math.abs(c.residualFrequencyPpm) + MAX_CLOCK_ERROR_PPM) / 1e6;
const dispersionAt = (c: Chrony, atS: number) => c.rootDispersionS + Math.abs(atS - c.refTimeS) * rateOf(c);
/** chrony's bound on true time at `atS` (ms): root delay / 2 + root dispersion then. */
const boundMs = (c: Chrony, atS: number) => (c.rootDelayS / 2 + dispersionAt(c, atS)) * 1000;
const trackingLine = (c: Chrony, atS: number) =>
  [
    "7F000001",
    "127.0.0.1",
    "2",
    c.refTimeS.toFixed(9),
    c.systemTimeS.toFixed(9),
    "0.000001000",
    "0.000005000",
    "-0.800",
    c.residualFrequencyPpm.toFixed(3),
    c.skewPpm.toFixed(3),
    c.rootDelayS.toFixed(9),
    dispersionAt(c, atS).toFixed(9),
    "0.3",
    "Normal",
  ].join(",");
// chronyc prints seconds to 9 decimals: what it shows may be half a nanosecond below chrony's value.
const PRINTED_NS_MS = 1e-6;

// Just after the grandmaster's dispersion jumps, a real chronyd reported skew 10⁶ ppm (its samples disagree):
// its dispersion then grows a millisecond per millisecond.
const unsettled: Chrony = { refTimeS: 1_000_000 - 1.4, systemTimeS: -0.00002, residualFrequencyPpm: 0.963, skewPpm: 1e6, rootDelayS: 0.00025, rootDispersionS: 0.09 };

describe("ε covers chrony's bound at the instant ε is read", () => {
  it("a report whose answer waited 30 ms in a busy event loop: ε is aged from the read's start, not from its handling", async () => {
    const clock = new ManualClock(1_000_000_000);
    const node = new ClockNode({ clock, maxOffsetMs: 250 });
    const sync = new ChronySync(node, {
      clock,
      source: "chrony test",
      read: async () => {
        clock.advance(2); // chronyc reaches chronyd
        const line = trackingLine(unsettled, clock.now() / 1000);
        clock.advance(30); // chronyc exits, the callback waits behind other work
        return line;
      },
    });
    expect(await sync.pollOnce()).toMatchObject({ status: "SYNCHRONIZED" });
    for (const laterMs of [0, 1, 50, 1000]) {
      clock.advance(laterMs);
      expect(node.truetime.epsilonMs()).toBeGreaterThanOrEqual(boundMs(unsettled, clock.now() / 1000) - PRINTED_NS_MS);
    }
  });

  it("the node time agent's line is as old as the agent says: ε is aged from before the agent read it", async () => {
    const clock = new ManualClock(1_000_000_000);
    const node = new ClockNode({ clock, maxOffsetMs: 250 });
    const sync = new ChronySync(node, {
      clock,
      source: "time agent test",
      // The agent read chronyd 800 ms before this read began, and says so.
      read: async () => ({ line: trackingLine(unsettled, (clock.now() - 800) / 1000), ageMs: 800 }),
    });
    await sync.pollOnce();
    expect(node.truetime.epsilonMs()).toBeGreaterThanOrEqual(boundMs(unsettled, clock.now() / 1000) - PRINTED_NS_MS);
    clock.advance(200);
    expect(node.truetime.epsilonMs()).toBeGreaterThanOrEqual(boundMs(unsettled, clock.now() / 1000) - PRINTED_NS_MS);
  });

  it("property: for any chrony state, read latency, agent age and later instant, ε ≥ root delay / 2 + root dispersion then", async () => {
    const chrony = fc.record({
      refAgeS: fc.double({ min: 0, max: 2000, noNaN: true }),
      systemTimeS: fc.double({ min: -0.5, max: 0.5, noNaN: true }),
      residualFrequencyPpm: fc.double({ min: -1000, max: 1000, noNaN: true }),
      skewPpm: fc.double({ min: 0, max: 1e6, noNaN: true }),
      rootDelayS: fc.double({ min: 0, max: 0.5, noNaN: true }),
      rootDispersionS: fc.double({ min: 0, max: 1, noNaN: true }),
    });
    const timing = fc.record({
      // How long before this read began the line was cached (0: chronyc itself), and when after that chronyd answered.
      ageMs: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 2000, noNaN: true })),
      answerLagMs: fc.double({ min: 0, max: 2000, noNaN: true }),
      // From chronyd's answer (or the read's start, whichever is later) to the callback, then to each status read.
      handleLagMs: fc.double({ min: 0, max: 5000, noNaN: true }),
      laterMs: fc.array(fc.double({ min: 0, max: 60_000, noNaN: true }), { minLength: 1, maxLength: 4 }),
    });
    await fc.assert(
      fc.asyncProperty(chrony, timing, async (c, t) => {
        // Early in the epoch, so that seconds as doubles resolve far below the nanosecond chronyc prints to.
        const startMs = 10_000_000;
        const answeredMs = startMs - t.ageMs + Math.min(t.answerLagMs, t.ageMs === 0 ? Infinity : t.ageMs);
        const state: Chrony = { ...c, refTimeS: answeredMs / 1000 - c.refAgeS };
        const clock = new ManualClock(startMs);
        const node = new ClockNode({ clock, maxOffsetMs: 250 });
        const sync = new ChronySync(node, {
          clock,
          source: "chrony property",
          read: async () => {
            const line = trackingLine(state, answeredMs / 1000);
            clock.set(Math.max(startMs, answeredMs) + t.handleLagMs);
            return t.ageMs === 0 ? line : { line, ageMs: t.ageMs };
          },
        });
        expect((await sync.pollOnce())?.errorBoundMs).not.toBeNull();
        for (const later of t.laterMs) {
          clock.advance(later);
          expect(node.truetime.epsilonMs()).toBeGreaterThanOrEqual(boundMs(state, clock.now() / 1000) - PRINTED_NS_MS);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("the node time agent's age header reaches ε", () => {
  const servers: Server[] = [];
  afterAll(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));
  async function agent(age: string | null, line: string): Promise<{ host: string; port: number }> {
    const server = createServer((_req, res) => {
      res.setHeader("content-type", "text/csv; charset=utf-8");
      if (age !== null) res.setHeader("x-meridian-tracking-age-ms", age);
      res.end(`${line}\n`);
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return { host: "127.0.0.1", port: (server.address() as AddressInfo).port };
  }

  it("a line the agent read 900 ms before it answered: ε covers chrony's bound now; no or a garbage age is refused", async () => {
    const clock = new ManualClock(1_000_000_000);
    const line = trackingLine(unsettled, (clock.now() - 900) / 1000);
    const node = new ClockNode({ clock, maxOffsetMs: 250 });
    await referenceSync(node, { agent: await agent("900", line), syncIntervalMs: 1000 }, clock, (e) => expect.fail(e.message))!.pollOnce();
    expect(node.truetime.epsilonMs()).toBeGreaterThanOrEqual(boundMs(unsettled, clock.now() / 1000) - PRINTED_NS_MS);

    for (const age of [null, "-5", "soon"]) {
      const errors: string[] = [];
      const fresh = new ClockNode({ clock, maxOffsetMs: 250 });
      expect(await referenceSync(fresh, { agent: await agent(age, line), syncIntervalMs: 1000 }, clock, (e) => errors.push(e.message))!.pollOnce()).toBeNull();
      expect(errors).toEqual([expect.stringMatching(/x-meridian-tracking-age-ms .* is not a duration in ms$/)]);
      expect(fresh.status().epsilonMs).toBeNull();
    }
  });
});

describe("PolledReference", () => {
  it("skips a tick while the previous poll is in flight, so an older reading cannot land after a newer one", async () => {
    vi.useFakeTimers();
    try {
      const pending: (() => void)[] = [];
      class Slow extends PolledReference<number> {
        constructor() {
          super(100);
        }
        pollOnce(): Promise<number | null> {
          return new Promise((resolve) => pending.push(() => resolve(1)));
        }
      }
      const ref = new Slow();
      ref.start();
      await vi.advanceTimersByTimeAsync(1000);
      expect(pending).toHaveLength(1);
      pending[0]!();
      await vi.advanceTimersByTimeAsync(100);
      expect(pending).toHaveLength(2);
      ref.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});
