/**
 * `promtool test rules` unit tests for every alert the estate renders, keyed by PrometheusRule name. Each case
 * feeds series shaped like the real exporter's (cert-manager's certificate collector and ACME client metrics,
 * SPIRE's call counters with their `status` label, Envoy listener stats, chrony_exporter, Meridian's own) and
 * says which alerts must fire at an evaluation time, with which labels and `$value`; the same case with
 * healthy input must fire nothing. Thresholds come from the stack config, as the rules' do.
 * Expected annotations are the rule's own templates expanded with those labels and value, so a wrong label
 * set, value or threshold fails in promtool, not here.
 */
import type { EstateSpec } from "../../../model/estate.js";
import { timeThresholds } from "../../../model/time/alerts.js";
import { TIME_METRICS } from "../../../model/time/metrics.js";
import { durationSeconds } from "../../../model/config/vocabulary.js";
import type { RuleTest } from "./promtool.js";
import { feeders } from "../../../model/cost/topology.js";
import { replicationInput } from "../../../model/cost/report.js";
import { multiPrimaryMesh } from "../../../model/mesh/multi-primary.js";
import { MONITOR_STALE_SECONDS } from "../../../model/workloads/alerts.js";

export interface AlertCase {
  alert: string;
  series: { series: string; values: string }[];
  /** The same series names with values that must not alert. */
  healthy: { series: string; values: string }[];
  evalTime: string;
  /** Each firing alert's labels from the expression (the rule's own labels are added) and its value. */
  fires: { labels: Record<string, string>; value?: number }[];
}

