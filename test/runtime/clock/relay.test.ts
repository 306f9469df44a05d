// The grandmaster as a Marzullo relay (runtime/clock/relay.ts, relay-service.ts): it votes over real NTP
// references on loopback (three simulated grandmasters, one deliberately 800 ms wrong), serves the majority's
// time at stratum 2, names the falseticker, and without a majority answers leap 3 / stratum 16 and is not ready.
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { Grandmaster, ntpQuery, preciseSystemClock } from "../../../runtime/clock/index.js";
import { grandmasterRelayService } from "../../../runtime/clock/relay-service.js";
import { NtpServer } from "../../../runtime/clock/ntp/server.js";
import { vote, type ReferenceReading } from "../../../runtime/clock/relay.js";
import { startService } from "../../../runtime/kit/index.js";

const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c();
});

async function reference(offsetMs: number): Promise<string> {
  const gm = new Grandmaster({ offsetMs });
  const { ntp } = await gm.listen(0);
  closers.push(() => gm.close());
  return `127.0.0.1:${ntp}`;
}

/** A reference on loopback announcing `leap` (3: unsynchronised — it still answers, as RFC 5905 servers do). */
async function leapReference(leap: 0 | 1 | 2 | 3): Promise<string> {
  const server = new NtpServer({
    now: () => preciseSystemClock.now(),
    state: () => ({ leap: leap === 3 ? 0 : leap, synchronized: leap !== 3, referenceId: "GPS", referenceMs: preciseSystemClock.now(), rootDispersionS: 0.0005, precision: -20 }),
  });
  const port = await server.listen(0);
  closers.push(() => server.close());
  return `127.0.0.1:${port}`;
}

async function relay(references: { name: string; server: string }[]) {
  const s = await startService(grandmasterRelayService, { references, ntp: { port: 0 }, server: { port: 0 } }, { processMetrics: false });
  closers.push(() => s.close());
  return { ...s, ntpPort: Number(new URL(s.endpoints.ntp!).port) };
}

