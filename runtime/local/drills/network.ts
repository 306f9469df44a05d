/**
 * Network drills, built on the chaos toolkit: a timed fault on one region's network (the proxy in front of
 * it), then what the GSLB saw — from its checkers and its answers — until the fault reverted by itself
 * and the region was served again.
 *
 * - partition: the checkers' probes go unanswered, so the region must turn unhealthy within the
 *   detection time and leave the answer set, while the region process itself stays up (its control plane
 *   answers: the fault is the network's); after the revert it must come back, healthy and answered.
 * - latency: every chunk is delayed both ways, so a probe's round trip grows by at least twice the added
 *   latency — measured, not assumed; when that exceeds the probe timeout the region must turn unhealthy.
 */
import { providerTiming } from "../../../model/traffic/timing.js";
import type { ActiveFault } from "../chaos.js";
import type { LocalEstate } from "../estate.js";
import type { CheckResult } from "./checks.js";
import { DrillTimeout, waitFor } from "./regional-outage.js";

export interface NetworkDrillResult {
  kind: "partition" | "latency";
  region: string;
  fault: ActiveFault["fault"];
  durationMs: number;
  /** The checkers' detection time for this policy (runbook), and the probe timeout. */
  detectionMs: number;
  probeTimeoutMs: number;
  /** Fault applied → region unhealthy (partition; latency past the timeout). */
  detectionMeasuredMs: number | null;
  /** Fault applied → the region left the GSLB's answer set (when it was in it). */
  leftAnswerMs: number | null;
  /** When the fault reverted itself, measured from when it was applied. */
  revertedAfterMs: number | null;
  /** Revert → region healthy again and back in the answer set. */
  recoveryMs: number | null;
  /** Probe round-trip times: before, during (the smallest and largest completed probe), after. */
  rttMs: { before: number | null; during: number | null; duringMin: number | null; after: number | null };
  /** Whether the region was in the GSLB's answer set before the fault (a failover standby is not). */
  answeredBefore: boolean;
  healthDuring: string[];
  checks: CheckResult[];
  timedOut?: string;
}

export interface NetworkDrillOptions {
  region?: string;
  durationMs: number;
  timeoutMs?: number;
  latencyMs?: number;
  jitterMs?: number;
}

/** The drill's timings beside their bounds (what --strict enforces; machine load makes them vary). */
export function networkPhases(r: NetworkDrillResult): { phase: string; measuredMs: number | null; boundMs: number; ok: boolean }[] {
  const phases = [
    { phase: "fault reverted on time (applied → reverted)", measuredMs: r.revertedAfterMs, boundMs: r.durationMs + 1000 },
    { phase: "recovery (reverted → healthy and answered)", measuredMs: r.recoveryMs, boundMs: r.detectionMs + 1000 },
  ];
  if (r.kind === "partition" || r.detectionMeasuredMs !== null)
    phases.unshift({ phase: "detection (fault → unhealthy)", measuredMs: r.detectionMeasuredMs, boundMs: r.detectionMs + 1000 });
  return phases.map((p) => ({ ...p, ok: p.measuredMs !== null && p.measuredMs <= p.boundMs }));
}

const inAnswer = (estate: LocalEstate, region: string) => estate.answer().answers.some((a) => a.regionId === region);

