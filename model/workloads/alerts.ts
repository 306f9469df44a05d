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
