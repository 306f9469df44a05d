/**
 * Certificate-expiry emergency playbook (§14.4.2), rendered for one stack: its ACME issuers and DNS-01
 * provider, private chain, namespaces, per-region cluster access, alert thresholds and the rotation order.
 * Steps are timed (0–5, 5–10, 10–20 min) and every command is copy-pasteable for this stack.
 */
import { NAMESPACES, serviceFqdn, type EstateSpec, type Region } from "../estate.js";
import { clusterFlag, fetchKubeconfig, waveCommands } from "../rotation/commands.js";
import { GATEWAY_CERTIFICATE, INTERMEDIATE_ISSUER, ROOT_CA_CERT_KEY, gatewayIssuer, type Dns01Solver, dns01Solver, intermediateKeys, intermediateSecret } from "../rotation/issuers.js";
import { regionCeremony } from "../rotation/intermediates.js";
import { planRotation } from "../rotation/plan.js";
import type { Runbook } from "./runbook.js";

/** certbot's DNS plugin for the provider serving the zone (out-of-band issuance when cert-manager cannot). */
const CERTBOT: Record<string, string> = {
  route53: "--dns-route53",
  clouddns: "--dns-google --dns-google-credentials gcp-acme-service-account.json",
  trafficmanager: "--authenticator dns-azure --dns-azure-config azure-dns.ini  # certbot-dns-azure plugin",
  cloudflare: "--dns-cloudflare --dns-cloudflare-credentials cloudflare.ini",
};

const percent = (x: number) => `${Number((x * 100).toPrecision(6))}%`;

function render(spec: EstateSpec): string {
  const fqdn = serviceFqdn(spec);
  const solver = dns01Solver(spec);
  const issuer = gatewayIssuer(spec);
  const { warningDays, criticalDays } = spec.pki.expiryAlerts;
  const order = planRotation(spec, 0).waves.map((w) => w.regions);
  const ordered = order.flat().map((id) => spec.regions.find((r) => r.id === id) as Region);
  const gw = NAMESPACES.gateway;
  const cm = NAMESPACES.certManager;
  const first = ordered[0] as Region;
  const fetches = ordered.map(fetchKubeconfig).filter((c): c is string => c !== undefined);
  const perRegion = (f: (r: Region) => string) => ordered.map((r) => `${f(r)}`).join("\n");
  const fence = (body: string) => `\`\`\`sh\n${body}\n\`\`\``;

  return `# Certificate expiry emergency — stack ${spec.stack}

## Scenario
A certificate the estate serves or trusts has expired, or will within ${criticalDays} days, and automatic renewal
has not fixed it. Signals: \`CertificateExpiryCritical\` (< ${criticalDays} d) or \`CertificateExpiringSoon\` (< ${warningDays} d)
firing, \`CertificateNotReady\` / \`CertificateRenewalOverdue\` / \`AcmeRequestErrors\`, SPIRE's
\`SpireServerCaPrepareFailing\` / \`SpireAgentSvidRotationFailing\`, the offline chain's \`IntermediateCaExpiring\` /
\`IntermediateCaExpiryCritical\` / \`RootCaOutlivedByIntermediates\`, or clients reporting \`certificate has expired\`.

| certificate | where | issued by | lifetime | breaks when expired |
|---|---|---|---|---|
| \`${GATEWAY_CERTIFICATE}\` (${fqdn}) | \`${gw}\` in every region | \`${issuer}\` (${solver ? `ACME DNS-01 via ${solver.provider}` : "regional intermediate CA: the zone has no public DNS"}, zone ${spec.dns.apex}) | ${spec.pki.certificate.duration}, renews ${spec.pki.certificate.renewBefore}+ before | every external client |
| \`${intermediateSecret(first).replace(first.id, "<region>")}\` (Secret) | \`${cm}\` | the offline root, by hand (\`meridian pki sign\`); never renews itself | ${spec.pki.privateCa.intermediateDuration}, re-sign ${spec.pki.privateCa.intermediateRenewBefore} before | internal TLS and SPIRE's CA in that region |
| SPIRE server CA | \`${NAMESPACES.spire}\` | \`${INTERMEDIATE_ISSUER}\` (upstream authority) | SPIRE ca_ttl | new SVIDs in that region |
| workload SVIDs (trust domain ${spec.pki.trustDomain}) | every mesh pod | SPIRE | ${spec.pki.svidTtl} | mesh mTLS (${spec.pki.mtls}) between runtime services |

Regions in rotation order (canary first): ${order.map((w) => w.join(", ")).join(" → ")}.

## Immediate mitigation (0–5 min)
1. Get cluster access${fetches.length ? " (kubeconfigs live in secret config)" : ""} and find what is expired, region by region:
${fence([...fetches, ...ordered.map((r) => `kubectl ${clusterFlag(r)} get certificates -A -o wide   # ${r.id}`)].join("\n"))}
2. Read why renewal failed (issuer, order, challenge) in the worst region:
${fence(`cmctl ${clusterFlag(first)} status certificate -n ${gw} ${GATEWAY_CERTIFICATE}
kubectl ${clusterFlag(first)} describe clusterissuer ${issuer}
kubectl ${clusterFlag(first)} get certificaterequests,orders,challenges -A
kubectl ${clusterFlag(first)} -n ${cm} logs deploy/cert-manager --since=1h | grep -iE 'error|fail'`)}
3. If only some regions serve an expired certificate, take them out of ${fqdn} in the GSLB (weight 0 / failover)
   so clients land on healthy regions while you fix them. If all regions are affected, go straight on.

## Generate an emergency certificate (5–10 min)
${
  solver
    ? acmeEmergency(spec, solver, ordered, fqdn, perRegion, fence)
    : `The gateway certificate comes from the regional intermediate CA; force its renewal:
${fence(perRegion((r) => waveCommands(r).renew))}
`
}Internal chain: an expiring or expired regional intermediate cannot be renewed in the cluster (the root's key is
offline). Re-sign it — for ${first.id} (repeat per region; \`npx meridian pki plan --stack ${spec.stack}\` prints all, in wave order):
${fence(
  regionCeremony(spec, first)
    .steps.map((s) => `${s.command}   # ${s.where}`)
    .join("\n") + `\npulumi up --stack ${spec.stack}`,
)}
The new chain is \`meridian:${intermediateKeys(first).cert}\` (and \`…-key\`); SPIRE takes it at its next CA preparation.
An expired or compromised root needs the root ceremony on the offline machine (\`npx meridian pki root --stack ${spec.stack} --out …\`),
then every region's intermediate re-signed and \`pulumi config set --secret meridian:${ROOT_CA_CERT_KEY}\` with the new root certificate.

## Deploy the new certificate (10–20 min)
In rotation order, canary first; back up the current Secret, install the new one, verify before the next region:
${fence(
  ordered
    .map((r) => {
      const c = waveCommands(r);
      return `# ${r.id}
