/**
 * Issuers: the names and shapes of everything that signs a certificate in the estate — the two ACME
 * ClusterIssuers (Let's Encrypt staging and production) with the DNS-01 solver of the provider that serves
 * the zone, the private chain (offline root → per-region intermediate), and the secret config keys those
 * need. Components render these; the runbook, `meridian pki` and `meridian rotate` print the same names.
 * Invariants: the solver always matches `dns.providers.primary`; a provider with no settings it needs is a
 * config error naming the key to set, never a half-configured issuer. The root's private key is never a
 * config key: the program cannot put it in a cluster. Each region's intermediate is signed offline with the
 * path length and name constraints `intermediateProfile` gives.
 */
import type { EstateSpec, Region } from "../estate.js";
import { serviceFqdn } from "../estate.js";
import { ConfigMistake } from "../config/errors.js";
import type { DnsProvider } from "../config/traffic.js";

export const ACME_SERVERS = {
  staging: "https://acme-staging-v02.api.letsencrypt.org/directory",
  production: "https://acme-v02.api.letsencrypt.org/directory",
} as const;
export type AcmeEnvironment = keyof typeof ACME_SERVERS;

export const acmeIssuerName = (env: AcmeEnvironment): string => `letsencrypt-${env}`;
/** ClusterIssuer that signs internal TLS (and SPIRE's CA) with the region's offline-signed intermediate. */
export const INTERMEDIATE_ISSUER = "meridian-intermediate";
/** Secret (cert-manager namespace, kubernetes.io/tls): the intermediate chain and key, and the root as ca.crt. */
export const intermediateSecret = (region: Region): string => `meridian-intermediate-${region.id}`;
/** Secret (cert-manager namespace) with the DNS-01 solver's credentials. */
export const SOLVER_SECRET = "meridian-acme-dns01";
export const GATEWAY_CERTIFICATE = "meridian-gateway-tls";

/**
 * Secret config keys (without `meridian:`); prefixes follow stacks/load.ts isSecretKeyName. The root contributes
 * only its certificate (the trust anchor); its key stays on the offline machine and has no key here.
 */
export const ROOT_CA_CERT_KEY = "credentials-pki-root-ca-cert";
/** A region's intermediate: the chain `meridian pki sign` printed (intermediate, then root) and its key. */
export function intermediateKeys(region: Region): { cert: string; key: string } {
  return { cert: `credentials-pki-intermediate-${region.id}-cert`, key: `credentials-pki-intermediate-${region.id}-key` };
}

/** CAs allowed below a regional intermediate: SPIRE's server CA, which signs only leaf SVIDs. */
const INTERMEDIATE_PATH_LENGTH = 1;
/** The cluster DNS domain every in-cluster service name (SVID DNS SANs) lives under. */
const CLUSTER_DOMAIN = "cluster.local";

/** Everything the offline root signs into a region's intermediate. */
export interface IntermediateProfile {
  subject: string;
  pathLength: number;
  /** RFC 5280 name constraints: the SPIFFE trust domain as URI host, in-cluster names and (without ACME) the service name. */
  constraints: { permittedUriHosts: string[]; permittedDnsDomains: string[] };
  duration: string;
  renewBefore: string;
}

export function rootSubject(spec: EstateSpec): string {
  return `CN=Meridian ${spec.environment} offline root CA, O=Meridian, OU=${spec.environment}`;
}

export function intermediateProfile(spec: EstateSpec, region: Region): IntermediateProfile {
  const dns = [CLUSTER_DOMAIN, ...(gatewayIssuer(spec) === INTERMEDIATE_ISSUER ? [serviceFqdn(spec)] : [])];
  return {
    subject: `CN=Meridian ${spec.environment} ${region.id} intermediate CA, O=Meridian, OU=${spec.environment}`,
    pathLength: INTERMEDIATE_PATH_LENGTH,
    constraints: { permittedUriHosts: [spec.pki.trustDomain], permittedDnsDomains: dns },
    duration: spec.pki.privateCa.intermediateDuration,
    renewBefore: spec.pki.privateCa.intermediateRenewBefore,
  };
}

/** One credential the solver reads: the secret config key it comes from and the key inside SOLVER_SECRET. */
export interface SolverCredential {
  configKey: string;
  secretKey: string;
  /** The solver field that references it (`{name: SOLVER_SECRET, key: secretKey}`). */
  ref: "accessKeyIDSecretRef" | "secretAccessKeySecretRef" | "serviceAccountSecretRef" | "clientSecretSecretRef" | "apiTokenSecretRef";
}

/** The cert-manager DNS-01 solver block (`spec.acme.solvers[].dns01`) and the credentials it needs. */
export interface Dns01Solver {
  provider: DnsProvider;
  /** cert-manager's solver field: route53 | cloudDNS | azureDNS | cloudflare. */
  field: "route53" | "cloudDNS" | "azureDNS" | "cloudflare";
  /** The solver settings without credential references (`solverBlock` adds those from `credentials`). */
  settings: Record<string, string>;
  credentials: SolverCredential[];
}

