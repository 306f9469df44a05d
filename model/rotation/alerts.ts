/**
 * Certificate and identity alerting (§14.2.2 operational metrics): expiry thresholds from the stack config,
 * renewal failures, ACME errors, SPIRE SVID rotation and CA preparation failures, and SLOs with
 * multi-window burn-rate alerts (Google SRE workbook: 14.4× over 1h/5m pages, 6× over 6h/30m warns).
 * Metric names: cert-manager's controller metrics, SPIRE telemetry call counters (`status` label), Envoy
 * listener TLS stats, and x509-certificate-exporter's `x509_cert_not_after` for the offline-signed intermediates
 * and the root (not cert-manager Certificates, so cert-manager exports nothing for them). Components render
 * these groups into PrometheusRules verbatim.
 */
import { NAMESPACES, type EstateSpec } from "../estate.js";
import { durationSeconds } from "../config/vocabulary.js";

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  severity: "warning" | "critical";
  summary: string;
}
export interface RecordingRule {
  record: string;
  expr: string;
}
export interface RuleGroup {
  name: string;
  rules: (AlertRule | RecordingRule)[];
}

export interface Slo {
  name: string;
  objective: number;
  windowDays: number;
  /** PromQL error ratio over a range, `[W]` replaced by each window. */
  errorRatio: string;
  description: string;
}

const DAY = 86400;

export function pkiSlos(spec: EstateSpec): Slo[] {
  const { slo } = spec.pki;
  return [
    {
      name: "certificate-ready",
      objective: slo.certificateReady,
      windowDays: slo.windowDays,
      errorRatio: `1 - avg(avg_over_time(certmanager_certificate_ready_status{condition="True"}[W]))`,
      description: "share of time every cert-manager Certificate is Ready (issued, valid, not failing renewal)",
    },
    {
      name: "mesh-handshake",
      objective: slo.handshakeSuccess,
      windowDays: slo.windowDays,
      errorRatio: `sum(rate(envoy_listener_ssl_connection_error[W])) / sum(rate(envoy_listener_downstream_cx_total[W]))`,
      description: "share of inbound mesh connections whose mTLS handshake succeeds",
    },
  ];
}

const BURN_WINDOWS = ["5m", "30m", "1h", "6h"] as const;
const recordName = (slo: Slo, w: string) => `meridian:${slo.name.replace(/-/g, "_")}:error_ratio_${w}`;

function sloGroup(slo: Slo): RuleGroup {
  const budget = 1 - slo.objective;
  const burn = (factor: number, long: string, short: string) =>
    `${recordName(slo, long)} > (${factor} * ${budget.toPrecision(3)}) and ${recordName(slo, short)} > (${factor} * ${budget.toPrecision(3)})`;
  return {
    name: `meridian-slo-${slo.name}`,
    rules: [
      ...BURN_WINDOWS.map((w) => ({ record: recordName(slo, w), expr: slo.errorRatio.replaceAll("[W]", `[${w}]`) })),
      { alert: `SLOBurnFast_${slo.name}`, expr: burn(14.4, "1h", "5m"), for: "2m", severity: "critical", summary: `${slo.name} burns its ${slo.windowDays}d error budget 14.4× too fast` },
      { alert: `SLOBurnSlow_${slo.name}`, expr: burn(6, "6h", "30m"), for: "15m", severity: "warning", summary: `${slo.name} burns its ${slo.windowDays}d error budget 6× too fast` },
    ],
  };
}

/** SPIRE rotates an SVID at half its TTL; paging after a quarter of the TTL of failures leaves a quarter to act. */
export function svidFailureFor(spec: EstateSpec): string {
  return `${Math.max(1, Math.round(durationSeconds(spec.pki.svidTtl) / 4 / 60))}m`;
}

/** The intermediates' Secrets as x509-certificate-exporter labels them (tls.crt: intermediate then root; ca.crt: root). */
export const INTERMEDIATE_SECRETS = `secret_namespace="${NAMESPACES.certManager}",secret_name=~"meridian-intermediate-.+"`;

/**
 * The private chain's cluster end: an intermediate must be re-signed offline before cert-manager and SPIRE
 * notice (it cannot renew itself), and the root must outlive any intermediate it could still sign.
 */
