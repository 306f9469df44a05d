// The HLC reset protocol (§12.1.2) and the clock domain gateway on `meridian time serve` (in process, on an
// injected clock that can step): an HLC that ran ahead of the physical clock is reset by an operator to a
// new epoch; every response names the epoch; timestamps and consistency tokens of the old epoch are answered
// 409 "hlc reset" rather than compared; the epoch survives a restart on the same data directory. Physical
// and legacy timestamps are mapped into HLC at the gateway and refused outside the bound.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { clockService, format, parse, UPPER_BOUND_FILE } from "../../../runtime/clock/index.js";
import { systemClock, type Clock } from "../../../runtime/common/clock.js";
import { localOperatorAuth, startService, type RunningService } from "../../../runtime/kit/index.js";

const MAX_OFFSET_MS = 250;
const dirs: string[] = [];
const running: RunningService[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.close();
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

let skewMs = 0;
const clock: Clock = { now: () => Date.now() + skewMs };
const operator = await localOperatorAuth(systemClock);

async function start(dataDir: string | undefined) {
  const s = await startService(clockService, { region: "r1", maxOffsetMs: MAX_OFFSET_MS, ...(dataDir ? { dataDir } : {}), server: { port: 0, auth: operator.auth } }, { clock, processMetrics: false });
  running.push(s);
  return s;
}
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "hlc-reset-"));
  dirs.push(d);
  return d;
};
const reset = async (url: string, body: unknown = { reason: "HLC ran ahead after a clock step" }, token?: string) =>
  fetch(`${url}/v1/time/reset`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token ?? (await operator.token())}` }, body: JSON.stringify(body) });
const translate = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}/v1/time/translate`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });

/** Step the clock forward, issue a timestamp there, step back: the HLC now leads physical time by `ms`. */
async function runAhead(url: string, ms: number): Promise<string> {
  skewMs += ms;
  const res = await translate(url, { from: "legacy", value: 0 });
  skewMs -= ms;
  expect(res.status).toBe(200);
  return res.headers.get("x-meridian-consistency")!;
}

