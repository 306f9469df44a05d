/** Drill reports: what was measured beside what the runbook promises, and each invariant's verdict. */
import type { OutageMeasurement } from "../../runtime/local/drills/regional-outage.js";
import { skewPhases, type SkewDrillResult } from "../../runtime/local/drills/clock-skew.js";
import type { CheckResult } from "../../runtime/local/drills/checks.js";
import { faultPhases, type FaultDrillResult, type Tally } from "../../runtime/local/drills/fault.js";

const s = (ms: number | null) => (ms === null ? "—" : `${(ms / 1000).toFixed(2)} s`);
const verdict = (ok: boolean) => (ok ? "ok" : "FAILED");
const within = (ok: boolean) => (ok ? "within" : "OVER");

/**
 * Each measured phase beside the runbook's bound: detection and DNS failover within the checkers'
 * detection time, drain (the last request clients sent to the dead region) within the RTO (detection plus
 * the TTL clients may cache the old answer). A phase the drill never reached is not within its bound.
 */
export function outagePhases(m: OutageMeasurement): { phase: string; measuredMs: number | null; runbookMs: number; ok: boolean }[] {
  const rb = m.runbook;
  return [
    { phase: "detection (kill → unhealthy)", measuredMs: m.detectionMs, runbookMs: rb.detectionSeconds * 1000 },
    { phase: "DNS failover (kill → new answer)", measuredMs: m.dnsFailoverMs, runbookMs: rb.detectionSeconds * 1000 },
    { phase: "drain (kill → last request to it)", measuredMs: m.drainMs, runbookMs: rb.rtoSeconds * 1000 },
  ].map((p) => ({ ...p, ok: p.measuredMs !== null && p.measuredMs <= p.runbookMs }));
}

interface PhaseRow {
  phase: string;
  measuredMs: number | null;
  boundMs: number;
  ok: boolean;
}

/** Every drill's report has the same two tables: measured phases beside their bounds, then its checks. */
function phaseTable(phases: PhaseRow[], bound = "bound"): string[] {
  return [`| phase | measured | ${bound} | |`, "|---|---|---|---|", ...phases.map((p) => `| ${p.phase} | ${s(p.measuredMs)} | ≤ ${s(p.boundMs)} | ${within(p.ok)} |`), ""];
}

function checkTable(list: CheckResult[], title = "check"): string[] {
  return [`| ${title} | | |`, "|---|---|---|", ...list.map((c) => `| ${c.name} | ${verdict(c.ok)} | ${c.detail} |`), ""];
}

/** The drill's verdict in one line: the wait that ran out, else the first broken check, else passed. */
function verdictLine(timedOut: string | undefined, list: CheckResult[]): string[] {
  const broken = list.find((c) => !c.ok);
  return [timedOut ? `**Verdict: FAILED — ${timedOut}.**` : broken ? `**Verdict: FAILED — ${broken.name}: ${broken.detail}.**` : "**Verdict: passed.**", ""];
}

export function renderOutage(m: OutageMeasurement): string {
  return [
    `# Drill: regional outage of ${m.region || "(no region)"} (${m.address || "—"})`,
    "",
    ...verdictLine(m.timedOut, m.checks),
    `DNS answer before: ${m.answerBefore.join(", ")}; after: ${m.answerAfter.join(", ") || "(none)"}.`,
    `Runbook (${m.runbook.provider}): checks every ${m.runbook.intervalSeconds} s × ${m.runbook.failureThreshold}, probe timeout ${m.runbook.probeTimeoutSeconds} s, TTL ${m.runbook.drainSeconds} s.`,
    "",
    ...phaseTable(
      outagePhases(m).map((p) => ({ ...p, boundMs: p.runbookMs })),
      "runbook",
    ),
    ...checkTable(m.checks, "invariant"),
    `Acknowledged sales by region (before the kill → in all): ${
      Object.entries(m.sales)
        .map(([r, n]) => `${r} ${m.salesBeforeKill[r] ?? 0} → ${n}`)
        .join(", ") || "none"
    }; ${m.requestsAfterKill} requests reached the dead region's address after the kill.`,
    "",
  ].join("\n");
}

export function renderSkew(r: SkewDrillResult): string {
  const t0 = r.steps[0]?.atMs ?? 0;
  return [
    `# Drill: clock skew on ${r.region}`,
    "",
    `Max offset ${r.maxOffsetMs} ms: degrade at ${r.thresholds.degradeMs} ms, freeze at ${r.thresholds.freezeMs} ms, recovery hold-down ${s(r.thresholds.recoveryHoldMs)}.`,
    "",
    "| t | injected skew | clock state | GSLB sees the region |",
    "|---|---|---|---|",
    ...r.steps.map((x) => `| +${s(x.atMs - t0)} | ${x.skewMs} ms | ${x.clockState} | ${x.gslbHealth} |`),
    "",
    ...verdictLine(r.timedOut, r.checks),
    ...phaseTable(skewPhases(r)),
    `Bounds: the ${s(r.thresholds.recoveryHoldMs)} hold-down plus two syncs, the checkers' ${s(r.detectionMs)} detection; \`--strict\` fails a drill that misses them.`,
    "",
    ...checkTable(r.checks),
  ].join("\n");
}

const faultTitle: { [K in FaultDrillResult["fault"]["kind"]]: (f: Extract<FaultDrillResult["fault"], { kind: K }>) => string } = {
  partition: () => "network partition",
  latency: (f) => `added latency ${f.latencyMs} ms each way${f.jitterMs ? ` (±${f.jitterMs} ms jitter)` : ""}`,
  loss: (f) => `${(f.loss * 100).toFixed(0)}% connection loss`,
  degrade: (f) => `${f.service} forced failing`,
  skew: (f) => `clock skew ${f.skewMs} ms`,
};

const tally = (t: Tally) => `${t.requests} requests, ${t.requests - t.answered} lost, ${t.ok} ok`;

export function renderFault(r: FaultDrillResult): string {
  const title = (faultTitle[r.fault.kind] as (f: FaultDrillResult["fault"]) => string)(r.fault);
  return [
    `# Drill: ${title} on ${r.region} for ${s(r.durationMs)} (reverts by itself)`,
    "",
    ...verdictLine(r.timedOut, r.checks),
    `Checkers: detection ${s(r.detectionMs)}, probe timeout ${s(r.probeTimeoutMs)}. Health during the fault: ${r.healthDuring.join(" → ") || "—"}.`,
    `Probe round trip: before ${rtt(r.rttMs.before)}, during ${rtt(r.rttMs.duringMin)} – ${rtt(r.rttMs.during)}, after ${rtt(r.rttMs.after)}.`,
    `Client of ${r.clientPath} (a new connection per request): before ${tally(r.client.before)}; during ${tally(r.client.during)}; after ${tally(r.client.after)}.`,
    ...(r.clockStates ? [`Clock states the client read: ${r.clockStates.join(" → ") || "—"}.`] : []),
    "",
    ...phaseTable(faultPhases(r)),
    ...checkTable(r.checks),
  ].join("\n");
}

const rtt = (v: number | null) => (v === null ? "—" : `${v.toFixed(1)} ms`);
