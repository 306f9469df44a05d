import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Grandmaster } from "../../../runtime/clock/grandmaster.js";
import { startClockServer } from "../../../runtime/clock/serve.js";

describe("meridian time serve (the region clock service)", () => {
  let gm: Grandmaster;
  let server: Awaited<ReturnType<typeof startClockServer>>;

  beforeAll(async () => {
    gm = new Grandmaster();
    const { ntp } = await gm.listen(0, "127.0.0.1");
    server = await startClockServer({ port: 0, region: "r1", maxOffsetMs: 500, grandmaster: { host: "127.0.0.1", port: ntp }, syncIntervalMs: 100 });
  });
  afterAll(async () => {
    await server?.close();
    await gm?.close();
  });

  it("syncs to the grandmaster and serves a TrueTime interval, HLC and skew state", async () => {
    for (let i = 0; i < 50 && server.node.status().epsilonMs === null; i++) await new Promise((r) => setTimeout(r, 50));
    const res = await fetch(`${server.url}/v1/time`);
    const body = (await res.json()) as { hlc: string; epsilonMs: number | null; truetime: { earliest: number; latest: number } | null; skew: { state: string } };
    expect(res.headers.get("x-meridian-hlc")).toMatch(/^\d+\.\d+$/);
    expect(body.truetime).not.toBeNull();
    expect(body.truetime!.earliest).toBeLessThanOrEqual(body.truetime!.latest);
    expect(body.skew.state).toBe("healthy");
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it("refuses a malformed HLC header (400) and one beyond max offset (409)", async () => {
    expect((await fetch(`${server.url}/v1/time`, { headers: { "x-meridian-hlc": "yesterday" } })).status).toBe(400);
    const ahead = `${(Date.now() + 5_000) * 1000}.0`;
    const res = await fetch(`${server.url}/v1/time`, { headers: { "x-meridian-hlc": ahead } });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: "untrustworthy HLC timestamp" });
  });

  it("exposes Prometheus metrics", async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/# TYPE \w+/);
  });
});
