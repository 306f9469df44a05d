/** Drill reports: what was measured beside what the runbook promises, and each invariant's verdict. */
import type { OutageMeasurement } from "../../runtime/local/drills/regional-outage.js";
import type { SkewDrillResult } from "../../runtime/local/drills/clock-skew.js";
import type { CheckResult } from "../../runtime/local/drills/checks.js";

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const verdict = (ok: boolean) => (ok ? "ok" : "FAILED");
const within = (ok: boolean) => (ok ? "within" : "OVER");

/** The runbook's detection is a worst case; the measurement may beat it by up to one probe interval. */
export function outagePhases(m: OutageMeasurement): { phase: string; measuredMs: number; runbookMs: number; ok: boolean }[] {
  const rb = m.runbook;
  return [
    { phase: "detection (kill → unhealthy)", measuredMs: m.detectionMs, runbookMs: rb.detectionSeconds * 1000 },
    { phase: "DNS failover (kill → new answer)", measuredMs: m.dnsFailoverMs, runbookMs: rb.detectionSeconds * 1000 },
    { phase: "drain (failover + TTL)", measuredMs: m.drainMs, runbookMs: rb.rtoSeconds * 1000 },
  ].map((p) => ({ ...p, ok: p.measuredMs <= p.runbookMs }));
}

function checks(list: CheckResult[]): string[] {
  return list.map((c) => `| ${c.name} | ${verdict(c.ok)} | ${c.detail} |`);
}

export function renderOutage(m: OutageMeasurement): string {
  return [
    `# Drill: regional outage of ${m.region} (${m.address})`,
    "",
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
    `Sales during the drill by region: ${Object.entries(m.sales).map(([r, n]) => `${r} ${n}`).join(", ") || "none"}.`,
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
    `Recovery (skew removed → healthy): measured ${s(r.recoveryMs)}, runbook: the ${s(r.thresholds.recoveryHoldMs)} hold-down plus one sync.`,
    "",
    "| check | | |",
    "|---|---|---|",
    ...checks(r.checks),
    "",
  ].join("\n");
}