describe("vote (Marzullo over the references)", () => {
  it("with a majority of truechimers, the served offset is within twice the widest truechimer bound of the truth (property)", () => {
    const truechimer = fc.record({ err: fc.double({ min: 0.01, max: 50, noNaN: true }), frac: fc.double({ min: -1, max: 1, noNaN: true }) });
    const falseticker = fc.record({ offset: fc.double({ min: -5000, max: 5000, noNaN: true }), err: fc.double({ min: 0.01, max: 500, noNaN: true }) });
    fc.assert(
      fc.property(fc.array(truechimer, { minLength: 1, maxLength: 6 }), fc.array(falseticker, { maxLength: 5 }), (good, bad) => {
        fc.pre(good.length > bad.length);
        // A truechimer's interval holds the true offset (0); a falseticker's anything.
        const readings: ReferenceReading[] = [
          ...good.map((g, i) => ({ name: `t${i}`, offsetMs: g.frac * g.err, errorBoundMs: g.err, stratum: 1 })),
          ...bad.map((b, i) => ({ name: `f${i}`, offsetMs: b.offset, errorBoundMs: b.err, stratum: 1 })),
        ];
        const v = vote(readings, 0);
        expect(v.synchronized).toBe(true);
        expect(Math.abs(v.offsetMs)).toBeLessThanOrEqual(2 * Math.max(...good.map((g) => g.err)) + 1e-9);
        // The winning interval is shared by a majority, so by pigeonhole by at least one real truechimer. Which
        // ones are named falsetickers is not guaranteed: a falseticker touching one truechimer's edge can tie
        // with the truechimers' own overlap (Marzullo keeps the first best interval; see the case below).
        expect(v.truechimers.length * 2).toBeGreaterThan(readings.length);
        expect(v.truechimers.some((name) => name.startsWith("t"))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("a falseticker touching a truechimer's edge can tie and win (found by the property): the time stays within the truechimers' bound", () => {
    // t1's interval starts a hair below t0's and the falseticker ends between them: [t1.lo, f.hi] (t1 and f) is
    // found before [t0.lo, t0.hi] (t0 and t1) with the same count, so t0 is named — the served time is still t1's.
    const v = vote(
      [
        { name: "t0", offsetMs: 0, errorBoundMs: 0.01, stratum: 1 },
        { name: "t1", offsetMs: 0, errorBoundMs: 0.010000000000000002, stratum: 1 },
        { name: "f0", offsetMs: -0.055929572378141564, errorBoundMs: 0.04592957237814156, stratum: 1 },
      ],
      0,
    );
    expect(v).toMatchObject({ synchronized: true, truechimers: ["t1", "f0"], falsetickers: ["t0"] });
    expect(Math.abs(v.offsetMs)).toBeLessThanOrEqual(0.02);
  });

  it("unreachable references count against agreement; none answering is no time at all", () => {
    const ok = (name: string, offsetMs: number): ReferenceReading => ({ name, offsetMs, errorBoundMs: 1, stratum: 1 });
    expect(vote([ok("a", 0), { name: "b", error: "timeout" }, { name: "c", error: "timeout" }], 0)).toMatchObject({ synchronized: false, stratum: 16 });
    expect(vote([ok("a", 0), ok("b", 0.5), { name: "c", error: "timeout" }], 0)).toMatchObject({ synchronized: true, stratum: 2, truechimers: ["a", "b"] });
    expect(vote([], 0)).toMatchObject({ synchronized: false });
  });
});

describe("vote: leap indicators", () => {
  const ok = (name: string, offsetMs: number, leap: 0 | 1 | 2): ReferenceReading => ({ name, offsetMs, errorBoundMs: 1, stratum: 1, leap });
  it("relays an insertion or deletion only when more than half of the truechimers announce it", () => {
    expect(vote([ok("a", 0, 1), ok("b", 0, 1), ok("c", 0, 0)], 0).leap).toBe(1);
    expect(vote([ok("a", 0, 2), ok("b", 0, 2), ok("c", 0, 0)], 0).leap).toBe(2);
    expect(vote([ok("a", 0, 1), ok("b", 0, 0), ok("c", 0, 0)], 0).leap).toBe(0);
    // Split announcements are no majority for either.
    expect(vote([ok("a", 0, 1), ok("b", 0, 2), ok("c", 0, 0), ok("d", 0, 0)], 0).leap).toBe(0);
  });

  it("a falseticker's or an unreachable reference's leap has no say; without a majority there is no leap", () => {
    // c is 800 ms off: a falseticker, so a and b (no leap) decide, whatever c announces.
    expect(vote([ok("a", 0, 0), ok("b", 0, 0), ok("c", 800, 1)], 0)).toMatchObject({ falsetickers: ["c"], leap: 0 });
    // Two truechimers announcing a leap, the third unreachable: the majority of those that answered decides.
    expect(vote([ok("a", 0, 1), ok("b", 0, 1), { name: "c", error: "timeout" }], 0)).toMatchObject({ synchronized: true, leap: 1 });
    expect(vote([ok("a", 0, 1), { name: "b", error: "timeout" }, { name: "c", error: "timeout" }], 0)).toMatchObject({ synchronized: false, leap: 0 });
  });
});

describe("meridian time relay (real NTP on loopback)", () => {
  it("passes on a leap second the majority of its references announce (LI 1); an unsynchronised reference (LI 3) does not count", async () => {
    const r = await relay([
      { name: "a", server: await leapReference(1) },
      { name: "b", server: await leapReference(1) },
      { name: "c", server: await leapReference(0) },
      { name: "unsynced", server: await leapReference(3) },
    ]);
    const status = (await (await fetch(`${r.url}/status`)).json()) as { synchronized: boolean; leap: number; truechimers: string[]; unreachable: { name: string; error: string }[] };
    expect(status).toMatchObject({ synchronized: true, leap: 1, truechimers: ["a", "b", "c"] });
    expect(status.unreachable).toEqual([{ name: "unsynced", error: expect.stringMatching(/unsynchronised \(leap 3, stratum 16\)/) as unknown }]);
    const m = await ntpQuery("127.0.0.1", r.ntpPort, { clock: preciseSystemClock });
    expect([m.leap, m.stratum]).toEqual([1, 2]);
  });

  it("a deletion announced by the majority is relayed as LI 2", async () => {
    const r = await relay([
      { name: "a", server: await leapReference(2) },
      { name: "b", server: await leapReference(2) },
      { name: "c", server: await leapReference(0) },
    ]);
    expect((await ntpQuery("127.0.0.1", r.ntpPort, { clock: preciseSystemClock })).leap).toBe(2);
  });

  it("serves the majority's time at stratum 2, outvoting a reference 800 ms wrong", async () => {
    const refs = [
      { name: "a", server: await reference(0) },
      { name: "b", server: await reference(0) },
      { name: "c", server: await reference(800) },
    ];
    const r = await relay(refs);
    const status = (await (await fetch(`${r.url}/status`)).json()) as { synchronized: boolean; falsetickers: string[]; truechimers: string[]; stratum: number };
    expect(status).toMatchObject({ synchronized: true, falsetickers: ["c"], truechimers: ["a", "b"], stratum: 2 });
    expect((await fetch(`${r.url}/readyz`)).status).toBe(200);
    const m = await ntpQuery("127.0.0.1", r.ntpPort, { clock: preciseSystemClock });
    expect(m.stratum).toBe(2);
    expect(m.referenceId).toBe("VOTE");
    // Within the majority's bound of the truth — nowhere near the falseticker's 800 ms.
    expect(Math.abs(m.offsetMs)).toBeLessThan(400);
    expect(await (await fetch(`${r.url}/metrics`)).text()).toMatch(/meridian_time_falsetickers\{service="grandmaster"\} 1/);
  });

  it("without a majority it answers leap 3 / stratum 16 and is not ready", async () => {
    const dead = await reference(0);
    await closers.pop()!(); // closed: nothing answers there
    const r = await relay([
      { name: "a", server: await reference(0) },
      { name: "c", server: await reference(800) },
      { name: "gone", server: dead },
    ]);
    const ready = await fetch(`${r.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(JSON.stringify(await ready.json())).toMatch(/no majority of the 3 references agrees/);
    await expect(ntpQuery("127.0.0.1", r.ntpPort, { clock: preciseSystemClock })).rejects.toThrow(/unsynchronised \(leap 3, stratum 16\)/);
  });
});
