/**
 * Clock-health alerts (§12.2.3) with thresholds derived from the stack's time config, so the numbers the
 * skew monitor acts on and the numbers operators are paged on are the same numbers. Pure: components
 * render these into a PrometheusRule; tests read them directly.
 */
import type { TimeConfig } from "../config/time.js";
import { SKEW_STATE_VALUE, TIME_METRICS as M } from "./metrics.js";

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  severity: "warning" | "critical";
  summary: string;
  description: string;
}

export interface TimeThresholds {
  /** |offset| at which the skew monitor degrades / freezes, seconds. */
  degradeSeconds: number;
  freezeSeconds: number;
  /** p99 ε above which TrueTime consumers should expect long commit-waits: a tenth of max offset. */
  epsilonP99Seconds: number;
  /** chrony's reference older than this means it has stopped synchronising (10 × maxpoll 6 = 640 s). */
  referenceAgeSeconds: number;
}

export function timeThresholds(time: TimeConfig): TimeThresholds {
  const maxOffsetS = time.maxOffsetMs / 1000;
  return {
    degradeSeconds: maxOffsetS * time.skew.degradeFraction,
    freezeSeconds: maxOffsetS * time.skew.freezeFraction,
    epsilonP99Seconds: maxOffsetS / 10,
    referenceAgeSeconds: 640,
  };
}

const s = (x: number) => Number(x.toPrecision(6)).toString();

export function timeAlerts(time: TimeConfig): AlertRule[] {
  const t = timeThresholds(time);
  return [
    {
      alert: "ClockOffsetHigh",
      expr: `abs(${M.chronyLastOffset}) > ${s(t.degradeSeconds)}`,
      for: "2m",
      severity: "warning",
      summary: "Node clock offset past the degrade threshold",
      description: `chrony's last offset on {{ $labels.instance }} is {{ $value }}s, beyond ${s(t.degradeSeconds)}s (${time.skew.degradeFraction} × max offset ${time.maxOffsetMs} ms).`,
    },
    {
      alert: "ClockOffsetCritical",
      expr: `abs(${M.chronyLastOffset}) > ${s(t.freezeSeconds)}`,
      for: "0m",
      severity: "critical",
      summary: "Node clock offset past the freeze threshold: strong reads and writes are refused there",
      description: `Offset {{ $value }}s on {{ $labels.instance }} exceeds ${s(t.freezeSeconds)}s; follow the clock-skew runbook in docs/time.md.`,
    },
    {
      alert: "ClockNotSynchronising",
      expr: `time() - ${M.chronyReferenceTime} > ${t.referenceAgeSeconds}`,
      for: "5m",
      severity: "warning",
      summary: "chrony has not updated from a source recently",
      description: `{{ $labels.instance }} last synchronised {{ $value }}s ago.`,
    },
    {
      alert: "StrongPathFrozen",
      expr: `max by (namespace, pod) (${M.skewState}) == ${SKEW_STATE_VALUE.frozen}`,
      for: "0m",
      severity: "critical",
      summary: "A service froze its strong-consistency path on clock skew",
      description: "{{ $labels.pod }} measured an offset past the freeze threshold; it serves only stale and eventual reads until it recovers.",
    },
    {
      alert: "TrueTimeEpsilonHigh",
      expr: `histogram_quantile(0.99, sum by (le) (rate(${M.epsilon}_bucket[5m]))) > ${s(t.epsilonP99Seconds)}`,
      for: "10m",
      severity: "warning",
      summary: "TrueTime p99 ε is high: commit-wait latency rises with it",
      description: `p99 ε is {{ $value }}s, above ${s(t.epsilonP99Seconds)}s (a tenth of max offset).`,
    },
    {
      alert: "TimeSourceFalseticker",
      expr: `max(${M.falsetickers}) > 0`,
      for: "1m",
      severity: "warning",
      summary: "A grandmaster source disagrees with the ensemble (spoofing or a failing oscillator)",
      description: "{{ $value }} source(s) are outside the Marzullo agreement and excluded from the time served.",
    },
    {
      alert: "GrandmasterHoldover",
      expr: `max(${M.holdover}) == 1`,
      for: "5m",
      severity: "warning",
      summary: "GPS lost: the grandmaster is in atomic-clock holdover and ε is growing",
      description: "Check the antenna and jamming; ε grows at the oscillators' specified drift until GPS returns.",
    },
    {
      alert: "GrandmasterUnsynchronised",
      expr: `min(${M.synchronized}) == 0`,
      for: "1m",
      severity: "critical",
      summary: "No majority of grandmaster sources agree: it answers with leap 3 / stratum 16",
      description: "Clients will not sync to it; nodes fall back to their other sources.",
    },
    {
      // The grandmaster's ε bounds its offset from true time; past the degrade threshold, every node synchronised to
      // it inherits an offset the skew monitor degrades on, whatever chrony reports locally.
      alert: "GrandmasterOffsetBoundHigh",
      expr: `max by (pod) (${M.ensembleEpsilon}) > ${s(t.degradeSeconds)}`,
      for: "5m",
      severity: "warning",
      summary: "The grandmaster's offset bound (ε) passed the degrade threshold",
      description: `{{ $labels.pod }} serves time within ±{{ $value }}s only, beyond ${s(t.degradeSeconds)}s (${time.skew.degradeFraction} × max offset ${time.maxOffsetMs} ms): check its sources (holdover, falsetickers).`,
    },
    {
      // The HLC reset protocol (runtime/clock/epoch.ts): a new epoch is an operator's act, but every client holding
      // older timestamps or consistency tokens is now answered "hlc reset" and must re-read.
      alert: "HlcEpochChanged",
      expr: `changes(${M.hlcEpoch}[15m]) > 0`,
      for: "0m",
      severity: "warning",
      summary: "A clock service reset its HLC to a new epoch",
      description:
        '{{ $labels.pod }} began a new HLC epoch: clients holding older timestamps or consistency tokens are answered 409 "hlc reset" and re-read (GET /v1/time shows lastReset and its reason).',
    },
    {
      alert: "ClockDriftDetected",
      expr: `increase(${M.driftAlarms}[15m]) > 0`,
      for: "0m",
      severity: "warning",
      summary: "CUSUM detected a persistent change in a node's clock frequency",
      description: "{{ $labels.pod }} drifted {{ $labels.direction }}; a failing oscillator or a thermal problem is likely.",
    },
  ];
}
