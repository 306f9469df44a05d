/**
 * Certificate and identity alerting (§14.2.2 operational metrics): expiry thresholds from the stack config,
 * renewal failures, ACME errors, SPIRE SVID rotation, CA preparation and expiry, istiod push/CSR errors, and SLOs with
 * multi-window burn-rate alerts (Google SRE workbook: 14.4× over 1h/5m pages, 6× over 6h/30m warns).
 * Metric names: cert-manager's controller metrics, SPIRE telemetry (call counters carry a `status` label), istiod's, Envoy
 * listener TLS stats, and x509-certificate-exporter's `x509_cert_not_after` for the offline-signed intermediates
 * and the root (not cert-manager Certificates, so cert-manager exports nothing for them). Components render
 * these groups into PrometheusRules verbatim.
 */
import { NAMESPACES, type EstateSpec } from "../estate.js";
import { durationSeconds } from "../config/vocabulary.js";
import { meshScrapeTargets, scrapeJob } from "../security/scrape-targets.js";
import { multiPrimaryMesh } from "../mesh/multi-primary.js";

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

/**
 * SVIDs running out. SPIRE sets `manager.x509_ca.rotate.expiration` (Unix seconds) to the notAfter of the X.509 CA it
 * activates and caps every SVID it signs at that notAfter, so a CA with less than two SVID lifetimes left means
 * rotation stalled and SVIDs are about to shorten, then stop. An agent's `cache_manager.expiring_svids` sample
 * counts cached workload SVIDs past their renewal point (half their TTL); it is non-zero only for the moment a
 * renewal takes, so a median above zero for ten minutes straight means they are not being renewed.
 */
function svidExpiryRules(spec: EstateSpec): AlertRule[] {
  const ttl = durationSeconds(spec.pki.svidTtl);
  return [
    {
      alert: "SpireServerCaExpiring",
      expr: `min by (cluster, trust_domain_id) (spire_server_manager_x509_ca_rotate_expiration) - time() < ${2 * ttl}`,
      for: "5m",
      severity: "critical",
      summary: `SPIRE's active X.509 CA for {{ $labels.trust_domain_id }} expires within two SVID lifetimes (2 × ${spec.pki.svidTtl}): CA rotation stalled, SVIDs shorten and then stop`,
    },
    {
      alert: "WorkloadSvidsNotRenewing",
      expr: `min by (cluster, pod) (min_over_time(spire_agent_cache_manager_expiring_svids{quantile="0.5"}[10m])) > 0`,
      for: svidFailureFor(spec),
      severity: "critical",
      summary: `SPIRE agent {{ $labels.pod }} holds workload SVIDs past their renewal point: they expire within ${spec.pki.svidTtl} of issue and sidecars then fail mTLS`,
    },
  ];
}

/**
 * istiod's health as the proxies see it: configuration pushes that fail to send or that proxies reject (NACK, e.g.
 * a policy Envoy cannot load, so the old one keeps applying), CSRs its CA fails to sign (workloads take SVIDs from
 * SPIRE; one reaching istiod is a proxy without the SPIFFE CSI socket), and any mesh scrape target going dark,
 * which silences the rules above.
 */
