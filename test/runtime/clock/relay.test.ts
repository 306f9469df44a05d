// The grandmaster as a Marzullo relay (runtime/clock/relay.ts, relay-service.ts): it votes over real NTP
// references on loopback (three simulated grandmasters, one deliberately 800 ms wrong), serves the majority's
// time at stratum 2, names the falseticker, and without a majority answers leap 3 / stratum 16 and is not ready.
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { Grandmaster, ntpQuery, preciseSystemClock } from "../../../runtime/clock/index.js";
import { grandmasterRelayService } from "../../../runtime/clock/relay-service.js";
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
        for (const name of v.falsetickers) expect(name.startsWith("f")).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("unreachable references count against agreement; none answering is no time at all", () => {
    const ok = (name: string, offsetMs: number): ReferenceReading => ({ name, offsetMs, errorBoundMs: 1, stratum: 1 });
    expect(vote([ok("a", 0), { name: "b", error: "timeout" }, { name: "c", error: "timeout" }], 0)).toMatchObject({ synchronized: false, stratum: 16 });
    expect(vote([ok("a", 0), ok("b", 0.5), { name: "c", error: "timeout" }], 0)).toMatchObject({ synchronized: true, stratum: 2, truechimers: ["a", "b"] });
    expect(vote([], 0)).toMatchObject({ synchronized: false });
  });
});

describe("meridian time relay (real NTP on loopback)", () => {
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