describe("HLC reset protocol", () => {
  it("is refused unless safe: operator only, with a dataDir, and only for a lead the HLC would not drain by itself", async () => {
    const noDir = await start(undefined);
    expect((await fetch(`${noDir.url}/v1/time/reset`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ reason: "x" }) })).status).toBe(401);
    expect((await reset(noDir.url, undefined, await operator.token({ scope: "read" }))).status).toBe(403);
    let res = await reset(noDir.url);
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: "hlc reset refused", detail: expect.stringMatching(/needs dataDir/) });

    const s = await start(tempDir());
    res = await reset(s.url);
    expect(res.status).toBe(409);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/leads the physical clock by .* below the reset threshold of 250 ms: it drains by itself/);
    for (const body of [{}, { reason: "" }, { reason: "x".repeat(501) }, { reason: "x", epoch: 9 }, [], "reset"]) expect((await reset(s.url, body)).status, JSON.stringify(body)).toBe(400);
    expect(s.parts.node.epoch.epoch).toBe(0);
  });

  it("resets an HLC that ran ahead to a new epoch: clients are told, old-epoch values answered 'hlc reset', and a restart keeps the epoch", async () => {
    const dir = tempDir();
    const s = await start(dir);
    const first = await fetch(`${s.url}/v1/time`);
    expect(first.headers.get("x-meridian-hlc-epoch")).toBe("0");
    const oldToken = await runAhead(s.url, 5000);
    expect(oldToken).toMatch(/^\d+\.\d+$/); // epoch 0 tokens keep the plain form
    const ahead = parse(oldToken);
    expect(ahead.wall).toBeGreaterThan((Date.now() + 4000) * 1000);

    const res = await reset(s.url);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { epoch: number; previousEpoch: number; reason: string; steppedBackMs: number; to: string };
    expect(body).toMatchObject({ epoch: 1, previousEpoch: 0, reason: "HLC ran ahead after a clock step" });
    expect(body.steppedBackMs).toBeGreaterThan(4000);
    expect(res.headers.get("x-meridian-hlc-epoch")).toBe("1");
    const after = await fetch(`${s.url}/v1/time`);
    expect(after.headers.get("x-meridian-hlc-epoch")).toBe("1");
    expect(parse(after.headers.get("x-meridian-hlc")!).wall).toBeLessThan(ahead.wall);
    expect(((await after.json()) as { epoch: number; lastReset: { reason: string } }).lastReset).toMatchObject({ epoch: 1, reason: "HLC ran ahead after a clock step" });

    // The old epoch's token and HLC: a clear reset, not a silent comparison, and the HLC is not forwarded.
    let refused = await fetch(`${s.url}/v1/time`, { headers: { "x-meridian-consistency": oldToken } });
    expect(refused.status).toBe(409);
    expect(refused.headers.get("x-meridian-hlc-epoch")).toBe("1");
    expect(await refused.json()).toMatchObject({
      error: "hlc reset",
      detail: expect.stringMatching(/from HLC epoch 0; this clock was reset to epoch 1 since .*HLC ran ahead after a clock step.*discard it and re-read/),
    });
    refused = await fetch(`${s.url}/v1/time`, { headers: { "x-meridian-hlc": oldToken, "x-meridian-hlc-epoch": "0" } });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: string }).error).toBe("hlc reset");
    expect(s.parts.node.hlc.peek().wall).toBeLessThan(ahead.wall);
    refused = await fetch(`${s.url}/v1/time`, { headers: { "x-meridian-hlc": `${format(s.parts.node.hlc.peek())}@7` } });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: string }).error).toBe("unknown hlc epoch");
    for (const bad of ["1@", "1.0@-1", "1.0@x", "1.0@1@1"]) expect((await fetch(`${s.url}/v1/time`, { headers: { "x-meridian-hlc": bad } })).status, bad).toBe(400);
    expect((await fetch(`${s.url}/v1/time`, { headers: { "x-meridian-hlc": `${format(s.parts.node.hlc.peek())}@1`, "x-meridian-hlc-epoch": "0" } })).status).toBe(400);

    // The new epoch's token carries it and is accepted.
    const fresh = (await translate(s.url, { from: "legacy", value: 0 })).headers.get("x-meridian-consistency")!;
    expect(fresh).toMatch(/^\d+\.\d+@1$/);
    expect((await fetch(`${s.url}/v1/time`, { headers: { "x-meridian-consistency": fresh } })).status).toBe(200);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toMatch(/^meridian_hlc_epoch\{service="clock"\} 1$/m);
    expect(metrics).toMatch(/^meridian_time_gateway_refusals_total\{reason="reset",service="clock"\} 2$/m);
    expect(JSON.parse(readFileSync(join(dir, UPPER_BOUND_FILE), "utf8"))).toMatchObject({ epoch: 1, lastReset: { epoch: 1, reason: "HLC ran ahead after a clock step" } });

    // Restarted on the same directory: still epoch 1, the old token still answered with the reset.
    await s.close();
    const again = await start(dir);
    const r = await fetch(`${again.url}/v1/time`);
    expect(r.headers.get("x-meridian-hlc-epoch")).toBe("1");
    expect(((await r.json()) as { lastReset: { reason: string } }).lastReset.reason).toBe("HLC ran ahead after a clock step");
    expect((await fetch(`${again.url}/v1/time`, { headers: { "x-meridian-consistency": oldToken } })).status).toBe(409);
    expect((await fetch(`${again.url}/v1/time`, { headers: { "x-meridian-consistency": fresh } })).status).toBe(200);
  });

  it("after a forward clock jump that was then corrected: the monitor takes the clock out, a reset and a restart bring it back in a new epoch", async () => {
    const dir = tempDir();
    const s = await startService(
      clockService,
      { region: "r1", maxOffsetMs: MAX_OFFSET_MS, dataDir: dir, forwardJumpCheck: true, server: { port: 0, auth: operator.auth } },
      { clock, processMetrics: false },
    );
    running.push(s);
    await runAhead(s.url, 5000); // read while the clock is 5 s ahead: a forward jump, then stepped back
    let ready = await fetch(`${s.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: { clock: string } }).checks.clock).toMatch(/forward clock jump/);
    expect((await reset(s.url)).status).toBe(200);
    // The jump's verdict stands until the restart (as CockroachDB exits); the restart is not refused now.
    expect((await fetch(`${s.url}/readyz`)).status).toBe(503);
    await s.close();
    running.splice(0);
    const again = await startService(
      clockService,
      { region: "r1", maxOffsetMs: MAX_OFFSET_MS, dataDir: dir, forwardJumpCheck: true, server: { port: 0, auth: operator.auth } },
      { clock, processMetrics: false },
    );
    running.push(again);
    ready = await fetch(`${again.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.headers.get("x-meridian-hlc-epoch")).toBe("1");
  });

  it("without a reset, the same lead makes a restart refuse to start, pointing at the reset", async () => {
    const dir = tempDir();
    const s = await start(dir);
    await runAhead(s.url, 5000);
    await s.close();
    running.splice(0);
    await expect(start(dir)).rejects.toThrow(/went backwards since the last run, or the HLC ran ahead of it.*meridian time reset --data-dir/);
  });
});

