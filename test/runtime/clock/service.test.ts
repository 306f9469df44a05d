// `meridian time serve` as the kit runs it: the region clock service synced to a real grandmaster over NTP.
// Each test stands alone (any order, tests shuffled): the one that knocks the skew monitor off runs its own service.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Grandmaster, clockService, preciseSystemClock } from "../../../runtime/clock/index.js";
import { startService, type RunningService } from "../../../runtime/kit/index.js";

describe("the region clock service", () => {
  let gm: Grandmaster;
  let server: RunningService;
  let node: ReturnType<typeof clockNodeOf>;
  const clockNodeOf = (s: Awaited<ReturnType<typeof start>>) => s.parts.node;
  let ntp: number;
  const start = () =>
    startService(clockService, { region: "r1", maxOffsetMs: 500, grandmaster: `127.0.0.1:${ntp}`, syncIntervalMs: 100, server: { port: 0 } }, { clock: preciseSystemClock, processMetrics: false });
  const synced = async (n: typeof node) => {
    for (let i = 0; i < 50 && n.status().epsilonMs === null; i++) await new Promise((r) => setTimeout(r, 50));
  };
  const refused409 = (metrics: string) => Number(/^meridian_http_requests_total\{route="\/v1\/time",method="GET",code="409",service="clock"\} (\d+)$/m.exec(metrics)?.[1] ?? 0);
  const aheadHlc = () => `${(Date.now() + 5_000) * 1000}.0`;

  beforeAll(async () => {
    gm = new Grandmaster();
    ({ ntp } = await gm.listen(0, "127.0.0.1"));
    const s = await start();
    server = s;
    node = clockNodeOf(s);
  });
  afterAll(async () => {
    await server?.close();
    await gm?.close();
  });

  it("syncs to the grandmaster and serves a TrueTime interval, HLC and skew state", async () => {
    await synced(node);
    const res = await fetch(`${server.url}/v1/time`);
    const body = (await res.json()) as { hlc: string; epsilonMs: number | null; truetime: { earliest: number; latest: number } | null; skew: { state: string } };
    expect(res.headers.get("x-meridian-hlc")).toMatch(/^\d+\.\d+$/);
    expect(body.truetime).not.toBeNull();
    expect(body.truetime!.earliest).toBeLessThanOrEqual(body.truetime!.latest);
    expect(body.skew.state).toBe("healthy");
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${server.url}/readyz`)).json()).toEqual({ ready: true, service: "clock", checks: { clock: "ok" } });
  });

  it("refuses a malformed HLC header (400) and one beyond max offset (409), without applying it", async () => {
    expect((await fetch(`${server.url}/v1/time`, { headers: { "x-meridian-hlc": "yesterday" } })).status).toBe(400);
    const res = await fetch(`${server.url}/v1/time`, { headers: { "x-meridian-hlc": aheadHlc() } });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: "untrustworthy HLC timestamp" });
    expect(node.hlc.now().wall).toBeLessThan((Date.now() + 1_000) * 1000);
  });

  it("is not ready while the skew monitor has the strong path closed", async () => {
    const own = await start();
    try {
      await synced(own.parts.node);
      expect((await fetch(`${own.url}/readyz`)).status).toBe(200);
      // Measured far off the reference: the skew state machine freezes the strong path.
      own.parts.node.measure(-420, 1);
      const res = await fetch(`${own.url}/readyz`);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { checks: { clock: string } }).checks.clock).toMatch(/strong-consistency path is closed/);
      expect((await fetch(`${own.url}/healthz`)).status).toBe(200);
    } finally {
      await own.close();
    }
  });

  it("exposes the time metrics and the RED series on /metrics", async () => {
    const before = refused409(await (await fetch(`${server.url}/metrics`)).text());
    expect((await fetch(`${server.url}/v1/time`, { headers: { "x-meridian-hlc": aheadHlc() } })).status).toBe(409);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/^meridian_clock_offset_seconds\{service="clock"\}/m);
    expect(refused409(text)).toBe(before + 1);
  });

  it("rejects a config naming what is wrong", async () => {
    await expect(startService(clockService, { region: "R 1", maxOffsetMs: -1, bogus: true })).rejects.toThrow(
      /config \(in-process\): region: expected a region id.*; maxOffsetMs: .*; \(top level\): Unrecognized key: "bogus"/,
    );
  });
});