/** A missing PKI setting that only shows once another area's config is read; reported like any config error. */
export class PkiConfigError extends ConfigMistake {
  override name = "PkiConfigError";
  constructor(
    /** `meridian:pki.acme.dns01.clouddns` */
    readonly keyPath: string,
    readonly expected: string,
  ) {
    super(`${keyPath}: missing; ${expected}`);
  }
}

/**
 * The DNS-01 solver for the provider that serves `dns.apex` (`dns.providers.primary`), or null when the
 * zone is served only by `meridian local`'s loopback resolver: no public DNS, so no ACME — the gateway
 * certificate then comes from the regional intermediate CA (`gatewayIssuer`).
 */
export function dns01Solver(spec: EstateSpec): Dns01Solver | null {
  const provider = spec.dns.providers.primary;
  if (provider === "local") return null;
  const dns01 = spec.pki.acme.dns01;
  const missing = (key: string, what: string) =>
    new PkiConfigError(`meridian:pki.acme.dns01.${key}`, `${spec.dns.apex} is served by ${provider} (meridian:dns.providers.primary), so the DNS-01 solver needs ${what}`);
  switch (provider) {
    case "route53":
      return {
        provider,
        field: "route53",
        settings: { region: dns01.route53.region, ...(dns01.route53.hostedZoneID ? { hostedZoneID: dns01.route53.hostedZoneID } : {}) },
        credentials: [
          { configKey: "aws-acme-access-key-id", secretKey: "access-key-id", ref: "accessKeyIDSecretRef" },
          { configKey: "aws-acme-secret-access-key", secretKey: "secret-access-key", ref: "secretAccessKeySecretRef" },
        ],
      };
    case "clouddns":
      if (!dns01.clouddns) throw missing("clouddns", "the GCP project that owns the zone ({ project })");
      return {
        provider,
        field: "cloudDNS",
        // No hostedZoneName: cert-manager finds the managed zone by its DNS name, whatever the zone resource is called.
        settings: { project: dns01.clouddns.project },
        credentials: [{ configKey: "gcp-acme-service-account-key", secretKey: "service-account.json", ref: "serviceAccountSecretRef" }],
      };
    case "trafficmanager": {
      // Traffic Manager answers for the service name; the zone itself (and the TXT challenge) lives in Azure DNS.
      const az = dns01.azuredns;
      if (!az) throw missing("azuredns", "the Azure DNS zone's { subscriptionID, tenantID, clientID, resourceGroupName }");
      return {
        provider,
        field: "azureDNS",
        settings: {
          subscriptionID: az.subscriptionID,
          tenantID: az.tenantID,
          clientID: az.clientID,
          resourceGroupName: az.resourceGroupName,
          hostedZoneName: spec.dns.apex,
          environment: az.environment,
        },
        credentials: [{ configKey: "azure-acme-client-secret", secretKey: "client-secret", ref: "clientSecretSecretRef" }],
      };
    }
    case "cloudflare":
      return { provider, field: "cloudflare", settings: {}, credentials: [{ configKey: "cloudflare-acme-api-token", secretKey: "api-token", ref: "apiTokenSecretRef" }] };
  }
}

/** The complete `dns01.<field>` block: settings plus a `{name, key}` reference per credential. */
export function solverBlock(solver: Dns01Solver): Record<string, unknown> {
  const refs = Object.fromEntries(solver.credentials.map((c) => [c.ref, { name: SOLVER_SECRET, key: c.secretKey }]));
  return { ...solver.settings, ...refs };
}

/** Secret config keys the PKI area reads: the solver's credentials, the root certificate, each region's intermediate. */
export function pkiSecretKeys(spec: EstateSpec): string[] {
  return [...(dns01Solver(spec)?.credentials ?? []).map((c) => c.configKey), ROOT_CA_CERT_KEY, ...spec.regions.flatMap((r) => Object.values(intermediateKeys(r)))];
}

/** The ACME issuer the stack's public certificates use. */
export function activeAcmeIssuer(spec: EstateSpec): string {
  return acmeIssuerName(spec.pki.acme.environment);
}

/** The ClusterIssuer of the regional gateway certificate: ACME, or the intermediate CA without public DNS. */
export function gatewayIssuer(spec: EstateSpec): string {
  return dns01Solver(spec) === null ? INTERMEDIATE_ISSUER : activeAcmeIssuer(spec);
}

/** DNS names on a region's gateway certificate: the global service name and the region's own name. */
export function gatewayDnsNames(spec: EstateSpec, region: Region): string[] {
  return [serviceFqdn(spec), `${region.id}.${serviceFqdn(spec)}`];
}
