// The quota service's clock measured against a real grandmaster (config timeReference, as the workload renders
// it from the region's time plan): a grandmaster 300 ms off with a 250 ms max offset shows on /metrics as the
// measured offset and a frozen skew state. Before this the service ran a bare HLC that measured nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../../runtime/common/clock.js";
import { startService, type RunningService } from "../../../runtime/kit/index.js";
import { quotaService } from "../../../runtime/quota/service.js";
import { expectFrozenAgainstGrandmaster } from "../time-reference.js";
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

describe("quota's time reference", () => {
  it("measures its node against the grandmaster: offset and frozen skew state on /metrics", async () => {
    await expectFrozenAgainstGrandmaster(
      (reference) => startService(quotaService, { ...TREE, postgres: PG_URL, schema, log: log.url, ...reference, server: { port: 0 } }, { clock: systemClock, processMetrics: false }),
      running,
    );
  }, 60_000);

  it("refuses a malformed reference, naming the key", async () => {
    await expect(
      startService(quotaService, { ...TREE, postgres: PG_URL, schema, log: log.url, timeReference: { grandmaster: "grandmaster" }, server: { port: 0 } }, { processMetrics: false }),
    ).rejects.toThrow(/timeReference\.grandmaster.*host:port/s);
  });
});