function meshControlPlaneGroup(spec: EstateSpec): RuleGroup {
  const jobs = meshScrapeTargets(multiPrimaryMesh(spec) !== undefined)
    .map(scrapeJob)
    .join("|");
  return {
    name: "meridian-mesh-control-plane",
    rules: [
      {
        alert: "IstiodXdsPushErrors",
        expr: `sum by (cluster, type) (increase(pilot_xds_pushes{type=~".+_senderr"}[15m])) > 0`,
        for: "15m",
        severity: "warning",
        summary: "istiod fails to send {{ $labels.type }} pushes: proxies run on stale configuration",
      },
      {
        alert: "IstiodXdsRejected",
        expr: `sum by (cluster, type) (increase(pilot_total_xds_rejects[15m])) > 0`,
        for: "15m",
        severity: "warning",
        summary: "proxies reject istiod's {{ $labels.type }} configuration: the last accepted policy keeps applying",
      },
      {
        alert: "IstiodCsrSignErrors",
        expr: `sum by (cluster) (increase(citadel_server_csr_sign_error_count[15m])) > 0`,
        for: "5m",
        severity: "warning",
        summary: "istiod's CA fails to sign CSRs: a proxy is asking istiod instead of SPIRE for its certificate",
      },
      {
        alert: "MeshMetricsDown",
        expr: `up{job=~"${jobs}"} == 0`,
        for: "10m",
        severity: "warning",
        summary: "Prometheus cannot scrape {{ $labels.job }}: the SPIFFE and mesh alerts have no data from it",
      },
    ],
  };
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
      {
        alert: "IntermediateCaExpiring",
        expr: `${left("tls.crt")} < ${durationSeconds(intermediateRenewBefore)}`,
        for: "1h",
        severity: "warning",
        summary: `intermediate {{ $labels.secret_name }} expires within ${intermediateRenewBefore}: sign its successor offline (meridian pki csr / meridian pki sign)`,
      },
      {
        alert: "IntermediateCaExpiryCritical",
        expr: `${left("tls.crt")} < ${criticalDays * DAY}`,
        for: "5m",
        severity: "critical",
        summary: `intermediate {{ $labels.secret_name }} expires in under ${criticalDays} days: SPIRE stops minting SVIDs in that region when it does`,
      },
      {
        alert: "RootCaOutlivedByIntermediates",
        expr: `${left("ca.crt")} < ${durationSeconds(intermediateDuration)}`,
        for: "1h",
        severity: "warning",
        summary: `the offline root in {{ $labels.secret_name }} expires within one intermediate lifetime (${intermediateDuration}): plan the root ceremony`,
      },
      {
        alert: "IntermediateCaUnmonitored",
        expr: `absent(x509_cert_not_after{${INTERMEDIATE_SECRETS},secret_key="tls.crt"})`,
        for: "30m",
        severity: "warning",
        summary: "no expiry data for any regional intermediate: is x509-certificate-exporter running and scraped?",
      },
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
        {
          alert: "CertificateExpiringSoon",
          expr: `${remaining} < ${warningDays * DAY}`,
          for: "1h",
          severity: "warning",
          summary: `certificate {{ $labels.namespace }}/{{ $labels.name }} expires in under ${warningDays} days`,
        },
        {
          alert: "CertificateExpiryCritical",
          expr: `${remaining} < ${criticalDays * DAY}`,
          for: "5m",
          severity: "critical",
          summary: `certificate {{ $labels.namespace }}/{{ $labels.name }} expires in under ${criticalDays} days`,
        },
        {
          alert: "CertificateNotReady",
          expr: `certmanager_certificate_ready_status{condition="False"} == 1`,
          for: "15m",
          severity: "critical",
          summary: "certificate {{ $labels.namespace }}/{{ $labels.name }} is not Ready (issuance or renewal failing)",
        },
        {
          alert: "CertificateRenewalOverdue",
          expr: `time() - certmanager_certificate_renewal_timestamp_seconds > 3600`,
          for: "15m",
          severity: "critical",
          summary: "certificate {{ $labels.namespace }}/{{ $labels.name }} passed its renewal time an hour ago and was not renewed",
        },
        {
          alert: "AcmeRequestErrors",
          expr: `sum by (cluster, host) (rate(certmanager_http_acme_client_request_count{status=~"4..|5.."}[15m])) > 0`,
          for: "30m",
          severity: "warning",
          summary: "ACME requests to {{ $labels.host }} are failing (rate limit, DNS-01 or account problem)",
        },
      ],
    },
    {
      name: "meridian-spiffe",
      rules: [
        {
          alert: "SpireAgentSvidRotationFailing",
          expr: `sum by (cluster) (increase(spire_agent_agent_svid_rotate{status!="OK"}[15m])) > 0`,
          for: svidFailureFor(spec),
          severity: "critical",
          summary: `SPIRE agents fail to rotate their SVIDs (SVID TTL ${spec.pki.svidTtl})`,
        },
        {
          alert: "SpireServerCaPrepareFailing",
          expr: `sum by (cluster) (increase(spire_server_ca_manager_x509_ca_prepare{status!="OK"}[30m])) > 0`,
          for: svidFailureFor(spec),
          severity: "critical",
          summary: "SPIRE server cannot prepare its next X.509 CA from the cert-manager upstream authority",
        },
        ...svidExpiryRules(spec),
      ],
    },
    meshControlPlaneGroup(spec),
    privateCaGroup(spec),
    ...pkiSlos(spec).map(sloGroup),
  ];
}

export function isAlert(rule: AlertRule | RecordingRule): rule is AlertRule {
  return "alert" in rule;
}
