/**
 * Verification gates between rotation waves: the checks that must hold for a wave's regions before the
 * next wave starts. Each is a Prometheus query (answered per region via the `cluster` label every
 * regional Prometheus adds as an external label) or a probe command, with what "pass" means.
 */
import type { EstateSpec } from "../estate.js";
import { GATEWAY, NAMESPACES, regionById, serviceFqdn } from "../estate.js";
import { clusterFlag } from "./commands.js";
import { GATEWAY_CERTIFICATE } from "./issuers.js";

export interface GateCheck {
  name: string;
  /** PromQL (kind "query") or shell (kind "probe"). */
  kind: "query" | "probe";
  check: string;
  pass: string;
}

const clusterMatcher = (regions: readonly string[]) => `cluster=~"${regions.join("|")}"`;

export function gateChecks(spec: EstateSpec, regions: readonly string[]): GateCheck[] {
  const c = clusterMatcher(regions);
  const host = serviceFqdn(spec);
  return [
    {
      name: "gateway certificate Ready",
      kind: "query",
      check: `min by (cluster) (certmanager_certificate_ready_status{condition="True",namespace="${NAMESPACES.gateway}",name="${GATEWAY_CERTIFICATE}",${c}})`,
      pass: `1 for every region of the wave`,
    },
    {
      name: "new certificate served",
      kind: "probe",
      // Dial the region's own gateway address (not the GSLB name, which may answer from another region).
      check: regions
        .map((id) => {
          const flag = clusterFlag(regionById(spec, id));
          const address = `$(kubectl ${flag} -n ${NAMESPACES.gateway} get svc ${GATEWAY.name} -o jsonpath='{.status.loadBalancer.ingress[0].ip}{.status.loadBalancer.ingress[0].hostname}')`;
          return `openssl s_client -connect "${address}:${GATEWAY.port}" -servername ${host} </dev/null 2>/dev/null | openssl x509 -noout -serial -enddate`;
        })
        .join("\n"),
      pass: "serial equals the Secret's new certificate; notAfter is the new expiry",
    },
    {
      name: "no certificate or SVID failures",
      kind: "query",
      check: `count(ALERTS{alertstate="firing",alertname=~"CertificateNotReady|CertificateRenewalOverdue|SpireAgentSvidRotationFailing|SpireServerCaPrepareFailing",${c}})`,
      pass: "empty (no firing alerts)",
    },
    {
      name: "mesh handshake errors within budget",
      kind: "query",
      check: `sum by (cluster) (rate(envoy_listener_ssl_connection_error{${c}}[10m])) / sum by (cluster) (rate(envoy_listener_downstream_cx_total{${c}}[10m]))`,
      pass: `below ${round(1 - spec.pki.slo.handshakeSuccess)} (the handshake SLO's error budget rate)`,
    },
  ];
}

function round(x: number): string {
  return Number(x.toPrecision(3)).toString();
}