async function controlPlaneUp(estate: LocalEstate, region: string): Promise<boolean> {
  const url = estate.controlUrl(region);
  if (!url) return false;
  try {
    return (await fetch(`${url}/state`, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

export async function networkDrill(estate: LocalEstate, kind: "partition" | "latency", o: NetworkDrillOptions): Promise<NetworkDrillResult> {
  const timeoutMs = o.timeoutMs ?? 60_000;
  const target = o.region ? estate.region(o.region) : estate.regions[0]!;
  const timing = providerTiming(estate.policy, estate.policy.providers[0]!);
  const probeTimeoutMs = estate.policy.healthCheck.timeoutSeconds * 1000;
  const fault = kind === "partition" ? { kind, region: target.id } : { kind, region: target.id, latencyMs: o.latencyMs ?? 300, jitterMs: o.jitterMs ?? 0 };
  const r: NetworkDrillResult = {
    kind,
    region: target.id,
    fault: estate.chaos.validate(fault, o.durationMs),
    durationMs: o.durationMs,
    detectionMs: timing.detectionSeconds * 1000,
    probeTimeoutMs,
    detectionMeasuredMs: null,
    leftAnswerMs: null,
    revertedAfterMs: null,
    recoveryMs: null,
    rttMs: { before: null, during: null, duringMin: null, after: null },
    answeredBefore: false,
    healthDuring: [],
    checks: [],
  };
  const interval = estate.policy.healthCheck.intervalSeconds * 1000;
  try {
    await waitFor(`${target.id} to be healthy before the fault`, () => (estate.healthStates()[target.id] === "healthy" && estate.prober.rttMs(target.id) !== null ? true : undefined), timeoutMs, 100);
    r.rttMs.before = estate.prober.rttMs(target.id);
    r.answeredBefore = inAnswer(estate, target.id);
    const answeredAgain = () => !r.answeredBefore || inAnswer(estate, target.id);
    // A probe round that completed this long after the fault started after it (rounds start every interval
    // and end within the timeout): only such rounds measure the faulty network.
    const settledMs = interval + probeTimeoutMs + 500;
    const active = await estate.chaos.inject(fault, o.durationMs);
    const t0 = active.startedAtMs;
    // Watch until the toolkit reverts the fault by itself.
    let processUp = true;
    await waitFor(
      "the fault to revert itself",
      async () => {
        const state = estate.healthStates()[target.id]!;
        if (r.healthDuring.at(-1) !== state) r.healthDuring.push(state);
        if (state === "unhealthy" && r.detectionMeasuredMs === null) r.detectionMeasuredMs = Date.now() - t0;
        if (r.answeredBefore && r.leftAnswerMs === null && !inAnswer(estate, target.id)) r.leftAnswerMs = Date.now() - t0;
        const rtt = estate.prober.rttMs(target.id);
        if (rtt !== null && Date.now() - t0 > settledMs) {
          r.rttMs.during = Math.max(r.rttMs.during ?? 0, rtt);
          r.rttMs.duringMin = Math.min(r.rttMs.duringMin ?? Infinity, rtt);
        }
        if (kind === "partition" && Date.now() - t0 > interval) processUp &&= await controlPlaneUp(estate, target.id);
        return estate.chaos.active().some((a) => a.id === active.id) ? undefined : Date.now();
      },
      o.durationMs + timeoutMs,
      100,
    ).then((at) => (r.revertedAfterMs = at - t0));
    const revertedAt = t0 + r.revertedAfterMs!;
    await waitFor(`${target.id} to be healthy and answered again after the revert`, () => (estate.healthStates()[target.id] === "healthy" && answeredAgain() ? Date.now() : undefined), timeoutMs, 100).then(
      (at) => (r.recoveryMs = at - revertedAt),
    );
    // A probe round that started after the revert.
    await new Promise((res) => setTimeout(res, interval + 200));
    r.rttMs.after = estate.prober.rttMs(target.id);

    r.checks.push({ name: "the fault reverted by itself", ok: estate.chaos.active().length === 0 && r.revertedAfterMs! >= o.durationMs, detail: `after ${(r.revertedAfterMs! / 1000).toFixed(2)} s (asked ${(o.durationMs / 1000).toFixed(1)} s)` });
    if (kind === "partition") {
      r.checks.push({ name: `the GSLB marked ${target.id} unhealthy`, ok: r.detectionMeasuredMs !== null, detail: `health during the fault: ${r.healthDuring.join(" → ")}` });
      if (r.answeredBefore)
        r.checks.push({ name: `${target.id} left the answer set`, ok: r.leftAnswerMs !== null, detail: r.leftAnswerMs === null ? "it was answered throughout" : `after ${(r.leftAnswerMs / 1000).toFixed(2)} s` });
      r.checks.push({ name: `${target.id}'s process stayed up (the fault was the network's)`, ok: processUp, detail: processUp ? "its control plane answered throughout" : "its control plane stopped answering" });
    } else {
      const added = 2 * (fault as { latencyMs: number }).latencyMs;
      // A lower bound, not a timing guess: no probe through the delayed network can be faster than 2 × latency.
      const noneFaster = r.rttMs.duringMin === null ? r.healthDuring.some((h) => h !== "healthy") : r.rttMs.duringMin >= added;
      r.checks.push({
        name: `no probe during the fault was faster than the added ${added} ms round trip`,
        ok: noneFaster,
        detail: `probe RTT before ${ms(r.rttMs.before)}, during ${ms(r.rttMs.duringMin)} – ${ms(r.rttMs.during)}${r.rttMs.duringMin === null ? " (every probe timed out)" : ""}`,
      });
      if (added >= probeTimeoutMs) r.checks.push({ name: `a round trip past the ${probeTimeoutMs} ms probe timeout made ${target.id} unhealthy`, ok: r.detectionMeasuredMs !== null, detail: `health during the fault: ${r.healthDuring.join(" → ")}` });
      const net = estate.proxies.get(target.id)!.fault;
      r.checks.push({ name: "the added latency is gone after the revert", ok: net.latencyMs === 0 && net.jitterMs === 0, detail: `proxy latency ${net.latencyMs} ms; probe RTT after ${ms(r.rttMs.after)}` });
    }
    r.checks.push({ name: `${target.id} healthy and answered again`, ok: r.recoveryMs !== null, detail: `${((r.recoveryMs ?? 0) / 1000).toFixed(2)} s after the revert` });
  } catch (err) {
    if (!(err instanceof DrillTimeout)) throw err;
    r.timedOut = err.message;
    r.checks.push({ name: "the drill finished", ok: false, detail: err.message });
  } finally {
    await estate.chaos.revertAll();
  }
  return r;
}

const ms = (v: number | null) => (v === null ? "—" : `${v.toFixed(1)} ms`);
