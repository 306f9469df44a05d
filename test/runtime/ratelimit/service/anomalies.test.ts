// Anomaly detection wired from config into `meridian ratelimit serve`: a rule's hits are judged per
// interval against its learnt baseline; a spike and a drop show on /metrics (score and counter, which the
// blueprint's alerts read) and at the operator-only GET /v1/ratelimit/admin/anomalies; limits are unchanged.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { localOperatorAuth, startService, type LocalOperatorAuth } from "../../../../runtime/kit/index.js";
import { ratelimitService } from "../../../../runtime/ratelimit/service/service.js";

const clock = new ManualClock(Date.parse("2026-12-02T12:00:00Z"));
let ops: LocalOperatorAuth;
const start = (config: Record<string, unknown>) => startService(ratelimitService, config, { clock, processMetrics: false });
let svc: Awaited<ReturnType<typeof start>>;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "mrl-anomaly-"));
  writeFileSync(join(dir, "api.yaml"), "domain: api\ndescriptors:\n  - key: api_key\n    rate_limit: { unit: second, requests_per_unit: 100000 }\n");
  ops = await localOperatorAuth(clock);
  svc = await start({
    rules: dir,
    watch: false,
    grpc: { host: "127.0.0.1", port: 0 },
    anomaly: { intervalMs: 1000, halfLifeIntervals: 10, threshold: 6, warmupIntervals: 5 },
    server: { port: 0, auth: ops.auth },
  });
});
afterAll(() => svc?.close());

const hits = async (n: number) => {
  const res = await fetch(`${svc.url}/v1/ratelimit`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ domain: "api", descriptors: [{ entries: [{ key: "api_key", value: "k1" }], hits_addend: n }] }),
  });
  expect(((await res.json()) as { overall_code: string }).overall_code).toBe("OK");
};
/** One interval with `n` hits, closed. */
const interval = async (n: number) => {
  if (n > 0) await hits(n);
  clock.advance(1000);
  return svc.parts.anomalies!.tick();
};
const metrics = async () => (await fetch(`${svc.url}/metrics`)).text();

describe("anomaly detection in the rate limit service", () => {
  it("reports a spike and a drop of a rule's rate on /metrics and to operators only", async () => {
    for (let i = 0; i < 12; i++) expect((await interval(50)).map((v) => v.anomaly)).toEqual([null]);

    const [spike] = await interval(120);
    expect(spike).toMatchObject({ series: "api\u0000api.api_key", count: 120, anomaly: "spike" });
    expect(spike!.score).toBeGreaterThan(6);
    let text = await metrics();
    expect(text).toMatch(/^ratelimit_rate_anomalies_total\{domain="api",key="api\.api_key",direction="spike"[^}]*\} 1$/m);
    expect(Number(/^ratelimit_rate_anomaly_score\{domain="api",key="api\.api_key"[^}]*\} (\S+)$/m.exec(text)![1])).toBeGreaterThan(6);

    const [drop] = await interval(0);
    expect(drop).toMatchObject({ count: 0, anomaly: "drop" });
    text = await metrics();
    expect(text).toMatch(/^ratelimit_rate_anomalies_total\{domain="api",key="api\.api_key",direction="drop"[^}]*\} 1$/m);

    // The report is for operators: no credential 401; a verified operator token sees each rule's last interval.
    expect((await fetch(`${svc.url}/v1/ratelimit/admin/anomalies`, { headers: { "x-spiffe-id": "spiffe://x/ns/ops/sa/oncall" } })).status).toBe(401);
    const res = await fetch(`${svc.url}/v1/ratelimit/admin/anomalies`, { headers: { authorization: `Bearer ${await ops.token()}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ intervalMs: 1000, threshold: 6, rules: [{ domain: "api", key: "api.api_key", count: 0, anomaly: "drop" }] });
  });

  it("refuses an anomaly config with a bad field, naming it", async () => {
    await expect(start({ rules: "/nonexistent", anomaly: { threshold: -1 }, server: { port: 0 } })).rejects.toThrow(/anomaly\.threshold/);
  });
});
