/**
 * The clock-skew drill: push one region's clock past the degrade threshold, then past the freeze
 * threshold (beyond the HLC max offset), then back — and record the skew state machine's sequence
 * (healthy → degraded → frozen → recovering → healthy), the GSLB's view of the region (its clock signal
 * fails while the strong path is closed), and that other regions refuse its HLC timestamps meanwhile. The
 * skews are chaos-toolkit faults: timed, so an interrupted drill cannot leave a clock off.
 */
import { providerTiming } from "../../../model/traffic/timing.js";
import type { LocalEstate } from "../estate.js";
import type { CheckResult } from "./checks.js";
import { MAX_FAULT_SECONDS } from "../chaos.js";
import { DrillTimeout, waitFor } from "./regional-outage.js";

export interface SkewStep {
  atMs: number;
  skewMs: number;
  clockState: string;
  gslbHealth: string;
}

export interface SkewDrillResult {
  region: string;
  maxOffsetMs: number;
  thresholds: { degradeMs: number; freezeMs: number; recoveryHoldMs: number };
  steps: SkewStep[];
  /** Measured from the skew being removed to the region's clock being healthy again. */
  recoveryMs: number | null;
  /** From the freezing skew to the GSLB marking the region degraded. */
  gslbFreezeMs: number | null;
  /** From the skew being removed to the GSLB serving the region as healthy again. */
  gslbRecoveryMs: number | null;
  /** The checkers' detection time for this policy (runbook). */
  detectionMs: number;
  checks: CheckResult[];
  /** Set when a wait ran out: what the drill was waiting for. */
  timedOut?: string;
}

/** The skew drill's timings beside their bounds (what --strict enforces; machine load makes them vary). */
export function skewPhases(r: SkewDrillResult): { phase: string; measuredMs: number | null; boundMs: number; ok: boolean }[] {
  const hold = r.thresholds.recoveryHoldMs;
  return [
    { phase: "GSLB sees the frozen clock (freeze → degraded)", measuredMs: r.gslbFreezeMs, boundMs: r.detectionMs + 1000 },
    { phase: "clock recovery (skew removed → healthy)", measuredMs: r.recoveryMs, boundMs: hold + 1000 },
    { phase: "GSLB serves it again (skew removed → healthy)", measuredMs: r.gslbRecoveryMs, boundMs: hold + 1000 + r.detectionMs },
  ].map((p) => ({ ...p, ok: p.measuredMs !== null && p.measuredMs <= p.boundMs }));
}

async function clockState(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(`${url}/clock/v1/time/skew`, { signal: AbortSignal.timeout(1000) });
    return res.ok ? ((await res.json()) as { state: string }).state : undefined;
  } catch {
    return undefined;
  }
}

