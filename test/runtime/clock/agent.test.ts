// The node time agent (`meridian time agent`, runtime/clock/agent.ts) against a real chronyd: it reads
// `chronyc -c tracking` over chronyd's command port (reachable only on the node's network) and serves the line to
// pods; a clock service configured as deployed (`timeReference.agent` / `agent`) measures through it, so chrony's
// offset and error bound reach TrueTime ε, the skew state and readiness. chronyd stopped: the agent answers 503
// naming chronyc's error, and the service gets no reading (no stale one).
import { execFileSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { clockService, grandmasterService, timeAgentService, type ClockStatus } from "../../../runtime/clock/index.js";
import { parseTracking } from "../../../runtime/clock/chrony-tracking.js";
import { timeReferenceSchema } from "../../../runtime/clock/reference.js";
import { startService } from "../../../runtime/kit/index.js";
import { TIME_METRICS as M } from "../../../model/time/metrics.js";
import { startChronyd, until } from "./chronyd.js";

const closers: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c();
});

async function grandmaster(offsetMs: number): Promise<number> {
  const gm = await startService(grandmasterService, { offsetMs, ntp: { port: 0 }, server: { port: 0 } }, { processMetrics: false });
  closers.push(() => gm.close());
  return Number(new URL(gm.endpoints["ntp"]!).port);
}

async function agent(cmdPort: number) {
  const a = await startService(timeAgentService, { chrony: `127.0.0.1:${cmdPort}`, intervalMs: 200, server: { port: 0 } }, { processMetrics: false });
  closers.push(() => a.close());
  return a;
}

/** The samples of /metrics (comment lines dropped) whose series name starts with `prefix`. */
const samples = async (url: string, prefix: string) => (await (await fetch(`${url}/metrics`)).text()).split("\n").filter((l) => l.startsWith(prefix));

const timeOf = async (url: string) => (await (await fetch(`${url}/v1/time`)).json()) as ClockStatus & { epsilonMs: number | null };

describe("meridian time agent: the node's chrony, served to pods", () => {
  it("serves chronyc's own tracking line; a clock service reading it (as deployed) gets chrony's offset and bound", async () => {
    const { cmdPort } = await startChronyd(await grandmaster(300), closers);
    const a = await agent(cmdPort);
    const agentAddress = new URL(a.url).host;
    await until("chrony synchronised through the agent", async () => {
      const res = await fetch(`${a.url}/v1/tracking`);
      return res.status === 200 && parseTracking(await res.text()).leapStatus === "Normal";
    });
    const res = await fetch(`${a.url}/v1/tracking`);
    expect(res.headers.get("content-type")).toMatch(/^text\/csv/);
    const served = parseTracking(await res.text());
    // The same report chronyc gives on the node: 14 fields, the reference the grandmaster on loopback.
    const direct = parseTracking(execFileSync("chronyc", ["-c", "-n", "-h", "127.0.0.1", "-p", String(cmdPort), "tracking"], { encoding: "utf8" }));
    expect([served.referenceName, served.stratum]).toEqual([direct.referenceName, direct.stratum]);
    expect(served).toMatchObject({ referenceName: "127.0.0.1", stratum: 2 });
    const status = (await (await fetch(`${a.url}/status`)).json()) as { reading: { status: string; offsetMs: number; errorBoundMs: number } };
    expect(status.reading.status).toBe("SYNCHRONIZED");
    expect((await fetch(`${a.url}/readyz`)).status).toBe(200);
    // The series the clock-health rules read (model/time/alerts.ts), from chrony's tracking, labelled by its reference.
    const series = await samples(a.url, "chrony_");
    for (const name of [M.chronyLastOffset, M.chronyRmsOffset, M.chronyReferenceTime, M.chronyStratum]) {
      expect(
        series.filter((l) => l.startsWith(`${name}{`)).map((l) => l.replace(/ \S+$/, "")),
        name,
      ).toEqual([`${name}{reference="127.0.0.1",service="time-agent"}`]);
    }
    expect(series).toContain(`${M.chronyStratum}{reference="127.0.0.1",service="time-agent"} 2`);
    expect(series).toContain(`${M.chronyUp}{service="time-agent"} 1`);

    // The clock service as the workloads render it: measured through the agent, not a chronyd of its own.
    expect(timeReferenceSchema.parse({ agent: agentAddress })).toMatchObject({ agent: { host: "127.0.0.1" } });
    const clock = await startService(clockService, { region: "r1", maxOffsetMs: 250, agent: agentAddress, syncIntervalMs: 200, server: { port: 0 } }, { processMetrics: false });
    closers.push(() => clock.close());
    await until("the skew monitor to freeze on chrony's 300 ms", async () => (await timeOf(clock.url)).skew.state === "frozen");
    const t = await timeOf(clock.url);
    expect(t.reference).toMatchObject({ source: `time agent ${agentAddress}`, status: "SYNCHRONIZED", reason: "synchronised to 127.0.0.1 at stratum 2" });
    // Our clock is 300 ms behind the reference as chrony measured it (give or take half a round trip on a loaded machine).
    expect(t.skew.offsetMs!).toBeGreaterThan(-400);
    expect(t.skew.offsetMs!).toBeLessThan(-200);
    expect(t.allowsStrong).toBe(false);
    expect((await fetch(`${clock.url}/readyz`)).status).toBe(503);
  }, 60_000);

  it("chronyd gone: 503 naming chronyc's error, not ready, and the service is fed nothing stale", async () => {
    const { cmdPort, proc } = await startChronyd(await grandmaster(0), closers);
    const a = await agent(cmdPort);
    await until("a first tracking line", async () => (await fetch(`${a.url}/v1/tracking`)).status === 200);
    proc.kill("SIGKILL");
    await until("the agent to notice", async () => (await fetch(`${a.url}/v1/tracking`)).status === 503);
    const body = (await (await fetch(`${a.url}/v1/tracking`)).json()) as { error: string; detail: string };
    expect(body).toMatchObject({
      error: "chrony tracking unavailable",
      detail: expect.stringContaining(`chronyc -c tracking from 127.0.0.1:${cmdPort}: chronyc -h 127.0.0.1 -p ${cmdPort} tracking:`) as unknown,
    });
    const ready = await fetch(`${a.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(JSON.stringify(await ready.json())).toContain(`no tracking from chronyd at 127.0.0.1:${cmdPort}`);
    // No stale figures for the rules to alert on (or miss an alert with): only chrony_up says chrony is unreadable.
    expect(await samples(a.url, "chrony_")).toEqual([`${M.chronyUp}{service="time-agent"} 0`]);
  }, 60_000);

  it("a config naming the agent and another reference is refused; a malformed address names the field", async () => {
    expect(() => timeReferenceSchema.parse({ agent: "127.0.0.1:10125", grandmaster: "127.0.0.1:123" })).toThrow(/set exactly one of grandmaster, chrony and agent/);
    await expect(startService(clockService, { region: "r1", maxOffsetMs: 250, agent: "127.0.0.1:10125", chrony: "127.0.0.1:323", server: { port: 0 } }, { processMetrics: false })).rejects.toThrow(
      /agent.*set agent alone/,
    );
    await expect(startService(timeAgentService, { chrony: "localhost", server: { port: 0 } }, { processMetrics: false })).rejects.toThrow(/chrony.*expected host:port/);
  });
});
