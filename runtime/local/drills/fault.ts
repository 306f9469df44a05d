/**
 * Fault drills, built on the chaos toolkit: one timed fault on one region — its network (partition, latency,
 * connection loss on the proxy in front of it), its clock (skew) or one of its services (degradation) — then
 * what was observed until the fault reverted by itself and the region was served again. Two observers:
 * the GSLB's checkers (health, answers, probe round trips) and a client of the region's public address
 * that opens a new connection per request, as a fresh client does. Verdicts come from what they saw:
 *
 * - partition: unhealthy within the detection time, out of the answer set, no client request answered, while
 *   the region process stays up (the fault is the network's);
 * - latency: no probe faster than twice the added latency; past the probe timeout, unhealthy;
 * - loss: the client's share of lost connections matches the asked loss within binomial tolerance, and none
 *   is lost before the fault or after the revert;
 * - degrade: the client sees the service failing throughout, the GSLB counts it (degraded), it answers again after;
 * - skew: the region's clock state follows the skew's size (degraded, frozen past the max offset — then the
 *   GSLB degrades the region), and after the revert it recovers, no sooner than the hold-down.
 * Every wait has a deadline; a drill that cannot finish says what it waited for and fails.
 */
import { providerTiming } from "../../../model/traffic/timing.js";
import type { ActiveFault, FaultInput } from "../chaos.js";
import type { LocalEstate } from "../estate.js";
import type { RegionEndpoint } from "../estate-options.js";
import type { CheckResult } from "./checks.js";
import { CLIENT_LOOPS, startClient, tally, type Sample } from "./probe-client.js";
import { DrillTimeout, waitFor } from "./regional-outage.js";

export const FAULT_DRILLS = ["partition", "latency", "loss", "degrade", "skew"] as const;
export type FaultDrillKind = (typeof FAULT_DRILLS)[number];

/** What the client saw in one window: requests started, answered at all, answered 2xx. */
export interface Tally {
  requests: number;
  answered: number;
  ok: number;
}

export interface FaultDrillResult {
  kind: FaultDrillKind;
  region: string;
  fault: ActiveFault["fault"];
  durationMs: number;
  /** The checkers' detection time for this policy (runbook), and the probe timeout. */
  detectionMs: number;
  probeTimeoutMs: number;
  /** The GSLB state a detected fault shows as ("unhealthy" for the network, "degraded" for a service or clock); null when none is expected. */
  detectAs: "unhealthy" | "degraded" | null;
  /** Fault applied → the GSLB showed `detectAs`. */
  detectionMeasuredMs: number | null;
  /** Fault applied → the region left the GSLB's answer set (when it was in it). */
  leftAnswerMs: number | null;
  /** When the fault reverted itself, measured from when it was applied. */
  revertedAfterMs: number | null;
  /** Revert → region healthy again and back in the answer set (and, for skew, its clock healthy). */
  recoveryMs: number | null;
  /** Its bound: the detection time (plus the clock's hold-down for a skew that moved the clock). */
  recoveryBoundMs: number;
  /** Probe round-trip times: before, during (the smallest and largest completed probe), after. */
  rttMs: { before: number | null; during: number | null; duringMin: number | null; after: number | null };
  /** Whether the region was in the GSLB's answer set before the fault (a failover standby is not). */
  answeredBefore: boolean;
  healthDuring: string[];
  /** The client's requests to the region's public address (`clientPath`), by when they started. */
  clientPath: string;
  client: { before: Tally; during: Tally; after: Tally };
  /** Skew: the region's clock states as the client read them, in order; and its thresholds. */
  clockStates?: string[];
  clock?: { degradeMs: number; freezeMs: number; recoveryHoldMs: number; expected: string; recoveredAfterMs: number | null };
  checks: CheckResult[];
  timedOut?: string;
}

export interface FaultDrillOptions {
  region?: string;
  durationMs: number;
  timeoutMs?: number;
  latencyMs?: number;
  jitterMs?: number;
  loss?: number;
  service?: string;
  skewMs?: number;
}