export async function clockSkewDrill(estate: LocalEstate, options: { region?: string; timeoutMs?: number } = {}): Promise<SkewDrillResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const t = estate.spec.time;
  const target = options.region ? estate.region(options.region) : estate.regions.at(-1)!;
  const other = estate.regions.find((r) => r.id !== target.id);
  const degradeMs = t.maxOffsetMs * t.skew.degradeFraction;
  const freezeMs = t.maxOffsetMs * t.skew.freezeFraction;
  const steps: SkewStep[] = [];
  const checks: CheckResult[] = [];
  const record = async (skewMs: number, state: string) => steps.push({ atMs: Date.now(), skewMs, clockState: state, gslbHealth: estate.healthStates()[target.id] ?? "?" });
  const reach = (state: string) => waitFor(`${target.id}'s clock to be ${state}`, async () => ((await clockState(target.url)) === state ? state : undefined), timeoutMs, 50);

  const timing = providerTiming(estate.policy, estate.policy.providers[0]!);
  const result: SkewDrillResult = {
    region: target.id,
    maxOffsetMs: t.maxOffsetMs,
    thresholds: { degradeMs, freezeMs, recoveryHoldMs: t.skew.recoveryHoldSeconds * 1000 },
    steps,
    recoveryMs: null,
    gslbFreezeMs: null,
    gslbRecoveryMs: null,
    detectionMs: timing.detectionSeconds * 1000,
    checks,
  };
  try {
    await run();
  } catch (err) {
    if (!(err instanceof DrillTimeout)) throw err;
    result.timedOut = err.message;
    checks.push({ name: "the drill completed", ok: false, detail: err.message });
  } finally {
    // Whatever happened, the skews end here (and would have ended by themselves); other regions' faults are not this drill's.
    await estate.chaos.revertAll(target.id);
  }
  return result;

  async function run(): Promise<void> {
    await waitFor("every region healthy", async () => (Object.values(estate.healthStates()).every((s) => s === "healthy") ? true : undefined), timeoutMs, 50);
    await record(0, await reach("healthy"));

    // Both skews go through the chaos toolkit: timed, so an interrupted drill cannot leave a clock off.
    const budgetMs = Math.min(MAX_FAULT_SECONDS * 1000, 3 * timeoutMs + t.skew.recoveryHoldSeconds * 1000);
    const degrade = Math.round((degradeMs + freezeMs) / 2);
    const degrading = await estate.chaos.inject({ kind: "skew", region: target.id, skewMs: degrade }, budgetMs);
    await record(degrade, await reach("degraded"));

    const freeze = Math.round(t.maxOffsetMs * 1.2);
    const freezing = await estate.chaos.inject({ kind: "skew", region: target.id, skewMs: freeze }, budgetMs);
    const frozenAt = Date.now();
    await record(freeze, await reach("frozen"));
    await waitFor("the GSLB to see the frozen clock", async () => (estate.healthStates()[target.id] === "degraded" ? true : undefined), timeoutMs, 50);
    result.gslbFreezeMs = Date.now() - frozenAt;
    await record(freeze, "frozen");
    if (other) checks.push(await refusesSkewedHlc(target, other, freeze - t.maxOffsetMs));

    // Remove the skews (the older first, so the clock goes straight from frozen to its start-up skew).
    await estate.chaos.revert(degrading.id);
    await estate.chaos.revert(freezing.id);
    const removedAt = Date.now();
    await record(0, await reach("recovering"));
    await record(0, await reach("healthy"));
    const recoveryMs = Date.now() - removedAt;
    result.recoveryMs = recoveryMs;
    await waitFor("the GSLB to serve the region as healthy again", async () => (estate.healthStates()[target.id] === "healthy" ? true : undefined), timeoutMs, 50);
    result.gslbRecoveryMs = Date.now() - removedAt;
    await record(0, "healthy");

    const sequence = steps.map((s) => s.clockState);
    checks.push({
      name: "degrade → freeze → recover",
      ok: ["healthy", "degraded", "frozen", "recovering", "healthy"].every((s, i, all) => sequence.indexOf(s, i === 0 ? 0 : sequence.indexOf(all[i - 1]!)) >= 0),
      detail: sequence.join(" → "),
    });
    checks.push({
      name: "recovery waited for the hold-down",
      ok: recoveryMs >= t.skew.recoveryHoldSeconds * 1000,
      detail: `${recoveryMs} ms ≥ ${t.skew.recoveryHoldSeconds * 1000} ms`,
    });
  }
}

/**
 * The skewed region's HLC is beyond max offset for everyone else: they must refuse it. A timestamp stands
 * `marginMs` past the peer's bound when read and less as it ages, so one the peer accepts proves nothing if it
 * reached the peer later than that (a loaded machine): such a try is repeated, and fails the check only if
 * every try was late.
 */
async function refusesSkewedHlc(target: { id: string; url: string }, other: { id: string; url: string }, marginMs: number): Promise<CheckResult> {
  const name = `${other.id} refuses ${target.id}'s HLC timestamp`;
  const late: string[] = [];
  for (let attempt = 0; attempt < 5; attempt++) {
    const readAt = Date.now();
    const ts = ((await (await fetch(`${target.url}/clock/v1/time`)).json()) as { hlc: string }).hlc;
    const res = await fetch(`${other.url}/clock/v1/time`, { headers: { "x-meridian-hlc": ts } });
    await res.arrayBuffer();
    const ageMs = Date.now() - readAt;
    if (res.status === 409) return { name, ok: true, detail: `HTTP 409 for ${ts}` };
    if (ageMs < marginMs) return { name, ok: false, detail: `HTTP ${res.status} for ${ts}, ${ageMs} ms after it was read (${marginMs} ms past max offset)` };
    late.push(`HTTP ${res.status} after ${ageMs} ms`);
  }
  return { name, ok: false, detail: `inconclusive: every timestamp reached ${other.id} more than ${marginMs} ms after it was read (${late.join(", ")})` };
}