function privateCaGroup(spec: EstateSpec): RuleGroup {
  const { intermediateRenewBefore, intermediateDuration } = spec.pki.privateCa;
  const { criticalDays } = spec.pki.expiryAlerts;
  const left = (key: string) => `min by (secret_namespace, secret_name) (x509_cert_not_after{${INTERMEDIATE_SECRETS},secret_key="${key}"}) - time()`;
  return {
    name: "meridian-private-ca",
    rules: [
      { alert: "IntermediateCaExpiring", expr: `${left("tls.crt")} < ${durationSeconds(intermediateRenewBefore)}`, for: "1h", severity: "warning", summary: `intermediate {{ $labels.secret_name }} expires within ${intermediateRenewBefore}: sign its successor offline (meridian pki csr / meridian pki sign)` },
      { alert: "IntermediateCaExpiryCritical", expr: `${left("tls.crt")} < ${criticalDays * DAY}`, for: "5m", severity: "critical", summary: `intermediate {{ $labels.secret_name }} expires in under ${criticalDays} days: SPIRE stops minting SVIDs in that region when it does` },
      { alert: "RootCaOutlivedByIntermediates", expr: `${left("ca.crt")} < ${durationSeconds(intermediateDuration)}`, for: "1h", severity: "warning", summary: `the offline root in {{ $labels.secret_name }} expires within one intermediate lifetime (${intermediateDuration}): plan the root ceremony` },
      { alert: "IntermediateCaUnmonitored", expr: `absent(x509_cert_not_after{${INTERMEDIATE_SECRETS},secret_key="tls.crt"})`, for: "30m", severity: "warning", summary: "no expiry data for any regional intermediate: is x509-certificate-exporter running and scraped?" },
    ],
  };
}

export function pkiRuleGroups(spec: EstateSpec): RuleGroup[] {
  const { warningDays, criticalDays } = spec.pki.expiryAlerts;
  const remaining = "(certmanager_certificate_expiration_timestamp_seconds - time())";
  return [
    {
      name: "meridian-certificates",
      rules: [
        { alert: "CertificateExpiringSoon", expr: `${remaining} < ${warningDays * DAY}`, for: "1h", severity: "warning", summary: `certificate {{ $labels.namespace }}/{{ $labels.name }} expires in under ${warningDays} days` },
        { alert: "CertificateExpiryCritical", expr: `${remaining} < ${criticalDays * DAY}`, for: "5m", severity: "critical", summary: `certificate {{ $labels.namespace }}/{{ $labels.name }} expires in under ${criticalDays} days` },
        { alert: "CertificateNotReady", expr: `certmanager_certificate_ready_status{condition="False"} == 1`, for: "15m", severity: "critical", summary: "certificate {{ $labels.namespace }}/{{ $labels.name }} is not Ready (issuance or renewal failing)" },
        { alert: "CertificateRenewalOverdue", expr: `time() - certmanager_certificate_renewal_timestamp_seconds > 3600`, for: "15m", severity: "critical", summary: "certificate {{ $labels.namespace }}/{{ $labels.name }} passed its renewal time an hour ago and was not renewed" },
        { alert: "AcmeRequestErrors", expr: `sum by (cluster, host) (rate(certmanager_http_acme_client_request_count{status=~"4..|5.."}[15m])) > 0`, for: "30m", severity: "warning", summary: "ACME requests to {{ $labels.host }} are failing (rate limit, DNS-01 or account problem)" },
      ],
    },
    {
      name: "meridian-spiffe",
      rules: [
        { alert: "SpireAgentSvidRotationFailing", expr: `sum by (cluster) (increase(spire_agent_agent_svid_rotate{status!="OK"}[15m])) > 0`, for: svidFailureFor(spec), severity: "critical", summary: `SPIRE agents fail to rotate their SVIDs (SVID TTL ${spec.pki.svidTtl})` },
        { alert: "SpireServerCaPrepareFailing", expr: `sum by (cluster) (increase(spire_server_ca_manager_x509_ca_prepare{status!="OK"}[30m])) > 0`, for: svidFailureFor(spec), severity: "critical", summary: "SPIRE server cannot prepare its next X.509 CA from the cert-manager upstream authority" },
      ],
    },
    privateCaGroup(spec),
    ...pkiSlos(spec).map(sloGroup),
  ];
}

export function isAlert(rule: AlertRule | RecordingRule): rule is AlertRule {
  return "alert" in rule;
}