/** The drill's timings beside their bounds (what --strict enforces; machine load makes them vary). */
export function faultPhases(r: FaultDrillResult): { phase: string; measuredMs: number | null; boundMs: number; ok: boolean }[] {
  const phases = [
    { phase: "fault reverted on time (applied → reverted)", measuredMs: r.revertedAfterMs, boundMs: r.durationMs + 1000 },
    { phase: "recovery (reverted → healthy and answered)", measuredMs: r.recoveryMs, boundMs: r.recoveryBoundMs },
  ];
  if (r.detectAs && (r.kind !== "latency" || r.detectionMeasuredMs !== null))
    phases.unshift({ phase: `detection (fault → ${r.detectAs})`, measuredMs: r.detectionMeasuredMs, boundMs: r.detectionMs + 1000 });
  return phases.map((p) => ({ ...p, ok: p.measuredMs !== null && p.measuredMs <= p.boundMs }));
}

/** Probe rounds in a row the region must answer in full before the drill's baseline starts. */
const STEADY_ROUNDS = 2;

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

/** The fault each drill injects, from its options (the defaults are the documented ones). */
function drillFault(estate: LocalEstate, kind: FaultDrillKind, region: string, o: FaultDrillOptions): FaultInput {
  switch (kind) {
    case "partition":
      return { kind, region };
    case "latency":
      return { kind, region, latencyMs: o.latencyMs ?? 300, jitterMs: o.jitterMs ?? 0 };
    case "loss":
      return { kind, region, loss: o.loss ?? 0.3 };
    case "degrade":
      return { kind, region, service: o.service ?? "escrow" };
    case "skew":
      return { kind, region, skewMs: o.skewMs ?? Math.round(estate.spec.time.maxOffsetMs * 1.2) };
  }
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const ms = (v: number | null) => (v === null ? "—" : `${v.toFixed(1)} ms`);

export async function faultDrill(estate: LocalEstate, kind: FaultDrillKind, o: FaultDrillOptions): Promise<FaultDrillResult> {
  const timeoutMs = o.timeoutMs ?? 60_000;
  const target: RegionEndpoint = o.region ? estate.region(o.region) : estate.regions[0]!;
  const timing = providerTiming(estate.policy, estate.policy.providers[0]!);
  const probeTimeoutMs = estate.policy.healthCheck.timeoutSeconds * 1000;
  const detectionMs = timing.detectionSeconds * 1000;
  const fault = estate.chaos.validate(drillFault(estate, kind, target.id, o), o.durationMs);
  const t = estate.spec.time;
  const clock =
    fault.kind === "skew"
      ? (() => {
          const degradeMs = t.maxOffsetMs * t.skew.degradeFraction;
          const freezeMs = t.maxOffsetMs * t.skew.freezeFraction;
          const size = Math.abs(fault.skewMs);
          const expected = size >= freezeMs ? "frozen" : size >= degradeMs ? "degraded" : "healthy";
          return { degradeMs, freezeMs, recoveryHoldMs: t.skew.recoveryHoldSeconds * 1000, expected, recoveredAfterMs: null as number | null };
        })()
      : undefined;
  const detectAs = kind === "partition" || kind === "latency" ? "unhealthy" : kind === "degrade" || clock?.expected === "frozen" ? "degraded" : null;
  const clientPath = fault.kind === "skew" ? "/clock/v1/time/skew" : `/healthz/${fault.kind === "degrade" ? fault.service : estate.policy.signals[0]!.name}`;
  const r: FaultDrillResult = {
    kind,
    region: target.id,
    fault,
    durationMs: o.durationMs,
    detectionMs,
    probeTimeoutMs,
    detectAs,
    detectionMeasuredMs: null,
    leftAnswerMs: null,
    revertedAfterMs: null,
    recoveryMs: null,
    recoveryBoundMs: detectionMs + 1000 + (clock && clock.expected !== "healthy" ? clock.recoveryHoldMs : 0),
    rttMs: { before: null, during: null, duringMin: null, after: null },
    answeredBefore: false,
    healthDuring: [],
    clientPath,
    client: { before: tally([]), during: tally([]), after: tally([]) },
    ...(clock ? { clockStates: [], clock } : {}),
    checks: [],
  };
  const interval = estate.policy.healthCheck.intervalSeconds * 1000;
  // How long a client loop waits before its next request (2 s at least): a black-holed connection never answers.
  const clientPatienceMs = Math.max(2000, 2 * probeTimeoutMs);
  let client: ReturnType<typeof startClient> | undefined;
  let appliedAt = 0;
  let revertAt = 0;
  let revertedAt = 0;
  try {
    // The baseline is a steady region's: healthy, and answering the checkers on every signal within the probe
    // timeout for STEADY_ROUNDS rounds in a row — not a region's first, cold requests (a fresh estate's first
    // requests can take seconds on a loaded machine, and a lost one would be blamed on no fault at all).
    const steady = () => estate.healthStates()[target.id] === "healthy" && estate.prober.answeredStreak(target.id) >= STEADY_ROUNDS;
    await waitFor(`${target.id} to be healthy and answer ${STEADY_ROUNDS} probe rounds in a row before the fault`, () => (steady() ? true : undefined), timeoutMs, 100);
    client = startClient(`${target.url}${clientPath}`, clientPatienceMs);
    // The client's before-window: a probe round that started after the client did, and two requests per client loop.
    const clientFrom = Date.now();
    await waitFor(
      `the client's baseline on ${target.id} (a probe round and ${2 * CLIENT_LOOPS} requests before the fault)`,
      () => ((estate.prober.lastRound(target.id)?.startedAtMs ?? 0) >= clientFrom && client!.samples.filter((x) => x.settled).length >= 2 * CLIENT_LOOPS ? true : undefined),
      timeoutMs,
      50,
    );
    r.rttMs.before = estate.prober.rttMs(target.id);
    r.answeredBefore = inAnswer(estate, target.id);
    const answeredAgain = () => !r.answeredBefore || inAnswer(estate, target.id);
    const active = await estate.chaos.inject(fault, o.durationMs);
    const t0 = active.startedAtMs;
    appliedAt = Date.now();
    revertAt = active.revertAtMs;
    let processUp = true;
    await waitFor(
      "the fault to revert itself",
      async () => {
        const state = estate.healthStates()[target.id]!;
        if (r.healthDuring.at(-1) !== state) r.healthDuring.push(state);
        const detected = detectAs === "unhealthy" ? state === "unhealthy" : detectAs === "degraded" && state !== "healthy";
        if (detected && r.detectionMeasuredMs === null) r.detectionMeasuredMs = Date.now() - t0;
        if (r.answeredBefore && r.leftAnswerMs === null && !inAnswer(estate, target.id)) r.leftAnswerMs = Date.now() - t0;
        // Only a round that started once the fault was in place and ended before its revert was due measured the
        // faulty network: the fault holds from `appliedAt` to at least `revertAt` (the revert timer never fires early,
        // and under load it fires late, so a round that merely completed "long enough after the start" may not have).
        const round = estate.prober.lastRound(target.id);
        if (round && round.rttMs !== null && round.startedAtMs >= appliedAt && round.startedAtMs + round.rttMs <= revertAt) {
          r.rttMs.during = Math.max(r.rttMs.during ?? 0, round.rttMs);
          r.rttMs.duringMin = Math.min(r.rttMs.duringMin ?? Infinity, round.rttMs);
        }
        if (kind === "partition" && Date.now() - t0 > interval) processUp &&= await controlPlaneUp(estate, target.id);
        return estate.chaos.active().some((a) => a.id === active.id) ? undefined : Date.now();
      },
      o.durationMs + timeoutMs,
      100,
    ).then((at) => (r.revertedAfterMs = at - t0));
    revertedAt = t0 + r.revertedAfterMs!;
    const clockHealthy = () => !clock || client!.samples.some((s) => s.atMs > revertedAt && s.state === "healthy");
    await waitFor(
      `${target.id} to be healthy and answered again after the revert${clock ? ", its clock healthy" : ""}`,
      () => (estate.healthStates()[target.id] === "healthy" && answeredAgain() && clockHealthy() ? Date.now() : undefined),
      timeoutMs + (clock?.recoveryHoldMs ?? 0),
      100,
    ).then((at) => (r.recoveryMs = at - revertedAt));
    // A probe round, and a request from each client loop, that started after the revert (waited for, not slept).
    await waitFor(
      `a probe round and ${CLIENT_LOOPS} client requests on ${target.id} after the revert`,
      () => ((estate.prober.lastRound(target.id)?.startedAtMs ?? 0) > revertedAt && client!.samples.filter((x) => x.atMs > revertedAt && x.settled).length >= CLIENT_LOOPS ? true : undefined),
      timeoutMs,
      50,
    );
    r.rttMs.after = estate.prober.rttMs(target.id);
    await client.stop();
    tallyClient();

    r.checks.push({
      name: "the fault reverted by itself",
      ok: !estate.chaos.active().some((a) => a.id === active.id) && r.revertedAfterMs! >= o.durationMs,
      detail: `after ${(r.revertedAfterMs! / 1000).toFixed(2)} s (asked ${(o.durationMs / 1000).toFixed(1)} s)`,
    });
    r.checks.push(...kindChecks(estate, r, target, processUp));
    r.checks.push({ name: `${target.id} healthy and answered again`, ok: r.recoveryMs !== null, detail: `${((r.recoveryMs ?? 0) / 1000).toFixed(2)} s after the revert` });
  } catch (err) {
    if (!(err instanceof DrillTimeout)) throw err;
    r.timedOut = err.message;
    r.checks.push({ name: "the drill finished", ok: false, detail: err.message });
  } finally {
    await client?.stop();
    // Its region's faults only: drills on other regions of the same estate may be running.
    await estate.chaos.revertAll(target.id);
  }
  if (r.timedOut) tallyClient();
  return r;

  /**
   * Sort the client's requests by when they started: before the fault, while it held, after the revert. A request
   * sent before the fault but still unanswered when it came, within the client's patience, counts in neither window:
   * its connection may reach the proxy only after the fault is on (a busy event loop accepts it late) and be dropped
   * by the fault — a loss the baseline must not blame on a healthy region (README's `drill loss` failed so: 3 of 104).
   */
  function tallyClient(): void {
    const samples = client?.samples ?? [];
    // A degraded service fails the requests the region handles while the fault holds: one sent before the revert but
    // handled after it (a loaded region queues it) is answered by the recovered service — during only if answered
    // before the revert was due (its timer never fires early). The network faults decide at the connection instead.
    const inFault = (s: Sample) => (kind === "degrade" && s.answeredAtMs !== undefined ? s.answeredAtMs < revertAt : s.atMs < revertAt - 50);
    const during = samples.filter((s) => appliedAt && s.atMs >= appliedAt && inFault(s));
    const straddled = (s: { atMs: number; status: number | null }) => appliedAt && s.status === null && s.atMs >= appliedAt - clientPatienceMs;
    r.client = {
      before: tally(samples.filter((s) => (!appliedAt || s.atMs < appliedAt - 50) && !straddled(s))),
      during: tally(during),
      after: tally(samples.filter((s) => revertedAt && s.atMs > revertedAt)),
    };
    if (r.clockStates)
      r.clockStates = [...samples]
        .sort((a, b) => a.atMs - b.atMs)
        .flatMap((s) => (s.state ? [s.state] : []))
        .filter((s, i, all) => s !== all[i - 1]);
    // From the revert's due time (its timer never fires early, so the region's hold-down starts after it) to the first
    // healthy answer's arrival (the region read its state before): a lower bound no loaded machine can shorten. Seen
    // from when the drill noticed the revert and when the request was sent, a late poll made it read 2.87 s of a 3 s hold.
    if (r.clock && revertedAt) {
      const healthy = samples.filter((s) => s.atMs > revertedAt && s.state === "healthy").map((s) => s.answeredAtMs ?? s.atMs);
      r.clock.recoveredAfterMs = healthy.length ? Math.min(...healthy) - revertAt : null;
    }
  }
}

/** What each kind of fault must have done, judged from what the checkers and the client saw. */
function kindChecks(estate: LocalEstate, r: FaultDrillResult, target: RegionEndpoint, processUp: boolean): CheckResult[] {
  const f = r.fault;
  const { before, during, after } = r.client;
  const health = `health during the fault: ${r.healthDuring.join(" → ")}`;
  const out: CheckResult[] = [];
  switch (f.kind) {
    case "partition":
      out.push({ name: `the GSLB marked ${target.id} unhealthy`, ok: r.detectionMeasuredMs !== null, detail: health });
      if (r.answeredBefore)
        out.push({
          name: `${target.id} left the answer set`,
          ok: r.leftAnswerMs !== null,
          detail: r.leftAnswerMs === null ? "it was answered throughout" : `after ${(r.leftAnswerMs / 1000).toFixed(2)} s`,
        });
      out.push({ name: "no client request was answered through the partition", ok: during.requests > 0 && during.answered === 0, detail: `${during.answered} of ${during.requests} answered` });
      out.push({
        name: `${target.id}'s process stayed up (the fault was the network's)`,
        ok: processUp,
        detail: processUp ? "its control plane answered throughout" : "its control plane stopped answering",
      });
      break;
    case "latency": {
      const added = 2 * f.latencyMs;
      // A lower bound, not a timing guess: no probe through the delayed network can be faster than 2 × latency.
      const noneFaster = r.rttMs.duringMin === null ? r.healthDuring.some((h) => h !== "healthy") : r.rttMs.duringMin >= added;
      out.push({
        name: `no probe during the fault was faster than the added ${added} ms round trip`,
        ok: noneFaster,
        detail: `probe RTT before ${ms(r.rttMs.before)}, during ${ms(r.rttMs.duringMin)} – ${ms(r.rttMs.during)}${r.rttMs.duringMin === null ? " (every probe timed out)" : ""}`,
      });
      if (added >= r.probeTimeoutMs) out.push({ name: `a round trip past the ${r.probeTimeoutMs} ms probe timeout made ${target.id} unhealthy`, ok: r.detectionMeasuredMs !== null, detail: health });
      const net = estate.proxies.get(target.id)!.fault;
      out.push({
        name: "the added latency is gone after the revert",
        ok: net.latencyMs === 0 && net.jitterMs === 0,
        detail: `proxy latency ${net.latencyMs} ms; probe RTT after ${ms(r.rttMs.after)}`,
      });
      break;
    }
    case "loss": {
      const n = during.requests;
      const lost = n - during.answered;
      // Each new connection is lost with probability `loss`: the observed share is binomial around it.
      const tolerance = 4 * Math.sqrt((f.loss * (1 - f.loss)) / Math.max(n, 1)) + 0.02;
      out.push({
        name: `the client lost about ${pct(f.loss)} of its connections`,
        ok: n >= 20 && Math.abs(lost / n - f.loss) <= tolerance,
        detail: n >= 20 ? `${lost} of ${n} lost (${pct(lost / n)}; tolerance ±${pct(tolerance)})` : `only ${n} requests during the fault (need 20)`,
      });
      out.push({
        name: "no connection lost before the fault or after the revert",
        ok: before.answered === before.requests && after.requests > 0 && after.answered === after.requests,
        detail: `before: ${before.requests - before.answered} of ${before.requests} lost; after: ${after.requests - after.answered} of ${after.requests} lost`,
      });
      break;
    }
    case "degrade":
      out.push({
        name: `a client saw ${f.service} failing on ${target.id} throughout the fault`,
        ok: during.requests > 0 && during.ok === 0 && during.answered === during.requests,
        detail: `${during.requests - during.ok} of ${during.requests} requests failed (${during.answered} answered)`,
      });
      out.push({ name: `the GSLB counted it: ${target.id} degraded`, ok: r.detectionMeasuredMs !== null, detail: health });
      out.push({ name: `${f.service} answers again after the revert`, ok: after.requests > 0 && after.ok === after.requests, detail: `${after.ok} of ${after.requests} requests ok` });
      break;
    case "skew": {
      const c = r.clock!;
      const states = r.clockStates ?? [];
      out.push({
        name: `${target.id}'s clock turned ${c.expected} under a ${f.skewMs} ms skew`,
        ok: states.includes(c.expected),
        detail: `clock states seen: ${states.join(" → ") || "none"} (degrade at ${c.degradeMs} ms, freeze at ${c.freezeMs} ms)`,
      });
      if (r.detectAs) out.push({ name: `the GSLB degraded ${target.id} while its clock was frozen`, ok: r.detectionMeasuredMs !== null, detail: health });
      if (c.expected !== "healthy")
        out.push({
          name: "the clock recovered after the revert, not before its hold-down",
          ok: c.recoveredAfterMs !== null && c.recoveredAfterMs >= c.recoveryHoldMs - 100 && states.at(-1) === "healthy",
          detail:
            c.recoveredAfterMs === null ? "it never read healthy again" : `healthy ${(c.recoveredAfterMs / 1000).toFixed(2)} s after the revert (hold-down ${(c.recoveryHoldMs / 1000).toFixed(0)} s)`,
        });
      break;
    }
  }
  return out;
}
