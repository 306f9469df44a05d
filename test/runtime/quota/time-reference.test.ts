// The quota service's clock measured against a real grandmaster (config timeReference, as the workload renders
// it from the region's time plan): a grandmaster 300 ms off with a 250 ms max offset shows on /metrics as the
// measured offset and a frozen skew state. Before this the service ran a bare HLC that measured nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grandmasterService } from "../../../runtime/clock/index.js";
import { systemClock } from "../../../runtime/common/clock.js";
import { startService, type RunningService } from "../../../runtime/kit/index.js";
import { quotaService } from "../../../runtime/quota/service.js";
import { dropSchema, ensureQuotaDb, PG_URL, startAuditLog, TREE, uniqueSchema } from "./fixture.js";

let log: Awaited<ReturnType<typeof startAuditLog>>;
const running: RunningService[] = [];
const schema = uniqueSchema("quota_time");
beforeAll(async () => {
  await ensureQuotaDb();
  log = await startAuditLog();
});
afterAll(async () => {
  for (const s of running.reverse()) await s.close().catch(() => undefined);
  await log?.close();
  await dropSchema(schema);
});

const metric = (text: string, name: string) => Number(new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, "m").exec(text)?.[2]);

describe("quota's time reference", () => {
  it("measures its node against the grandmaster: offset and frozen skew state on /metrics", async () => {
    const gm = await startService(grandmasterService, { offsetMs: 300, ntp: { port: 0 }, server: { port: 0 } }, { processMetrics: false });
    running.push(gm);
    const ntpPort = new URL(gm.endpoints["ntp"]!).port;
    const quota = await startService(
      quotaService,
      { ...TREE, postgres: PG_URL, schema, log: log.url, maxOffsetMs: 250, timeReference: { grandmaster: `127.0.0.1:${ntpPort}`, syncIntervalMs: 100 }, server: { port: 0 } },
      { clock: systemClock, processMetrics: false },
    );
    running.push(quota);
    let text = "";
    for (let i = 0; i < 100; i++) {
      text = await (await fetch(`${quota.url}/metrics`)).text();
      if (metric(text, "meridian_clock_skew_state") === 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(metric(text, "meridian_clock_skew_state")).toBe(2); // frozen
    // Our clock is 300 ms behind the reference, give or take half an NTP round trip on a loaded machine.
    expect(Math.abs(metric(text, "meridian_clock_offset_seconds"))).toBeGreaterThan(0.2);
    expect(Math.abs(metric(text, "meridian_clock_offset_seconds"))).toBeLessThan(0.45);
  }, 60_000);

  it("refuses a malformed reference, naming the key", async () => {
    await expect(
      startService(quotaService, { ...TREE, postgres: PG_URL, schema, log: log.url, timeReference: { grandmaster: "grandmaster" }, server: { port: 0 } }, { processMetrics: false }),
    ).rejects.toThrow(/timeReference\.grandmaster.*host:port/s);
  });
});
