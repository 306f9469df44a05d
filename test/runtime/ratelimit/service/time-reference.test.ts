// The rate limiter's HLC node measured against a real grandmaster (config timeReference, as the workloads
// render it): a grandmaster 300 ms off with a 250 ms max offset shows on /metrics as the measured offset and
// a frozen skew state. The config refuses a reference without maxOffsetMs (there would be no node to measure).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { grandmasterService } from "../../../../runtime/clock/index.js";
import { startService, type RunningService } from "../../../../runtime/kit/index.js";
import { ratelimitService } from "../../../../runtime/ratelimit/service/service.js";

const running: RunningService[] = [];
afterAll(async () => {
  for (const s of running.reverse()) await s.close();
});

const rules = () => {
  const file = join(mkdtempSync(join(tmpdir(), "mrl-time-")), "api.yaml");
  writeFileSync(file, "domain: api\ndescriptors:\n  - key: api_key\n    rate_limit: { unit: second, requests_per_unit: 10 }\n");
  return file;
};
const metric = (text: string, name: string) => Number(new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, "m").exec(text)?.[2]);

describe("ratelimit's time reference", () => {
  it("measures its node against the grandmaster: offset and frozen skew state on /metrics", async () => {
    const gm = await startService(grandmasterService, { offsetMs: 300, ntp: { port: 0 }, server: { port: 0 } }, { processMetrics: false });
    running.push(gm);
    const ntpPort = new URL(gm.endpoints["ntp"]!).port;
    const rl = await startService(
      ratelimitService,
      { rules: rules(), watch: false, grpc: { port: 0 }, maxOffsetMs: 250, timeReference: { grandmaster: `127.0.0.1:${ntpPort}`, syncIntervalMs: 100 }, server: { port: 0 } },
      { processMetrics: false },
    );
    running.push(rl);
    let text = "";
    for (let i = 0; i < 100; i++) {
      text = await (await fetch(`${rl.url}/metrics`)).text();
      if (metric(text, "meridian_clock_skew_state") === 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(metric(text, "meridian_clock_skew_state")).toBe(2); // frozen
    // Our clock is 300 ms behind the reference, give or take half an NTP round trip on a loaded machine.
    expect(Math.abs(metric(text, "meridian_clock_offset_seconds"))).toBeGreaterThan(0.2);
    expect(Math.abs(metric(text, "meridian_clock_offset_seconds"))).toBeLessThan(0.45);
  }, 60_000);

  it("refuses a time reference without maxOffsetMs", async () => {
    await expect(
      startService(ratelimitService, { rules: rules(), grpc: { port: 0 }, timeReference: { grandmaster: "127.0.0.1:123" }, server: { port: 0 } }, { processMetrics: false }),
    ).rejects.toThrow(/timeReference.*set maxOffsetMs too/s);
  });
});
