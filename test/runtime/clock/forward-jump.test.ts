// The clock service's forward-jump monitor (config `forwardJumpCheck`), on an injected clock: a jump read
// first by the ticker — no request touches the HLC in between — is reported on /metrics and takes the
// service out of /readyz with the reason. With the monitor off, the same jump reports nothing. Jumps are
// measured against the monotonic clock, so a stalled event loop on a loaded machine is not one.
import { afterEach, describe, expect, it } from "vitest";
import type { Clock } from "../../../runtime/common/clock.js";
import { clockService } from "../../../runtime/clock/index.js";
import { startService } from "../../../runtime/kit/index.js";

const FORWARD = /^meridian_hlc_forward_clock_jumps_total\{service="clock"\} (\d+)$/m;

describe("time serve forward-jump monitor", () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => close?.());

  const start = async (forwardJumpCheck: boolean) => {
    let skewMs = 0;
    const clock: Clock = { now: () => Date.now() + skewMs };
    const running = await startService(clockService, { region: "r1", maxOffsetMs: 200, forwardJumpCheck, server: { port: 0 } }, { clock, processMetrics: false });
    close = () => running.close();
    return { url: running.url, node: running.parts.node, jump: (ms: number) => (skewMs += ms) };
  };
  const forwardJumps = async (node: { metrics: { registry: { metrics(): Promise<string> } } }) => Number(FORWARD.exec(await node.metrics.registry.metrics())?.[1] ?? -1);

  it("reports a 600 ms jump the ticker reads first: counted, and /readyz 503 naming it", async () => {
    const { url, node, jump } = await start(true);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    jump(600);
    // Only the ticker reads the clock now (the registry read below does not).
    for (let i = 0; i < 200 && (await forwardJumps(node)) === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await forwardJumps(node)).toBe(1);
    const res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(503);
    const reason = ((await res.json()) as { checks: { clock: string } }).checks.clock;
    expect(reason).toMatch(/^forward clock jump of \d+ ms \(tolerance 100 ms\)/);
    // The jump is wall − monotonic elapsed between two reads: the 600 ms step, give or take scheduling.
    expect(Number(/jump of (\d+) ms/.exec(reason)![1])).toBeGreaterThan(500);
    expect(Number(/jump of (\d+) ms/.exec(reason)![1])).toBeLessThan(700);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/^meridian_hlc_forward_clock_jumps_total\{service="clock"\} 1$/m);
  });

  it("with the monitor off (the default), the same jump is not reported", async () => {
    const { url, node, jump } = await start(false);
    jump(600);
    await fetch(`${url}/v1/time`);
    expect(await forwardJumps(node)).toBe(0);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
  });
});
