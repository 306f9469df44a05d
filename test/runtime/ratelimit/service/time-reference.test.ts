// The rate limiter's HLC node measured against a real grandmaster (config timeReference, as the workloads
// render it): a grandmaster 300 ms off with a 250 ms max offset shows on /metrics as the measured offset and
// a frozen skew state. The config refuses a reference without maxOffsetMs (there would be no node to measure).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startService, type RunningService } from "../../../../runtime/kit/index.js";
import { expectFrozenAgainstGrandmaster } from "../../time-reference.js";
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
describe("ratelimit's time reference", () => {
  it("measures its node against the grandmaster: offset and frozen skew state on /metrics", async () => {
    await expectFrozenAgainstGrandmaster(
      (reference) => startService(ratelimitService, { rules: rules(), watch: false, grpc: { port: 0 }, ...reference, server: { port: 0 } }, { processMetrics: false }),
      running,
    );
  }, 60_000);

  it("refuses a time reference without maxOffsetMs", async () => {
    await expect(
      startService(ratelimitService, { rules: rules(), grpc: { port: 0 }, timeReference: { grandmaster: "127.0.0.1:123" }, server: { port: 0 } }, { processMetrics: false }),
    ).rejects.toThrow(/timeReference.*set maxOffsetMs too/s);
  });
});