${c.backup}
kubectl ${clusterFlag(r)} -n ${gw} create secret tls ${GATEWAY_CERTIFICATE} --cert=fullchain.pem --key=privkey.pem --dry-run=client -o yaml | kubectl ${clusterFlag(r)} apply -f -`;
    })
    .join("\n"),
)}
Verify each region serves the new certificate (serial and notAfter), then return drained regions to the GSLB:
${fence(perRegion((r) => `kubectl ${clusterFlag(r)} -n ${gw} get secret ${GATEWAY_CERTIFICATE} -o jsonpath='{.data.tls\\.crt}' | base64 -d | openssl x509 -noout -serial -enddate   # ${r.id}`))}
cert-manager still owns the Secret: it reports the hand-installed certificate as not matching its issuer and
replaces it as soon as issuance works again, so fix the issuer (above) before closing the incident.

## Root cause analysis (post-incident)
- Which step of issuance failed: CertificateRequest → Order → Challenge events; \`certmanager_http_acme_client_request_count\` by status.
${solver ? `- DNS-01: did the ${solver.provider} credentials (${solver.credentials.map((c) => `\`meridian:${c.configKey}\``).join(", ")}) expire or lose permission on ${spec.dns.apex}?` : `- The intermediate CA: was it re-signed in time (\`IntermediateCaExpiring\` fires ${spec.pki.privateCa.intermediateRenewBefore} ahead)?`}
- Approval: a CertificateRequest no CertificateRequestPolicy allows stays unapproved (\`kubectl get certificaterequests -A\`, column APPROVED; \`kubectl describe certificaterequestpolicy\`).
- Let's Encrypt rate limits (certificates per registered domain per week, duplicate certificates): check the ACME error body.
- Why alerts did not page earlier: \`CertificateExpiringSoon\` fires at ${warningDays} d, \`CertificateExpiryCritical\` at ${criticalDays} d —
  was the PrometheusRule \`meridian-pki\` loaded in \`${NAMESPACES.monitoring}\`, and routed?
- SPIRE: \`kubectl ${clusterFlag(first)} -n ${NAMESPACES.spire} logs statefulset/spire-server -c spire-server --since=2h | grep -i upstream\`.

## Prevention
- Keep renewBefore (${spec.pki.certificate.renewBefore}) well above the warning threshold (${warningDays} d) — the stack schema enforces it.
- Rotate in waves (\`meridian rotate --plan --stack ${spec.stack}\`): the canary renews ${spec.pki.rotation.staggerHours}h before the next wave.
- Exercise issuance against \`letsencrypt-staging\` after any DNS or credential change.
- Track the SLOs: certificate readiness ${percent(spec.pki.slo.certificateReady)} and mesh handshake success ${percent(spec.pki.slo.handshakeSuccess)} over ${spec.pki.slo.windowDays} days.
`;
}

export const runbook: Runbook = { name: "cert-expiry", title: "Certificate expiry emergency (§14.4.2)", render };

/** The ACME path of the emergency: forced renewal once the issuer works, else certbot with the same DNS provider. */
function acmeEmergency(spec: EstateSpec, solver: Dns01Solver, ordered: Region[], fqdn: string, perRegion: (f: (r: Region) => string) => string, fence: (body: string) => string): string {
  return `Try the fast path first: a forced renewal through cert-manager (works once the issuer is healthy again, e.g.
after replacing expired DNS-01 credentials with \`pulumi config set --secret meridian:${solver.credentials[0]?.configKey} …\` and \`pulumi up\`):
${fence(perRegion((r) => waveCommands(r).renew))}
If ACME issuance through cert-manager stays broken, issue out of band with certbot and the same DNS provider
(${solver.provider}), for the same names:
${fence(`certbot certonly --non-interactive --agree-tos -m ${spec.pki.acme.email} ${CERTBOT[solver.provider]} \\
  -d ${fqdn} ${ordered.map((r) => `-d ${r.id}.${fqdn}`).join(" ")}`)}
`;
}
