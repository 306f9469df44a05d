/**
 * Alerts a runtime service brings with it, rendered into a PrometheusRule beside its PodMonitor. The rate
 * limiter's anomaly detection (runtime/ratelimit/service/anomalies.ts) counts anomalous intervals per rule;
 * one interval is noise at a six-sigma threshold only rarely, several within a few minutes is a change in
 * traffic someone should look at: a spike (abuse, a retry storm) or a drop (a client or region gone dark).
 * The thresholds come from the stack's `runtime.ratelimit.anomaly`, the same numbers the service uses.
 */
import type { AlertRule } from "../time/alerts.js";
import type { RuntimeConfig } from "../config/runtime.js";

export function rateLimitAlerts(anomaly: RuntimeConfig["ratelimit"]["anomaly"]): AlertRule[] {
  if (!anomaly.enabled) return [];
  const window = `${anomaly.alertWindowMinutes}m`;
  const rule = (direction: "spike" | "drop", alert: string, summary: string, description: string): AlertRule => ({
    alert,
    expr: `sum by (domain, key) (increase(ratelimit_rate_anomalies_total{direction="${direction}"}[${window}])) >= ${anomaly.alertIntervals}`,
    for: "0m",
    severity: "warning",
    summary,
    description,
  });
  return [
    rule(
      "spike",
      "MeridianRateLimitTrafficSpike",
      "Request rate of rate-limit rule {{ $labels.domain }}/{{ $labels.key }} spiked",
      `At least ${anomaly.alertIntervals} intervals in ${window} were more than ${anomaly.threshold} deviations above the rule's baseline: abuse, a retry storm or a new client. GET /v1/ratelimit/admin/anomalies shows the counts; POST /v1/ratelimit/admin/block stops a key.`,
    ),
    rule(
      "drop",
      "MeridianRateLimitTrafficDrop",
      "Request rate of rate-limit rule {{ $labels.domain }}/{{ $labels.key }} dropped",
      `At least ${anomaly.alertIntervals} intervals in ${window} were more than ${anomaly.threshold} deviations below the rule's baseline: a client, region or route may have gone dark.`,
    ),
  ];
}

/**
 * The attestation verifier's alerts, on the kit's request counter (runtime/kit/metrics.ts). A refused attestation
 * (403 on /v1/attest/verify) is a node whose evidence did not match what the operator endorsed — a changed boot
 * chain, a replayed quote, another key — or someone trying: one is worth a look. A 503 there means results cannot
 * be logged in the proof log, and the verifier then refuses to hand out any result: every node's (re-)attestation
 * fails until the log is back.
 */
export function attestAlerts(): AlertRule[] {
  const verify = (code: string, window: string) => `sum by (namespace) (increase(meridian_http_requests_total{service="attest", route="/v1/attest/verify", code="${code}"}[${window}])) > 0`;
  return [
    {
      alert: "MeridianAttestationRefused",
      expr: verify("403", "15m"),
      for: "0m",
      severity: "warning",
      summary: "The attestation verifier refused a node's evidence",
      description:
        "A quote or TEE report did not match the node's endorsed key or reference values, reused a nonce, or came from a revoked AK. The signed result (GET /v1/attest/results/:node) and its proof-log entry say which check failed; expect the node to get no SVID once SPIRE enforces admission.",
    },
    {
      alert: "MeridianAttestationLogUnavailable",
      expr: verify("503", "5m"),
      for: "5m",
      severity: "critical",
      summary: "The attestation verifier cannot log results in the proof log",
      description:
        "POST /v1/attest/verify answered 503 for 5 minutes: results cannot be appended to the proof log, so no node's attestation succeeds. Check the proof log's pods in the ledger region.",
    },
  ];
}
