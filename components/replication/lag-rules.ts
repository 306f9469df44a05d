/**
 * The replication lag alerts for one region's Prometheus (prometheus-operator PrometheusRule spec): lag of
 * any copy held here above the monitor's own bound for five minutes, and a copy whose lag is not reported
 * at all — the monitor drops a copy's series when the copy holds no heartbeat or cannot be read, so no
 * data is an outage of its own, not a quiet one. Pure, so promtool checks the same rules the component creates.
 */
const LAG_FOR = "5m";

export function replicationLagRules(region: string, copyWriters: readonly string[], maxLagSeconds: number) {
  const labels = { severity: "page", region };
  return {
    groups: [
      {
        name: "meridian-replication",
        rules: [
          {
            alert: "ReplicationLagHigh",
            expr: `max by (writer) (meridian_replication_lag_seconds) > ${maxLagSeconds}`,
            for: LAG_FOR,
            labels,
            annotations: {
              summary: `Copy of {{ $labels.writer }} in ${region} is stale`,
              description: `The copy of {{ $labels.writer }}'s data in ${region} is {{ $value }} s behind its writer (bound ${maxLagSeconds} s); /healthz/replication answers 503 and DNS steers readers away.`,
            },
          },
          // absent() takes its labels from the selector's equality matchers: one alert per silent copy, named by writer.
          ...(copyWriters.length === 0
            ? []
            : [
                {
                  alert: "ReplicationLagAbsent",
                  expr: copyWriters.map((w) => `absent(meridian_replication_lag_seconds{writer="${w}"})`).join(" or "),
                  for: LAG_FOR,
                  labels,
                  annotations: {
                    summary: `No replication lag reported for {{ $labels.writer }}'s copy in ${region}`,
                    description: `The replication monitor in ${region} reports no lag for {{ $labels.writer }}: the copy holds no heartbeat, cannot be read, or the monitor is not scraped.`,
                  },
                },
              ]),
        ],
      },
    ],
  };
}
