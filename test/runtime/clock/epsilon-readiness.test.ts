// ε beyond the configured bound takes the clock service out of /readyz (503, with the reason) and refuses
// strong operations (`allowsStrong: false`), against the real services: the grandmaster's operator-only
// `/drills/inflate` drill inflates the ε it serves as NTP root dispersion, and `time serve`, synced to it
// over UDP, sees TrueTime ε of ~1,000 s (issue #16: it used to stay ready with allowsStrong: true).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../../runtime/common/clock.js";
import { clockService, grandmasterService } from "../../../runtime/clock/index.js";
import { localOperatorAuth, startService } from "../../../runtime/kit/index.js";

const until = async (what: string, check: () => Promise<boolean>) => {
  for (let i = 0; i < 300; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
};

describe("time serve readiness on TrueTime ε", () => {
  let closers: (() => Promise<void>)[] = [];
  let gmUrl = "";
  let clockUrl = "";
  let operator = "";

  beforeAll(async () => {
    const op = await localOperatorAuth(systemClock);
    operator = `Bearer ${await op.token()}`;
    const gm = await startService(grandmasterService, { ntp: { port: 0 }, server: { port: 0, auth: op.auth } }, { processMetrics: false });
    closers.push(() => gm.close());
    gmUrl = gm.url;
    const ntpPort = Number(new URL(gm.endpoints["ntp"]!).port);
    const clock = await startService(
      clockService,
      { region: "r1", maxOffsetMs: 250, maxEpsilonMs: 100, grandmaster: `127.0.0.1:${ntpPort}`, syncIntervalMs: 100, server: { port: 0 } },
      { processMetrics: false },
    );
    closers.push(() => clock.close());
    clockUrl = clock.url;
  });
  afterAll(async () => {
    for (const c of closers.reverse()) await c();
    closers = [];
  });

  it("is ready with a small ε, then 503 naming ε once the grandmaster's ε is inflated to 1,000 s; strong refused", async () => {
    await until("a first sync", async () => ((await (await fetch(`${clockUrl}/v1/time`)).json()) as { epsilonMs: number | null }).epsilonMs !== null);
    expect((await fetch(`${clockUrl}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${clockUrl}/v1/time`)).json()).toMatchObject({ allowsStrong: true, refusal: null });

    const drill = await fetch(`${gmUrl}/drills/inflate`, {
      method: "POST",
      headers: { authorization: operator, "content-type": "application/json" },
      body: JSON.stringify({ epsilonMs: 1_000_000, durationSeconds: 600 }),
    });
    expect(drill.status).toBe(200);

    await until("/readyz 503", async () => (await fetch(`${clockUrl}/readyz`)).status === 503);
    const ready = (await (await fetch(`${clockUrl}/readyz`)).json()) as { ready: boolean; checks: { clock: string } };
    expect(ready.checks.clock).toMatch(/^TrueTime ε 1\d{6}(\.\d+)? ms is beyond the bound of 100 ms: the strong-consistency path is closed$/);
    const time = (await (await fetch(`${clockUrl}/v1/time`)).json()) as { epsilonMs: number; allowsStrong: boolean; refusal: string };
    expect(time.epsilonMs).toBeGreaterThan(999_000);
    expect(time).toMatchObject({ allowsStrong: false, refusal: expect.stringMatching(/TrueTime ε/) });
    expect(await (await fetch(`${clockUrl}/v1/time/skew`)).json()).toMatchObject({ allowsStrong: false, thresholds: { maxEpsilonMs: 100 } });
    expect((await fetch(`${clockUrl}/healthz`)).status).toBe(200); // alive: not restarted, only out of the Service
  }, 60_000);

  it("refuses a drill without the operator's credential", async () => {
    const res = await fetch(`${gmUrl}/drills/inflate`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ epsilonMs: 1, durationSeconds: 1 }) });
    expect(res.status).toBe(401);
  });
});
