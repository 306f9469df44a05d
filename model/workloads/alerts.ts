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

/** A verified checkpoint older than this pages: ten monitor rounds, and ten times the log's default republish interval. */
export const MONITOR_STALE_SECONDS = 600;

/**
 * The proof log monitors' alerts (runtime/prooflog/monitor/service.ts's gauges and counter). Equivocation evidence —
 * two checkpoints for one size with different roots, both signed by the log's key — is proof the log (or whoever holds
 * its key) showed two histories: page at once. A stale checkpoint means the log stopped signing, or this monitor
 * cannot reach it, or what it serves fails verification (a wrong key, a missing threshold signature, entries that do
 * not hash to the signed root): GET /v1/status on the monitor names the error.
 */
export function monitorAlerts(): AlertRule[] {
  return [
    {
      alert: "MeridianProofLogEquivocation",
      expr: `max by (namespace, pod) (meridian_monitor_equivocations_total{service="monitor"}) > 0`,
      for: "0m",
      severity: "critical",
      summary: "A proof log monitor holds equivocation evidence against the log",
      description:
        "Two checkpoints for one size with different roots, both signed by the log's key: the log showed two histories. GET /v1/evidence on {{ $labels.pod }} returns both notes; treat the log's key as compromised or its store as forked.",
    },
    {
      alert: "MeridianProofLogCheckpointStale",
      expr: `max by (namespace, pod) (meridian_monitor_checkpoint_age_seconds{service="monitor"}) > ${MONITOR_STALE_SECONDS}`,
      for: "5m",
      severity: "warning",
      summary: "The proof log monitor's verified checkpoint is stale",
      description: `{{ $labels.pod }} has verified no checkpoint signed in the last ${MONITOR_STALE_SECONDS} s ({{ $value }} s): the log stopped signing, is unreachable, or serves checkpoints that fail verification. GET /v1/status on the monitor names the last error.`,
    },
  ];
}

/**
 * The deployed witnesses' alert (runtime/prooflog/witness/service.ts's counter): a witness that was shown two checkpoints
 * for one size with different roots, both signed by the log's key, holds proof the log showed two histories (it
 * refused the second and logged both notes). Page at once, as the monitors' evidence does.
 */
export function witnessAlerts(): AlertRule[] {
  return [
    {
      alert: "MeridianWitnessSawEquivocation",
      expr: `max by (namespace, pod) (meridian_witness_misbehaviour_total{service="witness"}) > 0`,
      for: "0m",
      severity: "critical",
      summary: "A proof log witness was shown two histories by the log",
      description:
        "{{ $labels.pod }} refused a checkpoint whose root conflicts with one it saw for the same size, both signed by the log's key: the log (or whoever holds its key) equivocated. The witness's log line EQUIVOCATION holds both notes; treat the log's key as compromised or its store as forked.",
    },
  ];
}

/**
 * The certificate chain's alert (runtime/certchain/service.ts's gauge, on the issuer and every follower): two
 * certificates at one height both signed by the witnesses' group (or one member) are proof that at least 2t − n
 * witnesses signed two bodies at one height — the chain forked. Page at once, as the witnesses' evidence does.
 */
export function certchainAlerts(): AlertRule[] {
  return [
    {
      alert: "MeridianCertChainEquivocation",
      expr: `max by (namespace, pod) (meridian_certchain_equivocations{service="certchain"}) > 0`,
      for: "0m",
      severity: "critical",
      summary: "The certificate chain holds equivocation evidence against the witnesses' group",
      description:
        "{{ $labels.pod }} holds two certificates at one height signed by the same committee: enough witnesses signed two bodies at one height to fork the chain. GET /v1/evidence on it returns both; treat those witnesses' shares as compromised and rotate the group (docs/proofs.md, Certificate chains and finality).",
    },
  ];
}