interface RenderedAlert {
  alert: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export interface RuleFile {
  groups: { name: string; rules: (RenderedAlert | { record: string })[] }[];
}

const DAY = 86400;
const durationDays = (d: string) => durationSeconds(d) / DAY;

/** Go's `%v` for a float64 (what `{{ $value }}` prints): shortest digits, exponent form below 1e-4 or from 1e6 (checked against Go). */
export function goFloat(x: number): string {
  if (x === 0) return "0";
  const e = Math.floor(Math.log10(Math.abs(x)));
  if (e < -4 || e >= 6) {
    const [m, exp] = x.toExponential().split("e") as [string, string];
    const n = Number(exp);
    return `${m}e${n < 0 ? "-" : "+"}${String(Math.abs(n)).padStart(2, "0")}`;
  }
  return String(x);
}

function expand(template: string, labels: Record<string, string>, value: number | undefined): string {
  return template.replace(/\{\{\s*\$(labels\.(\w+)|value)\s*\}\}/g, (_, what: string, label?: string) =>
    label !== undefined ? (labels[label] ?? "") : value === undefined ? "<no value given>" : goFloat(value),
  );
}

/** The promtool test groups for one rule file: each case firing, then the same case healthy. */
export function ruleTests(file: RuleFile, cases: AlertCase[]): RuleTest[] {
  const alerts = new Map(
    file.groups
      .flatMap((g) => g.rules)
      .filter((r): r is RenderedAlert => "alert" in r)
      .map((r) => [r.alert, r]),
  );
  return cases.flatMap((c) => {
    const rule = alerts.get(c.alert);
    if (!rule) throw new Error(`no alert ${c.alert} in the rule file`);
    const exp_alerts = c.fires.map((f) => ({
      exp_labels: { ...rule.labels, ...f.labels },
      exp_annotations: Object.fromEntries(Object.entries(rule.annotations ?? {}).map(([k, t]) => [k, expand(t, f.labels, f.value)])),
    }));
    return [
      { name: `${c.alert} fires`, interval: "1m", input_series: c.series, alert_rule_test: [{ eval_time: c.evalTime, alertname: c.alert, exp_alerts }] },
      { name: `${c.alert} quiet when healthy`, interval: "1m", input_series: c.healthy, alert_rule_test: [{ eval_time: c.evalTime, alertname: c.alert, exp_alerts: [] }] },
    ];
  });
}

const CERT = { name: "meridian-gateway-tls", namespace: "meridian-gateway", issuer_name: "letsencrypt-production", issuer_kind: "ClusterIssuer", issuer_group: "cert-manager.io" };
const sel = (labels: Record<string, string>) =>
  `{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(",")}}`;
const certSeries = (metric: string, values: string, extra: Record<string, string> = {}) => ({ series: `${metric}${sel({ ...CERT, ...extra })}`, values });

export function pkiAlertCases(spec: EstateSpec): AlertCase[] {
  const { warningDays, criticalDays } = spec.pki.expiryAlerts;
  const expiry = "certmanager_certificate_expiration_timestamp_seconds";
  // promtool starts at the Unix epoch, so an expiration timestamp of N days is N days from "now".
  const soon = (warningDays + criticalDays) / 2;
  const envoy = (errorsPerMinute: number) => [
    { series: 'envoy_listener_downstream_cx_total{envoy_listener_address="0.0.0.0_15006"}', values: "0+100x420" },
    { series: 'envoy_listener_ssl_connection_error{envoy_listener_address="0.0.0.0_15006"}', values: `0+${errorsPerMinute}x420` },
  ];
  const ready = (v: number) => [certSeries("certmanager_certificate_ready_status", `${v}x420`, { condition: "True" })];
  // x509-certificate-exporter: one series per certificate in the Secret (tls.crt holds intermediate then root).
  const secret = { secret_namespace: "cert-manager", secret_name: "meridian-intermediate-aws-use1" };
  const x509 = (key: string, notAfterDays: number[]) =>
    notAfterDays.map((days, i) => ({ series: `x509_cert_not_after${sel({ ...secret, secret_key: key, subject_CN: i === 0 ? "intermediate" : "root" })}`, values: `${days * DAY}x120` }));
  const renewDays = durationDays(spec.pki.privateCa.intermediateRenewBefore);
  const lifetimeDays = durationDays(spec.pki.privateCa.intermediateDuration);
  return [
    { alert: "CertificateExpiringSoon", series: [certSeries(expiry, `${soon * DAY}x180`)], healthy: [certSeries(expiry, `${(warningDays + 1) * DAY}x180`)], evalTime: "2h", fires: [{ labels: CERT }] },
    {
      alert: "CertificateExpiryCritical",
      series: [certSeries(expiry, `${(criticalDays - 1) * DAY}x120`)],
      healthy: [certSeries(expiry, `${soon * DAY}x120`)],
      evalTime: "1h",
      fires: [{ labels: CERT }],
    },
    {
      alert: "CertificateNotReady",
      series: [certSeries("certmanager_certificate_ready_status", "1x40", { condition: "False" })],
      healthy: [certSeries("certmanager_certificate_ready_status", "0x40", { condition: "False" })],
      evalTime: "20m",
      fires: [{ labels: { ...CERT, condition: "False" } }],
    },
    {
      alert: "CertificateRenewalOverdue",
      series: [certSeries("certmanager_certificate_renewal_timestamp_seconds", "0x120")],
      healthy: [certSeries("certmanager_certificate_renewal_timestamp_seconds", `${30 * DAY}x120`)],
      evalTime: "90m",
      fires: [{ labels: CERT }],
    },
    {
      alert: "AcmeRequestErrors",
      series: [{ series: 'certmanager_http_acme_client_request_count{scheme="https",host="acme-v02.api.letsencrypt.org",action="new_order",method="POST",status="429"}', values: "0+1x60" }],
      healthy: [{ series: 'certmanager_http_acme_client_request_count{scheme="https",host="acme-v02.api.letsencrypt.org",action="new_order",method="POST",status="201"}', values: "0+1x60" }],
      evalTime: "45m",
      fires: [{ labels: { host: "acme-v02.api.letsencrypt.org" } }],
    },
    {
      alert: "SpireAgentSvidRotationFailing",
      series: [{ series: 'spire_agent_agent_svid_rotate{status="Unavailable"}', values: "0+1x120" }],
      healthy: [{ series: 'spire_agent_agent_svid_rotate{status="OK"}', values: "0+1x120" }],
      evalTime: "90m",
      fires: [{ labels: {} }],
    },
    {
      alert: "SpireServerCaPrepareFailing",
      series: [{ series: 'spire_server_ca_manager_x509_ca_prepare{status="Internal"}', values: "0+1x120" }],
      healthy: [{ series: 'spire_server_ca_manager_x509_ca_prepare{status="OK"}', values: "0+1x120" }],
      evalTime: "90m",
      fires: [{ labels: {} }],
    },
    ...meshAlertCases(spec),
    // The chain's earliest notAfter counts: an intermediate inside its renewal window, a root far off.
    { alert: "IntermediateCaExpiring", series: x509("tls.crt", [renewDays - 1, 3650]), healthy: x509("tls.crt", [renewDays + 1, 3650]), evalTime: "2h", fires: [{ labels: secret }] },
    { alert: "IntermediateCaExpiryCritical", series: x509("tls.crt", [criticalDays - 1, 3650]), healthy: x509("tls.crt", [criticalDays + 1, 3650]), evalTime: "1h", fires: [{ labels: secret }] },
    { alert: "RootCaOutlivedByIntermediates", series: x509("ca.crt", [lifetimeDays - 1]), healthy: x509("ca.crt", [lifetimeDays * 2]), evalTime: "2h", fires: [{ labels: secret }] },
    {
      alert: "IntermediateCaUnmonitored",
      series: [{ series: 'x509_cert_not_after{secret_namespace="monitoring",secret_name="other",secret_key="tls.crt"}', values: "1x60" }],
      healthy: x509("tls.crt", [renewDays + 1]),
      evalTime: "45m",
      // absent() keeps the equality matchers' labels.
      fires: [{ labels: { secret_namespace: "cert-manager", secret_key: "tls.crt" } }],
    },
    // One in ten handshakes failing burns any plausible budget fast and slow; none failing burns nothing.
    { alert: "SLOBurnFast_mesh-handshake", series: envoy(10), healthy: envoy(0), evalTime: "1h", fires: [{ labels: {} }] },
    { alert: "SLOBurnSlow_mesh-handshake", series: envoy(10), healthy: envoy(0), evalTime: "1h", fires: [{ labels: {} }] },
    { alert: "SLOBurnFast_certificate-ready", series: ready(0), healthy: ready(1), evalTime: "1h", fires: [{ labels: {} }] },
    { alert: "SLOBurnSlow_certificate-ready", series: ready(0), healthy: ready(1), evalTime: "1h", fires: [{ labels: {} }] },
  ];
}

/** SPIRE CA and SVID expiry, istiod's pushes and CSRs, and mesh scrape targets (series named as SPIRE's and istiod's telemetry exports them). */
export function meshAlertCases(spec: EstateSpec): AlertCase[] {
  const ttl = durationSeconds(spec.pki.svidTtl);
  const td = { trust_domain_id: `spiffe://${spec.pki.trustDomain}` };
  // promtool's clock starts at 0, so a constant expiration V leaves V - t seconds at time t.
  const caExpiry = (v: number) => [{ series: `spire_server_manager_x509_ca_rotate_expiration${sel(td)}`, values: `${v}x60` }];
  const agent = { pod: "spire-agent-x2x4q" };
  const expiring = (values: string) => [{ series: `spire_agent_cache_manager_expiring_svids${sel({ ...agent, quantile: "0.5" })}`, values }];
  const counter = (metric: string, labels: Record<string, string>, perMinute: number) => [{ series: `${metric}${sel(labels)}`, values: `0+${perMinute}x60` }];
  const rejected = { type: "type.googleapis.com/envoy.config.listener.v3.Listener" };
  const target = { job: "spire-system/spire-server", instance: "10.0.2.4:9988" };
  const eastWest = { job: "istio-system/eastwest-gateway-envoy", instance: "10.0.3.9:15090" };
  return [
    // At 20m: 2 × TTL - 1200 s left fires; 4 × TTL - 1200 s left does not.
    { alert: "SpireServerCaExpiring", series: caExpiry(2 * ttl), healthy: caExpiry(4 * ttl), evalTime: "20m", fires: [{ labels: td }] },
    // Renewals show as a moment of one expiring SVID every five minutes (quiet); stuck ones stay (fires).
    {
      alert: "WorkloadSvidsNotRenewing",
      series: expiring("3x60"),
      healthy: expiring(Array.from({ length: 60 }, (_, i) => (i % 5 === 0 ? 1 : 0)).join(" ")),
      evalTime: "40m",
      fires: [{ labels: agent }],
    },
    {
      alert: "IstiodXdsPushErrors",
      series: counter("pilot_xds_pushes", { type: "cds_senderr" }, 1),
      healthy: counter("pilot_xds_pushes", { type: "cds" }, 1),
      evalTime: "45m",
      fires: [{ labels: { type: "cds_senderr" } }],
    },
    { alert: "IstiodXdsRejected", series: counter("pilot_total_xds_rejects", rejected, 1), healthy: counter("pilot_total_xds_rejects", rejected, 0), evalTime: "45m", fires: [{ labels: rejected }] },
    {
      alert: "IstiodCsrSignErrors",
      series: counter("citadel_server_csr_sign_error_count", {}, 1),
      healthy: counter("citadel_server_csr_sign_error_count", {}, 0),
      evalTime: "30m",
      fires: [{ labels: {} }],
    },
    { alert: "MeshMetricsDown", series: [{ series: `up${sel(target)}`, values: "0x30" }], healthy: [{ series: `up${sel(target)}`, values: "1x30" }], evalTime: "15m", fires: [{ labels: target }] },
    // A multi-cluster stack's east-west gateway is a target too (its PodMonitor's job).
    ...(multiPrimaryMesh(spec)
      ? [
          {
            alert: "MeshMetricsDown",
            series: [{ series: `up${sel(eastWest)}`, values: "0x30" }],
            healthy: [{ series: `up${sel(eastWest)}`, values: "1x30" }],
            evalTime: "15m",
            fires: [{ labels: eastWest }],
          },
        ]
      : []),
  ];
}

export function timeAlertCases(spec: EstateSpec): AlertCase[] {
  const t = timeThresholds(spec.time);
  const node = { instance: "10.0.1.7:10125" };
  const offset = (v: number, n = 10) => [{ series: `chrony_tracking_last_offset_seconds${sel(node)}`, values: `${v}x${n}` }];
  const between = (t.degradeSeconds + t.freezeSeconds) / 2;
  const pod = { namespace: "meridian", pod: "escrow-7d9c5-x2x4q" };
  // ε histogram. Alerting: nine in ten observations above 10× the threshold, so p99 lies in the +Inf bucket and
  // histogram_quantile answers the highest finite bound exactly. Healthy: everything below half the threshold.
  const bound = t.epsilonP99Seconds * 10;
  const epsilon = (le: number, belowPerMinute: number) => [
    { series: `meridian_truetime_epsilon_seconds_bucket{le="${le}"}`, values: `0+${belowPerMinute}x30` },
    { series: 'meridian_truetime_epsilon_seconds_bucket{le="+Inf"}', values: "0+10x30" },
  ];
  const gauge = (metric: string, v: number) => [{ series: `${metric}{pod="grandmaster-0"}`, values: `${v}x30` }];
  return [
    // A negative offset past the degrade threshold: the rule compares |offset|.
    { alert: "ClockOffsetHigh", series: offset(-between), healthy: offset(t.degradeSeconds / 2), evalTime: "5m", fires: [{ labels: node, value: between }] },
    { alert: "ClockOffsetCritical", series: offset(2 * t.freezeSeconds), healthy: offset(between), evalTime: "1m", fires: [{ labels: node, value: 2 * t.freezeSeconds }] },
    {
      alert: "ClockNotSynchronising",
      series: [{ series: `chrony_tracking_reference_timestamp_seconds${sel(node)}`, values: "0x30" }],
      healthy: [{ series: `chrony_tracking_reference_timestamp_seconds${sel(node)}`, values: "0+60x30" }],
      evalTime: "20m",
      fires: [{ labels: node, value: 1200 }],
    },
    {
      alert: "StrongPathFrozen",
      series: [{ series: `meridian_clock_skew_state${sel(pod)}`, values: "2x10" }],
      healthy: [{ series: `meridian_clock_skew_state${sel(pod)}`, values: "1x10" }],
      evalTime: "2m",
      fires: [{ labels: pod }],
    },
    { alert: "TrueTimeEpsilonHigh", series: epsilon(bound, 1), healthy: epsilon(t.epsilonP99Seconds / 2, 10), evalTime: "20m", fires: [{ labels: {}, value: bound }] },
    { alert: "TimeSourceFalseticker", series: gauge("meridian_time_falsetickers", 1), healthy: gauge("meridian_time_falsetickers", 0), evalTime: "5m", fires: [{ labels: {}, value: 1 }] },
    { alert: "GrandmasterHoldover", series: gauge("meridian_time_holdover", 1), healthy: gauge("meridian_time_holdover", 0), evalTime: "10m", fires: [{ labels: {} }] },
    { alert: "GrandmasterUnsynchronised", series: gauge("meridian_time_synchronized", 0), healthy: gauge("meridian_time_synchronized", 1), evalTime: "5m", fires: [{ labels: {} }] },
    {
      alert: "GrandmasterOffsetBoundHigh",
      series: gauge(TIME_METRICS.ensembleEpsilon, 2 * t.degradeSeconds),
      healthy: gauge(TIME_METRICS.ensembleEpsilon, t.degradeSeconds / 2),
      evalTime: "10m",
      fires: [{ labels: { pod: "grandmaster-0" }, value: 2 * t.degradeSeconds }],
    },
    {
      alert: "HlcEpochChanged",
      series: [{ series: `meridian_hlc_epoch${sel(pod)}`, values: "0 0 0 1 1 1 1 1 1 1" }],
      healthy: [{ series: `meridian_hlc_epoch${sel(pod)}`, values: "1x10" }],
      evalTime: "5m",
      fires: [{ labels: pod }],
    },
    {
      alert: "ClockDriftDetected",
      series: [{ series: `meridian_clock_drift_alarms_total${sel({ ...pod, direction: "fast" })}`, values: "0 0 0 1 1 1 1 1 1 1" }],
      healthy: [{ series: `meridian_clock_drift_alarms_total${sel({ ...pod, direction: "fast" })}`, values: "1x10" }],
      evalTime: "5m",
      fires: [{ labels: { ...pod, direction: "fast" } }],
    },
  ];
}

/** The writers whose copies a region holds besides its own partition, from the model's replication topology. */
export function copyWriters(spec: EstateSpec, regionId: string): string[] {
  const fed = feeders(replicationInput(spec), spec.replication.topology);
  return [...fed]
    .filter(([w, holders]) => w !== regionId && holders.has(regionId))
    .map(([w]) => w)
    .sort();
}

/** One region's lag rules (its `region` label says which): every copy it holds lagging, then one copy gone silent. */
function replicationAlertCases(spec: EstateSpec, file: RuleFile): AlertCase[] {
  const region = file.groups
    .flatMap((g) => g.rules)
    .map((r) => ("alert" in r ? r.labels?.["region"] : undefined))
    .find((r) => r !== undefined)!;
  const held = copyWriters(spec, region);
  const writers = held.length > 0 ? held : [spec.replication.writers[0]!];
  const bound = spec.replication.maxLagSeconds;
  const lag = (w: string, seconds: number) => ({ series: `meridian_replication_lag_seconds{writer="${w}"}`, values: `${seconds}x15` });
  const cases: AlertCase[] = [
    {
      alert: "ReplicationLagHigh",
      series: writers.map((w) => lag(w, 2 * bound)),
      healthy: writers.map((w) => lag(w, bound / 2)),
      evalTime: "10m",
      fires: writers.map((writer) => ({ labels: { writer }, value: 2 * bound })),
    },
  ];
  if (held.length > 0) {
    cases.push({ alert: "ReplicationLagAbsent", series: held.slice(1).map((w) => lag(w, 1)), healthy: held.map((w) => lag(w, 1)), evalTime: "10m", fires: [{ labels: { writer: held[0]! } }] });
  }
  return cases;
}

/** The rate limiter's anomaly alerts: a rule anomalous once a minute pages; once in the window does not. */
function rateLimitAlertCases(spec: EstateSpec): AlertCase[] {
  const a = spec.runtime.ratelimit.anomaly;
  const rule = { domain: spec.runtime.ratelimit.domain, key: `${spec.runtime.ratelimit.domain}.generic_key_${spec.runtime.ratelimit.domain}` };
  const anomalies = (direction: string, values: string) => [{ series: `ratelimit_rate_anomalies_total${sel({ ...rule, direction, pod: "ratelimit-6f7c-abcde" })}`, values }];
  const everyMinute = `0+1x${2 * a.alertWindowMinutes}`;
  const once = `0x${a.alertWindowMinutes} 1x${a.alertWindowMinutes}`;
  const evalTime = `${2 * a.alertWindowMinutes}m`;
  return [
    { alert: "MeridianRateLimitTrafficSpike", series: anomalies("spike", everyMinute), healthy: anomalies("spike", once), evalTime, fires: [{ labels: rule }] },
    { alert: "MeridianRateLimitTrafficDrop", series: anomalies("drop", everyMinute), healthy: anomalies("drop", once), evalTime, fires: [{ labels: rule }] },
  ];
}

/** The attestation verifier: refusals alert at once; a log outage only once verify has answered 503 for 5 minutes. */
function attestAlertCases(): AlertCase[] {
  const labels = { namespace: "meridian" };
  const verify = (code: string, values: string) => [
    { series: `meridian_http_requests_total${sel({ service: "attest", route: "/v1/attest/verify", method: "POST", code, namespace: "meridian", pod: "attest-6f7c-abcde" })}`, values },
  ];
  return [
    // One refusal at minute 5; the 200s around it are healthy traffic.
    { alert: "MeridianAttestationRefused", series: verify("403", "0x4 1x10"), healthy: verify("403", "0x15"), evalTime: "10m", fires: [{ labels }] },
    // 503s for 10 minutes fire; a single one that stops does not.
    { alert: "MeridianAttestationLogUnavailable", series: verify("503", "0+1x20"), healthy: verify("503", "0x2 1x18"), evalTime: "15m", fires: [{ labels }] },
  ];
}

/**
 * The proof log monitor: evidence held pages at once (and a monitor holding none stays quiet); a verified checkpoint
 * whose age climbs past the threshold pages after 5 minutes, one a log republishing every minute keeps young does not.
 */
function monitorAlertCases(): AlertCase[] {
  const labels = { namespace: "meridian", pod: "monitor-7d9f-abcde" };
  const series = (metric: string, values: string) => [{ series: `${metric}${sel({ service: "monitor", ...labels })}`, values }];
  const stale = MONITOR_STALE_SECONDS;
  return [
    {
      alert: "MeridianProofLogEquivocation",
      series: series("meridian_monitor_equivocations_total", "0x4 1x10"),
      healthy: series("meridian_monitor_equivocations_total", "0x15"),
      evalTime: "10m",
      fires: [{ labels }],
    },
    // Age grows a minute per minute from 0: past the threshold at minute stale/60, firing 5 minutes later.
    {
      alert: "MeridianProofLogCheckpointStale",
      series: series("meridian_monitor_checkpoint_age_seconds", `0+60x${stale / 60 + 15}`),
      // A log re-signing every minute: the age saws between 0 and 60.
      healthy: series("meridian_monitor_checkpoint_age_seconds", Array.from({ length: stale / 60 + 15 }, (_, i) => (i % 2) * 60).join(" ")),
      evalTime: `${stale / 60 + 10}m`,
      fires: [{ labels, value: stale + 600 }],
    },
  ];
}

/** A deployed witness that saw the log equivocate pages at once; one that saw none stays quiet. */
function witnessAlertCases(): AlertCase[] {
  const labels = { namespace: "meridian", pod: "witness-0" };
  const series = (values: string) => [{ series: `meridian_witness_misbehaviour_total${sel({ service: "witness", ...labels })}`, values }];
  return [{ alert: "MeridianWitnessSawEquivocation", series: series("0x4 1x10"), healthy: series("0x15"), evalTime: "10m", fires: [{ labels }] }];
}

/** A certchain (issuer or follower) holding evidence of a forked chain pages at once; one holding none stays quiet. */
function certchainAlertCases(): AlertCase[] {
  const labels = { namespace: "meridian", pod: "certchain-0" };
  const series = (values: string) => [{ series: `meridian_certchain_equivocations${sel({ service: "certchain", ...labels })}`, values }];
  return [{ alert: "MeridianCertChainEquivocation", series: series("0x4 1x10"), healthy: series("0x15"), evalTime: "10m", fires: [{ labels }] }];
}

/** Alert cases per PrometheusRule `metadata.name`; a rule rendered by the estate and missing here fails the test. */
export const ALERT_CASES: Record<string, (spec: EstateSpec, file: RuleFile) => AlertCase[]> = {
  "meridian-pki": pkiAlertCases,
  "clock-health": timeAlertCases,
  "replication-lag": replicationAlertCases,
  ratelimit: rateLimitAlertCases,
  attest: attestAlertCases,
  monitor: monitorAlertCases,
  witness: witnessAlertCases,
  certchain: certchainAlertCases,
};
