import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Chaos, composeNetwork, type ChaosTarget } from "../../../runtime/local/chaos.js";
import { faultDrill } from "../../../runtime/local/drills/fault.js";
import { renderFault } from "../../../cli/render/drill.js";
import { LocalEstate } from "../../../runtime/local/estate.js";
import type { NetworkFault } from "../../../runtime/local/proxy.js";
import { buildEstateSpec } from "../../../model/estate.js";
import { loadStack } from "../../../stacks/load.js";

/** A stand-in estate that records what the toolkit asked of it. */
function fakeTarget() {
  const calls: string[] = [];
  const network = new Map<string, NetworkFault>();
  const target: ChaosTarget = {
    regionIds: () => ["a", "b"],
    services: () => ["clock", "escrow"],
    setNetworkFault: (r, f) => void network.set(r, f),
    setSkew: async (r, ms) => void calls.push(`skew ${r} ${ms}`),
    setSignalFailing: async (r, s, failing) => void calls.push(`signal ${r} ${s} ${failing}`),
    baselineSkewMs: () => 5,
    record: () => undefined,
  };
  return { target, calls, network };
}

describe("chaos toolkit (pure rules, fake time)", () => {
  it("network faults on one region stack: the largest latency and loss, a partition while any holds", () => {
    expect(composeNetwork([])).toEqual({ latencyMs: 0, jitterMs: 0, loss: 0, partitioned: false });
    expect(
      composeNetwork([
        { kind: "latency", region: "a", latencyMs: 100, jitterMs: 5 },
        { kind: "latency", region: "a", latencyMs: 40, jitterMs: 20 },
        { kind: "loss", region: "a", loss: 0.2 },
        { kind: "partition", region: "a" },
      ]),
    ).toEqual({ latencyMs: 100, jitterMs: 20, loss: 0.2, partitioned: true });
  });

  it("every fault reverts by itself when its time is up, restoring what other faults still ask for", async () => {
    vi.useFakeTimers();
    try {
      const { target, calls, network } = fakeTarget();
      const chaos = new Chaos(target, () => Date.now());
      await chaos.inject({ kind: "partition", region: "a" }, 2000);
      await chaos.inject({ kind: "latency", region: "a", latencyMs: 300 }, 5000);
      await chaos.inject({ kind: "skew", region: "b", skewMs: 400 }, 3000);
      await chaos.inject({ kind: "degrade", region: "b", service: "escrow" }, 1000);
      expect(network.get("a")).toMatchObject({ partitioned: true, latencyMs: 300 });
      expect(calls).toEqual(["skew b 400", "signal b escrow true"]);
      await vi.advanceTimersByTimeAsync(1000);
      expect(calls.at(-1)).toBe("signal b escrow false");
      await vi.advanceTimersByTimeAsync(1000);
      expect(network.get("a")).toMatchObject({ partitioned: false, latencyMs: 300 });
      await vi.advanceTimersByTimeAsync(1000);
      expect(calls.at(-1)).toBe("skew b 5"); // back to the region's start-up skew
      await vi.advanceTimersByTimeAsync(2000);
      expect(network.get("a")).toEqual({ latencyMs: 0, jitterMs: 0, loss: 0, partitioned: false });
      expect(chaos.active()).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("a degradation ends only when no other fault degrades the same service; reverting early works once", async () => {
    const { target, calls } = fakeTarget();
    const chaos = new Chaos(target);
    const one = await chaos.inject({ kind: "degrade", region: "a", service: "clock" }, 60_000);
    const two = await chaos.inject({ kind: "degrade", region: "a", service: "clock" }, 60_000);
    await chaos.revert(one.id);
    expect(calls).not.toContain("signal a clock false");
    expect(await chaos.revert(two.id)).toBe(true);
    expect(calls.at(-1)).toBe("signal a clock false");
    expect(await chaos.revert(two.id)).toBe(false);
    chaos.dispose();
  });

  it("after a region restart, the skew and degradations still in force are set again (network faults live on the proxy)", async () => {
    const { target, calls } = fakeTarget();
    const events: string[] = [];
    const chaos = new Chaos({ ...target, record: (_k, r, d) => void events.push(`${r}: ${d}`) });
    await chaos.inject({ kind: "degrade", region: "b", service: "escrow" }, 60_000);
    await chaos.inject({ kind: "skew", region: "b", skewMs: 700 }, 60_000);
    await chaos.inject({ kind: "partition", region: "b" }, 60_000);
    await chaos.inject({ kind: "degrade", region: "a", service: "clock" }, 60_000);
    calls.length = 0;
    expect((await chaos.reapply("b")).map((a) => a.fault.kind)).toEqual(["degrade", "skew", "partition"]);
    expect(calls.sort()).toEqual(["signal b escrow true", "skew b 700"]);
    expect(events.at(-1)).toBe("b: re-applied after restart: escrow forced failing (fault 1), clock skew 700 ms (fault 2), network partition (fault 3)");
    calls.length = 0;
    await chaos.revertAll();
    expect(await chaos.reapply("b")).toEqual([]);
    expect(calls).not.toContain("signal b escrow true");
    chaos.dispose();
  });

  it("validates before applying anything: region, service, numbers, duration", async () => {
    const { target, calls, network } = fakeTarget();
    const chaos = new Chaos(target);
    await expect(chaos.inject({ kind: "partition", region: "nope" }, 1000)).rejects.toThrow(/no region "nope".*a, b/);
    await expect(chaos.inject({ kind: "degrade", region: "a", service: "dns" }, 1000)).rejects.toThrow(/no service "dns"; it runs clock, escrow/);
    await expect(chaos.inject({ kind: "latency", region: "a", latencyMs: -5 }, 1000)).rejects.toThrow(/latencyMs/);
    await expect(chaos.inject({ kind: "loss", region: "a", loss: 1.5 }, 1000)).rejects.toThrow(/loss/);
    await expect(chaos.inject({ kind: "partition", region: "a" }, 0)).rejects.toThrow(/duration/);
    await expect(chaos.inject({ kind: "partition", region: "a" }, 3_600_000)).rejects.toThrow(/duration/);
    await expect(chaos.inject({ kind: "reboot", region: "a" } as never, 1000)).rejects.toThrow(/kind/);
    expect(calls).toEqual([]);
    expect(network.size).toBe(0);
    expect(chaos.active()).toEqual([]);
  });
});

describe("chaos on a real local estate", () => {
  let estate: LocalEstate;
  const spec = buildEstateSpec("local", loadStack("local"));

  beforeAll(async () => {
    estate = await LocalEstate.start({ spec, dnsPort: 0, basePort: 0 });
  });
  afterAll(() => estate?.stop());

  // The partition (local-aws, the answered region) and the loss drill (local-azure, never answered while local-gcp is
  // healthy) run side by side: each drill watches and reverts its own region only.
  it.concurrent("a partitioned region's health signals fail, it leaves the answer, and it recovers after the automatic revert", async () => {
    // 8 s, the CLI's default: a partition no longer than the checkers' detection time (5 s) may end before the last
    // failed probe lands (CI on 269a948 failed so, "health during the fault: healthy").
    const r = await faultDrill(estate, "partition", { region: "local-aws", durationMs: 8000, timeoutMs: 60_000 });
    expect(r.timedOut).toBeUndefined();
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    expect(r.healthDuring).toContain("unhealthy");
    expect(r.detectionMeasuredMs).not.toBeNull();
    expect(r.revertedAfterMs).toBeGreaterThanOrEqual(8000);
    expect(r.recoveryMs).not.toBeNull();
    expect(estate.healthStates()["local-aws"]).toBe("healthy");
    expect(estate.proxies.get("local-aws")!.fault.partitioned).toBe(false);
    const faultEvents = estate.events.filter((e) => e.kind === "fault" && e.region === "local-aws").map((e) => e.detail);
    expect(faultEvents.some((d) => d.startsWith("network partition for 8.0 s"))).toBe(true);
    expect(faultEvents.some((d) => d.startsWith("reverted: network partition"))).toBe(true);
  });

  it.concurrent("loss: the drill judges the loss a client saw, and fails naming the broken check when it is not what was asked", async () => {
    // Someone else drops every connection to the region while the drill asks for 20%: the client sees ~100%.
    const drill = faultDrill(estate, "loss", { region: "local-azure", loss: 0.2, durationMs: 8000, timeoutMs: 60_000 });
    const deadline = Date.now() + 30_000;
    while (!estate.chaos.active().some((a) => a.fault.kind === "loss") && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    await estate.chaos.inject({ kind: "loss", region: "local-azure", loss: 1 }, 7000);
    const r = await drill;
    expect(r.timedOut).toBeUndefined();
    const broken = r.checks.filter((c) => !c.ok).map((c) => c.name);
    expect(broken).toContain("the client lost about 20.0% of its connections");
    expect(r.client.during.requests - r.client.during.answered).toBeGreaterThan(r.client.during.requests / 2);
    expect(renderFault(r)).toMatch(/\*\*Verdict: FAILED — the client lost about 20\.0% of its connections: \d+ of \d+ lost \(\d+\.\d%; tolerance ±\d+\.\d%\)\.\*\*/);
    expect(estate.chaos.active().filter((a) => a.fault.region === "local-azure")).toEqual([]);
  });

  // Beside them, local-gcp's degradation (its own region only): a degraded region still serves, so the failover answer
  // is what the partition makes it (local-gcp while local-aws is out), and the loss drill's region is not answered
  // either way. Nothing else of these three fails over to it, kills or restarts a region.
  // The degradation is reverted once the checkers have seen it, not after a fixed time: CI on 6b89cde (a loaded machine)
  // failed with a 4 s one, ended before its failed probes were counted. Reverting by itself is the partition drill's case
  // above and the fake-time test's.
  it.concurrent("a service degradation marks the region degraded, and it is served again after the revert", async () => {
    const degrade = await estate.chaos.inject({ kind: "degrade", region: "local-gcp", service: "escrow" }, 120_000);
    const deadline = Date.now() + 30_000;
    while (estate.healthStates()["local-gcp"] !== "degraded" && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    expect(estate.healthStates()["local-gcp"]).toBe("degraded");
    expect(await estate.chaos.revert(degrade.id)).toBe(true);
    // Its own region's faults: the other regions' drills run theirs meanwhile.
    const faults = () => estate.chaos.active().filter((a) => a.fault.region === "local-gcp");
    while ((faults().length > 0 || estate.healthStates()["local-gcp"] !== "healthy") && Date.now() < deadline + 30_000) await new Promise((res) => setTimeout(res, 100));
    expect(faults()).toEqual([]);
    expect(estate.healthStates()["local-gcp"]).toBe("healthy");
  });

  // The rest one test per region at a time, the three regions side by side, once the drills above have ended: each
  // faults, kills or restarts its own region only, and none asserts which region the GSLB answers with (local-aws
  // frozen, local-gcp down and local-azure restarted at once move the answer, which the drills above, judging the
  // answered region, would not allow).
  describe("then one test per region at a time, the regions side by side", () => {
    const queues = new Map<string, Promise<unknown>>();
    /** Run `test` once the tests queued before it on `region` have ended (passed or not). */
    const onRegion = (region: string, test: () => Promise<void>): Promise<void> => {
      const run = (queues.get(region) ?? Promise.resolve()).catch(() => undefined).then(test);
      queues.set(region, run);
      return run;
    };

    it.concurrent("a region down when its skew reverts starts again unskewed; a degradation set while it is down is in force when it starts", () =>
      onRegion("local-gcp", async () => {
        const state = async () => (await (await fetch(`${estate.region("local-gcp").url}/state`)).json()) as { clock: { skewMs: number }; signals: Record<string, boolean> };
        const skew = await estate.chaos.inject({ kind: "skew", region: "local-gcp", skewMs: 250 }, 1500);
        expect((await state()).clock.skewMs).toBe(250);
        await estate.killRegion("local-gcp");
        const degrade = await estate.chaos.inject({ kind: "degrade", region: "local-gcp", service: "clock" }, 120_000);
        const deadline = Date.now() + 30_000;
        while (estate.chaos.active().some((a) => a.id === skew.id) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
        const faultEvents = () => estate.events.filter((e) => e.kind === "fault" && e.region === "local-gcp").map((e) => e.detail);
        expect(faultEvents()).toContain(`reverted: clock skew 250 ms (fault ${skew.id})`);
        await estate.restartRegion("local-gcp");
        const after = await state();
        expect(after.clock.skewMs).toBe(0);
        expect(after.signals).toMatchObject({ clock: false, escrow: true });
        expect(faultEvents()).toContain(`re-applied after restart: clock forced failing (fault ${degrade.id})`);
        await estate.chaos.revert(degrade.id);
        expect((await state()).signals.clock).toBe(true);
      }),
    );

    it.concurrent("a degradation in force survives a region restart: the new process fails the signal too, and it recovers on the revert", () =>
      onRegion("local-azure", async () => {
        const signals = async () => ((await (await fetch(`${estate.region("local-azure").url}/state`)).json()) as { signals: Record<string, boolean> }).signals;
        const fault = await estate.chaos.inject({ kind: "degrade", region: "local-azure", service: "ratelimit" }, 120_000);
        expect((await signals()).ratelimit).toBe(false);
        await estate.restartRegion("local-azure");
        // The first request the restarted region answers already reports the fault, and it is the drill's: the
        // region forces ratelimit failing and nothing else (its clock's own health follows the new process's
        // first NTP exchanges).
        const healthz = async (service: string) => (await (await fetch(`${estate.region("local-azure").url}/healthz/${service}`)).json()) as { ok: boolean; reason?: string };
        expect(await healthz("ratelimit")).toMatchObject({ ok: false, reason: "forced failing (drill)" });
        for (const service of ["clock", "escrow"]) expect((await healthz(service)).reason).not.toBe("forced failing (drill)");
        // An unskewed clock is never frozen, however slow the new process's first exchanges are on a loaded machine.
        expect(await healthz("clock")).toMatchObject({ ok: true });
        expect(estate.events.some((e) => e.kind === "fault" && e.region === "local-azure" && e.detail === `re-applied after restart: ratelimit forced failing (fault ${fault.id})`)).toBe(true);
        // Once the restarted region is otherwise healthy (the GSLB's prober sees its clock and escrow up), the
        // degradation is still in force.
        const deadline = Date.now() + 60_000;
        while ((await signals()).clock !== true || estate.healthStates()["local-azure"] !== "degraded" || estate.prober.failingSignals("local-azure").length !== 1) {
          if (Date.now() > deadline) throw new Error(`local-azure did not become healthy but for the degradation: ${JSON.stringify(await signals())}, prober ${estate.healthStates()["local-azure"]}`);
          await new Promise((res) => setTimeout(res, 100));
        }
        expect(await signals()).toMatchObject({ ratelimit: false, clock: true, escrow: true });
        expect(estate.prober.failingSignals("local-azure")).toEqual(["ratelimit"]);
        await estate.chaos.revert(fault.id);
        expect((await signals()).ratelimit).toBe(true);
      }),
    );

    it.concurrent("a skew past the max offset freezes the region's clock on an exchange certain of it; once reverted, recovery starts", () =>
      onRegion("local-aws", async () => {
        const skew = async () =>
          (await (await fetch(`${estate.region("local-aws").url}/clock/v1/time/skew`)).json()) as { state: string; events: { to: string; offsetMs: number | null; errorBoundMs: number | null }[] };
        const until = async (what: string, done: (s: Awaited<ReturnType<typeof skew>>) => boolean) => {
          const deadline = Date.now() + 30_000;
          for (let s = await skew(); !done(s); s = await skew()) {
            if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(s)}`);
            await new Promise((res) => setTimeout(res, 100));
          }
        };
        const fault = await estate.chaos.inject({ kind: "skew", region: "local-aws", skewMs: 600 }, 2000);
        await until("the clock to freeze", (s) => s.state === "frozen");
        const frozen = (await skew()).events.filter((e) => e.to === "frozen").at(-1)!;
        // Our clock 600 ms ahead, known to within its bound: certainly past the 400 ms freeze threshold.
        expect(Math.abs(frozen.offsetMs!) - frozen.errorBoundMs!).toBeGreaterThanOrEqual(400);
        await until("the skew to revert and recovery to start", (s) => !estate.chaos.active().some((a) => a.id === fault.id) && s.state !== "frozen");
        expect(["recovering", "healthy"]).toContain((await skew()).state);
      }),
    );
  });
});
