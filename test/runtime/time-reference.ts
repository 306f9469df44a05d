// A kit service's HLC node measured against a real grandmaster (config timeReference, as the workloads render it
// from the region's time plan): a grandmaster 300 ms off with a 250 ms max offset must show on the service's
// /metrics as the measured offset and a frozen skew state. Shared by the services that take a timeReference.
import { expect } from "vitest";
import { grandmasterService } from "../../runtime/clock/index.js";
import { startService, type RunningService } from "../../runtime/kit/index.js";

const metric = (text: string, name: string) => Number(new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, "m").exec(text)?.[2]);

/** Start a grandmaster 300 ms off, then the service (given `timeReference` and `maxOffsetMs: 250`), and check its /metrics. */
export async function expectFrozenAgainstGrandmaster(
  startWith: (reference: { maxOffsetMs: number; timeReference: { grandmaster: string; syncIntervalMs: number } }) => Promise<RunningService>,
  running: RunningService[],
): Promise<void> {
  const gm = await startService(grandmasterService, { offsetMs: 300, ntp: { port: 0 }, server: { port: 0 } }, { processMetrics: false });
  running.push(gm);
  const ntpPort = new URL(gm.endpoints["ntp"]!).port;
  const svc = await startWith({ maxOffsetMs: 250, timeReference: { grandmaster: `127.0.0.1:${ntpPort}`, syncIntervalMs: 100 } });
  running.push(svc);
  let text = "";
  for (let i = 0; i < 100; i++) {
    text = await (await fetch(`${svc.url}/metrics`)).text();
    if (metric(text, "meridian_clock_skew_state") === 2) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(metric(text, "meridian_clock_skew_state")).toBe(2); // frozen
  // Our clock is 300 ms behind the reference, give or take half an NTP round trip on a loaded machine.
  expect(Math.abs(metric(text, "meridian_clock_offset_seconds"))).toBeGreaterThan(0.2);
  expect(Math.abs(metric(text, "meridian_clock_offset_seconds"))).toBeLessThan(0.45);
}
