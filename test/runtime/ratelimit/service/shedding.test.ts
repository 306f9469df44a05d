// Burn-rate shedding wired from config into `meridian ratelimit serve`: outcomes reported by an operator
// (never by an anonymous caller) that burn the error budget too fast make the service answer OVER_LIMIT to
// sheddable requests before any counter is charged, critical requests still reach the limits, and the
// shedding shows on /metrics.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { localOperatorAuth, startService, type LocalOperatorAuth, type RunningService } from "../../../../runtime/kit/index.js";
import { ratelimitService } from "../../../../runtime/ratelimit/service/service.js";

const clock = new ManualClock(Date.parse("2026-12-02T12:00:00Z"));
let ops: LocalOperatorAuth;
let svc: RunningService;

beforeAll(async () => {
  const file = join(mkdtempSync(join(tmpdir(), "mrl-shed-")), "api.yaml");
  writeFileSync(file, "domain: api\ndescriptors:\n  - key: api_key\n    rate_limit: { unit: second, requests_per_unit: 1000 }\n");
  ops = await localOperatorAuth(clock);
  svc = await startService(
    ratelimitService,
    {
      rules: file,
      watch: false,
      grpc: { port: 0 },
      burnRate: {
        objective: 0.99,
        windows: [{ longMs: 60_000, shortMs: 10_000, burnRate: 10, admit: 0 }],
        bucketMs: 1000,
        recoveryStep: 0.5,
        recoveryIntervalMs: 30_000,
        critical: { key: "priority", value: "critical" },
      },
      server: { port: 0, auth: ops.auth },
    },
    { clock, processMetrics: false },
  );
});
afterAll(() => svc?.close());

const decide = async (entries: { key: string; value: string }[]) => {
  const res = await fetch(`${svc.url}/v1/ratelimit`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ domain: "api", descriptors: [{ entries }] }) });
  return (await res.json()) as { overall_code: string; statuses: { code: string; limit_remaining?: number }[] };
};
const report = async (good: number, bad: number, headers: Record<string, string>) =>
  fetch(`${svc.url}/v1/ratelimit/outcomes`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ good, bad }) });

describe("burn-rate shedding in the rate limit service", () => {
  it("sheds sheddable requests while the budget burns, keeps critical ones, and recovers", async () => {
    const user = [{ key: "api_key", value: "k1" }];
    expect((await decide(user)).overall_code).toBe("OK");
    // Anonymous outcome reports are refused: shedding cannot be triggered by anyone.
    expect((await report(0, 1000, {})).status).toBe(401);
    expect((await decide(user)).overall_code).toBe("OK");

    const op = { authorization: `Bearer ${await ops.token()}` };
    const r = await report(50, 50, op); // 50% errors against a 1% budget: 50× burn in both windows
    expect(r.status).toBe(200);
    expect(((await r.json()) as { admitFraction: number }).admitFraction).toBe(0);
    const shed = await decide(user);
    expect(shed).toMatchObject({ overall_code: "OVER_LIMIT", statuses: [{ code: "OVER_LIMIT" }] });
    // A critical request still goes to the limits (and is charged there).
    expect((await decide([...user, { key: "priority", value: "critical" }])).overall_code).toBe("OK");
    const metrics = await (await fetch(`${svc.url}/metrics`)).text();
    expect(metrics).toMatch(/ratelimit_burn_rate_shed\{[^}]*\} [1-9]/);

    // The bad minute passes (short window clean), then recovery is gradual: half, then all.
    clock.advance(61_000);
    await report(1000, 0, op);
    expect(((await (await report(1, 0, op)).json()) as { admitFraction: number }).admitFraction).toBe(0);
    clock.advance(30_000);
    expect(((await (await report(1, 0, op)).json()) as { admitFraction: number }).admitFraction).toBe(0.5);
    clock.advance(30_000);
    expect(((await (await report(1, 0, op)).json()) as { admitFraction: number }).admitFraction).toBe(1);
    expect((await decide(user)).overall_code).toBe("OK");
  });
});
