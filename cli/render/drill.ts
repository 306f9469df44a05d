/** Drill reports: what was measured beside what the runbook promises, and each invariant's verdict. */
import type { OutageMeasurement } from "../../runtime/local/drills/regional-outage.js";
import { skewPhases, type SkewDrillResult } from "../../runtime/local/drills/clock-skew.js";
import type { CheckResult } from "../../runtime/local/drills/checks.js";
import { networkPhases, type NetworkDrillResult } from "../../runtime/local/drills/network.js";

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

function checks(list: CheckResult[]): string[] {
  return list.map((c) => `| ${c.name} | ${verdict(c.ok)} | ${c.detail} |`);
}

export function renderOutage(m: OutageMeasurement): string {
  return [
    `# Drill: regional outage of ${m.region || "(no region)"} (${m.address || "—"})`,
    "",
    ...(m.timedOut ? [`**Verdict: FAILED — ${m.timedOut}.**`, ""] : []),
    `DNS answer before: ${m.answerBefore.join(", ")}; after: ${m.answerAfter.join(", ") || "(none)"}.`,
    `Runbook (${m.runbook.provider}): checks every ${m.runbook.intervalSeconds} s × ${m.runbook.failureThreshold}, probe timeout ${m.runbook.probeTimeoutSeconds} s, TTL ${m.runbook.drainSeconds} s.`,
    "",
    "| phase | measured | runbook | |",
    "|---|---|---|---|",
    ...outagePhases(m).map((p) => `| ${p.phase} | ${s(p.measuredMs)} | ≤ ${s(p.runbookMs)} | ${within(p.ok)} |`),
    "",
    "| invariant | | |",
    "|---|---|---|",
    ...checks(m.checks),
    "",
    `Acknowledged sales by region (before the kill → in all): ${Object.entries(m.sales).map(([r, n]) => `${r} ${m.salesBeforeKill[r] ?? 0} → ${n}`).join(", ") || "none"}; ${m.requestsAfterKill} requests reached the dead region's address after the kill.`,
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
    ...(r.timedOut ? [`**Verdict: FAILED — ${r.timedOut}.**`, ""] : []),
    "| phase | measured | bound | |",
    "|---|---|---|---|",
    ...skewPhases(r).map((p) => `| ${p.phase} | ${s(p.measuredMs)} | ≤ ${s(p.boundMs)} | ${within(p.ok)} |`),
    "",
    `Bounds: the ${s(r.thresholds.recoveryHoldMs)} hold-down plus two syncs, the checkers' ${s(r.detectionMs)} detection; \`--strict\` fails a drill that misses them.`,
    "",
    "| check | | |",
    "|---|---|---|",
    ...checks(r.checks),
    "",
  ].join("\n");
}

export function renderNetwork(r: NetworkDrillResult): string {
  const what = r.kind === "partition" ? "network partition" : `added latency ${JSON.stringify(r.fault).match(/"latencyMs":(\d+)/)?.[1] ?? "?"} ms each way`;
  return [
    `# Drill: ${what} of ${r.region} for ${s(r.durationMs)} (reverts by itself)`,
    "",
    ...(r.timedOut ? [`**Verdict: FAILED — ${r.timedOut}.**`, ""] : []),
    `Checkers: detection ${s(r.detectionMs)}, probe timeout ${s(r.probeTimeoutMs)}. Health during the fault: ${r.healthDuring.join(" → ") || "—"}.`,
    `Probe round trip: before ${rtt(r.rttMs.before)}, during ${rtt(r.rttMs.duringMin)} – ${rtt(r.rttMs.during)}, after ${rtt(r.rttMs.after)}.`,
    "",
    "| phase | measured | bound | |",
    "|---|---|---|---|",
    ...networkPhases(r).map((p) => `| ${p.phase} | ${s(p.measuredMs)} | ≤ ${s(p.boundMs)} | ${within(p.ok)} |`),
    "",
    "| check | | |",
    "|---|---|---|",
    ...checks(r.checks),
    "",
  ].join("\n");
}

const rtt = (v: number | null) => (v === null ? "—" : `${v.toFixed(1)} ms`);
