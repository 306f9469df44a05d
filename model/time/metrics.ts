/**
 * Metric names the time fabric exports and its PrometheusRules alert on — one list, so the runtime that
 * writes a series and the rule that reads it cannot drift apart. chrony's own figures are served by the node
 * time agent (runtime/clock/agent.ts) under the names chrony_exporter (github.com/SuperQ/chrony_exporter) uses.
 */
export const TIME_METRICS = {
  /** Histogram: TrueTime ε at each now() (seconds). */
  epsilon: "meridian_truetime_epsilon_seconds",
  /** Histogram: time spent in commit-wait (seconds). */
  commitWait: "meridian_truetime_commit_wait_seconds",
  /** Gauge: grandmaster ensemble ε (seconds). */
  ensembleEpsilon: "meridian_time_ensemble_epsilon_seconds",
  /** Gauge: sources currently flagged as falsetickers. */
  falsetickers: "meridian_time_falsetickers",
  /** Gauge: 1 while no truechimer GPS disciplines the oscillators. */
  holdover: "meridian_time_holdover",
  /** Gauge: 1 while a majority of sources agree. */
  synchronized: "meridian_time_synchronized",
  /** Counter: NTP requests answered by the grandmaster. */
  ntpReplies: "meridian_time_ntp_replies_total",
  /** Gauge: skew monitor state (0 healthy, 1 degraded, 2 frozen, 3 recovering). */
  skewState: "meridian_clock_skew_state",
  /** Gauge: last measured offset from the reference (seconds). */
  offset: "meridian_clock_offset_seconds",
  /** Counter: drift alarms raised by the CUSUM detector. */
  driftAlarms: "meridian_clock_drift_alarms_total",
  /** Counter: remote HLC timestamps rejected beyond max offset. */
  hlcRejections: "meridian_hlc_untrustworthy_remote_total",
  /** Counter: physical clock readings that went backwards by more than max offset / 10. */
  backwardJumps: "meridian_hlc_backward_clock_jumps_total",
  /** Counter: forward jumps at or beyond the tolerated jump, while forward-jump checking is on. */
  forwardJumps: "meridian_hlc_forward_clock_jumps_total",
  /** Gauge: the HLC wall-time upper bound last persisted (Unix seconds). */
  upperBound: "meridian_hlc_upper_bound_seconds",
  /** Gauge: how long start-up waited before issuing HLC timestamps (seconds). */
  startupWait: "meridian_hlc_startup_wait_seconds",
  /** Gauge: the HLC epoch (0 until the first reset; runtime/clock/epoch.ts). */
  hlcEpoch: "meridian_hlc_epoch",
  /** Counter: timestamps and tokens refused at a clock domain gateway, by reason (out-of-bound, reset, unknown-epoch, invalid). */
  gatewayRefusals: "meridian_time_gateway_refusals_total",
  /** Counter: messages (NATS) whose HLC was refused and that were dropped unapplied, by transport and reason (reset, unknown-epoch, no-epoch, invalid, untrustworthy). */
  messageRefusals: "meridian_hlc_message_refusals_total",
  /** chrony's tracking (chrony_exporter's collector/tracking.go names), from the node time agent. */
  chronyLastOffset: "chrony_tracking_last_offset_seconds",
  chronyRmsOffset: "chrony_tracking_rms_offset_seconds",
  chronyReferenceTime: "chrony_tracking_reference_timestamp_seconds",
  chronyStratum: "chrony_tracking_stratum",
  /** Gauge: 1 while the agent's last read of chronyd succeeded. */
  chronyUp: "chrony_up",
} as const;

export const SKEW_STATE_VALUE = { healthy: 0, degraded: 1, frozen: 2, recovering: 3 } as const;