describe("clock domain gateway on time serve", () => {
  it("translates physical and legacy timestamps into HLC with their uncertainty, and HLC out for legacy clients", async () => {
    const s = await start(undefined);
    const now = Date.now();
    let res = await translate(s.url, { from: "physical", value: new Date(now - 1000).toISOString(), uncertaintyMs: 5 });
    expect(res.status).toBe(200);
    const p = (await res.json()) as { hlc: string; earliest: string; uncertaintyMs: number; epoch: number; rfc3339: string };
    expect(p).toMatchObject({ epoch: 0, uncertaintyMs: 5.5 }); // [t − 5, t + 1 ms resolution + 5]
    expect(parse(p.hlc).wall).toBe((now - 1000 + 1 + 5) * 1000);
    expect(parse(p.earliest).wall).toBe((now - 1000 - 5) * 1000);
    res = await translate(s.url, { from: "hlc", value: `${now * 1000 + 42}.3` });
    expect(await res.json()).toMatchObject({ from: "hlc", logical: 3, unixMicros: now * 1000 + 42, rfc3339: `${new Date(now).toISOString().slice(0, 23)}042Z`, epochChecked: false });
    // Translation does not move the clock; nothing far ahead was applied.
    expect(s.parts.node.hlc.peek().wall).toBeLessThan((Date.now() + MAX_OFFSET_MS) * 1000);
  });

  it("refuses timestamps outside the bound with a clear error, and malformed ones with 400, without moving the clock", async () => {
    const s = await start(undefined);
    const before = s.parts.node.hlc.peek();
    let res = await translate(s.url, { from: "physical", value: Date.now() + 60_000 });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: "timestamp outside the bound", detail: expect.stringMatching(/ahead of this clock, beyond the max offset of 250 ms/) });
    res = await translate(s.url, { from: "legacy", value: "Wed, 02 Dec 2026 17:19:04 GMT", uncertaintyMs: 2000 });
    expect(await res.json()).toMatchObject({ error: "timestamp outside the bound", detail: expect.stringMatching(/uncertainty ±2500 ms exceeds the gateway's bound of ±1000 ms/) });
    for (const body of [
      { from: "physical", value: "2026-13-01T00:00:00Z" },
      { from: "legacy", value: 1.5 },
      { from: "physical", value: "x".repeat(65) },
      { from: "solar", value: 1 },
      { from: "hlc", value: "1.0", uncertaintyMs: 1 },
      { from: "physical", value: -1 },
      { from: "physical", value: 1, uncertaintyMs: -1 },
    ]) {
      expect((await translate(s.url, body)).status, JSON.stringify(body)).toBe(400);
    }
    expect(s.parts.node.hlc.peek().wall).toBeLessThan((Date.now() + MAX_OFFSET_MS) * 1000);
    expect(s.parts.node.hlc.peek().wall).toBeGreaterThanOrEqual(before.wall);
  });

  it("takes x-meridian-time from clients without an HLC: forwards the clock past the interval, or refuses it outside the bound", async () => {
    const s = await start(undefined);
    const t = new Date(Date.now() + 150).toISOString(); // ms resolution: the interval ends 1 ms later
    let res = await fetch(`${s.url}/v1/time`, { headers: { "x-meridian-time": t, "x-meridian-time-uncertainty-ms": "40" } });
    expect(res.status).toBe(200);
    expect(parse(res.headers.get("x-meridian-hlc")!).wall).toBeGreaterThanOrEqual((Date.parse(t) + 1 + 40) * 1000);
    expect(res.headers.get("x-meridian-time")).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    res = await fetch(`${s.url}/v1/time`, { headers: { "x-meridian-time": new Date(Date.now() + 10_000).toISOString() } });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: string }).error).toBe("timestamp outside the bound");
    for (const bad of ["yesterday", "2026-12-02T17:19:04", "Wed, 02 Dec 2026 17:19:04"]) expect((await fetch(`${s.url}/v1/time`, { headers: { "x-meridian-time": bad } })).status, bad).toBe(400);
    expect(s.parts.node.hlc.peek().wall).toBeLessThan((Date.now() + MAX_OFFSET_MS) * 1000);
  });
});
