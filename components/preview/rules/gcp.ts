/**
 * GCP rules (pulumi-gcp bridges terraform-provider-google): Cloud SQL tier/edition and networking, the
 * Compute health check Cloud DNS routing policies use, and Cloud DNS record sets. Messages are the Cloud
 * SQL / Compute / Cloud DNS API errors or the SDK's own doc comments where the API text is not published.
 */
import { arr, at, bridgeProblem, inputs, ip, known, num, obj, str, type ProviderRule } from "./rule.js";

const SQL = "gcp:sql/databaseInstance:DatabaseInstance";
const HEALTH_CHECK = "gcp:compute/healthCheck:HealthCheck";
const RECORD_SET = "gcp:dns/recordSet:RecordSet";
const ZONE = "gcp:dns/managedZone:ManagedZone";
const SQL_DOCS = "https://cloud.google.com/sql/docs/postgres/create-instance#machine-types";
const SDK = "https://github.com/pulumi/pulumi-gcp/blob/master/sdk/nodejs";

/** The edition Cloud SQL applies when none is given: ENTERPRISE_PLUS for PostgreSQL 16 and later. */
function effectiveEdition(databaseVersion: string | undefined, edition: string | undefined): string {
  if (edition !== undefined) return edition;
  const major = Number(/^POSTGRES_(\d+)/.exec(databaseVersion ?? "")?.[1] ?? 0);
  return major >= 16 ? "ENTERPRISE_PLUS" : "ENTERPRISE";
}

const RFC1035 = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const PROTOCOL_BLOCKS = ["grpc_health_check", "grpc_tls_health_check", "http2_health_check", "http_health_check", "https_health_check", "ssl_health_check", "tcp_health_check"];
const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Every healthCheckedTargets block of a Cloud DNS routing policy, with its API path. */
function healthCheckedTargets(policy: Record<string, unknown>): { path: string; targets: Record<string, unknown> }[] {
  const out: { path: string; targets: Record<string, unknown> }[] = [];
  arr(policy["wrrs"]).forEach((w, i) => out.push({ path: `wrr.items[${i}]`, targets: obj(obj(w)["healthCheckedTargets"]) }));
  arr(policy["geos"]).forEach((g, i) => out.push({ path: `geo.items[${i}]`, targets: obj(obj(g)["healthCheckedTargets"]) }));
  const pb = obj(policy["primaryBackup"]);
  if (pb["primary"] !== undefined) out.push({ path: "primaryBackup.primary", targets: obj(pb["primary"]) });
  arr(pb["backupGeos"]).forEach((g, i) => out.push({ path: `primaryBackup.backupGeoTargets.items[${i}]`, targets: obj(obj(g)["healthCheckedTargets"]) }));
  return out;
}

export const gcpRules: ProviderRule[] = [
  {
    id: "gcp-sql-edition-tier",
    provider: "gcp",
    types: [SQL],
    summary: "Shared-core and db-custom-* tiers need edition ENTERPRISE; PostgreSQL 16+ defaults to ENTERPRISE_PLUS, which takes only db-perf-optimized-N-*",
    source: `${SQL_DOCS}; ${SDK}/types/input.ts (DatabaseInstanceSettings.edition)`,
    check(r) {
      const p = inputs(r);
      const tier = str(at(p, "settings.tier"));
      if (tier === undefined) return [];
      const edition = effectiveEdition(str(p["databaseVersion"]), str(at(p, "settings.edition")));
      const perfOptimized = tier.startsWith("db-perf-optimized-");
      if ((edition === "ENTERPRISE_PLUS") === perfOptimized) return [];
      const hint = edition === "ENTERPRISE_PLUS" ? " Use a predefined Tier like db-perf-optimized-N-* instead." : " Use a shared-core or db-custom-* Tier instead.";
      return [`googleapi: Error 400: Invalid request: Invalid Tier (${tier}) for (${edition}) Edition.${hint} Learn more at ${SQL_DOCS}., invalid`];
    },
  },
  {
    id: "gcp-sql-custom-tier-shape",
    provider: "gcp",
    types: [SQL],
    summary: "db-custom-<vCPU>-<MB>: 1 or an even number of vCPUs up to 96; 0.9–6.5 GB per vCPU in multiples of 256 MB, at least 3840 MB",
    source: "https://cloud.google.com/sql/docs/postgres/instance-settings#machine-type-2ndgen",
    check(r) {
      const tier = str(at(inputs(r), "settings.tier"));
      const m = tier === undefined ? null : /^db-custom-(\d+)-(\d+)$/.exec(tier);
      if (m === null) return [];
      const cpus = Number(m[1]);
      const mb = Number(m[2]);
      const ok = (cpus === 1 || (cpus % 2 === 0 && cpus <= 96)) && mb % 256 === 0 && mb >= 3840 && mb >= cpus * 0.9 * 1024 && mb <= cpus * 6.5 * 1024;
      return ok
        ? []
        : [
            `googleapi: Error 400: Invalid request: Invalid Tier (${tier}) for (ENTERPRISE) Edition: custom machine types need 1 or an even number of vCPUs (at most 96) and 0.9 to 6.5 GB of memory per vCPU in multiples of 256 MB., invalid`,
          ];
    },
  },
  {
    id: "gcp-sql-pitr-retention",
    provider: "gcp",
    types: [SQL],
    summary: "On edition ENTERPRISE, transaction log retention (point-in-time recovery) is 1 to 7 days",
    source: "https://github.com/langfuse/langfuse-terraform-gcp/issues/8 (Cloud SQL API error text); https://cloud.google.com/sql/docs/postgres/backup-recovery/pitr",
    check(r) {
      const p = inputs(r);
      const edition = effectiveEdition(str(p["databaseVersion"]), str(at(p, "settings.edition")));
      const days = num(at(p, "settings.backupConfiguration.transactionLogRetentionDays"));
      if (edition !== "ENTERPRISE" || days === undefined || (days >= 1 && days <= 7)) return [];
      return ["googleapi: Error 400: Invalid request: The number of transaction log retention days must be between 1 and 7., invalid"];
    },
  },
  {
    id: "gcp-sql-connectivity",
    provider: "gcp",
    types: [SQL],
    summary: "An instance without a public IP needs a private network (private services access) or PSC",
    source: "https://cloud.google.com/sql/docs/postgres/configure-private-ip",
    check(r) {
      const ipc = obj(at(inputs(r), "settings.ipConfiguration"));
      if (ipc["ipv4Enabled"] !== false || ipc["privateNetwork"] !== undefined || ipc["pscConfigs"] !== undefined) return [];
      return ["googleapi: Error 400: Invalid request: At least one of Public IP or Private IP or PSC connectivity must be enabled., invalid"];
    },
  },
  {
    id: "gcp-health-check-protocol",
    provider: "gcp",
    types: [HEALTH_CHECK],
    summary: "A health check has exactly one protocol block (http/https/http2/tcp/ssl/grpc)",
    source: "https://github.com/hashicorp/terraform-provider-google/blob/main/google/services/compute/resource_compute_health_check.go (ExactlyOneOf)",
    check(r) {
      const p = inputs(r);
      const given = PROTOCOL_BLOCKS.filter((b) => p[camel(b)] !== undefined);
      if (given.length === 1) return [];
      const all = PROTOCOL_BLOCKS.join(",");
      return given.length === 0
        ? [bridgeProblem(r, "httpsHealthCheck", `"https_health_check": one of \`${all}\` must be specified`)]
        : [bridgeProblem(r, camel(given[0]!), `"${given[0]}": only one of \`${all}\` can be specified, but \`${given.join(",")}\` were specified.`)];
    },
  },
  {
    id: "gcp-health-check-timeout",
    provider: "gcp",
    types: [HEALTH_CHECK],
    summary: "timeoutSec is not greater than checkIntervalSec",
    source: `${SDK}/compute/healthCheck.ts (timeoutSec: "It is invalid for timeoutSec to have greater value than checkIntervalSec")`,
    check(r) {
      const p = inputs(r);
      const timeout = num(p["timeoutSec"]) ?? 5;
      const interval = num(p["checkIntervalSec"]) ?? 5;
      return timeout <= interval ? [] : [`googleapi: Error 400: Invalid value for field 'resource.timeoutSec': '${timeout}'. TimeoutSec should be less than checkIntervalSec., invalid`];
    },
  },
  {
    id: "gcp-health-check-source-regions",
    provider: "gcp",
    types: [HEALTH_CHECK],
    summary: "sourceRegions (required for Cloud DNS external endpoints) lists exactly 3 regions and needs checkIntervalSec >= 30",
    source: `${SDK}/compute/healthCheck.ts (sourceRegions doc comment)`,
    check(r) {
      const p = inputs(r);
      const regions = arr(p["sourceRegions"]);
      if (regions.length === 0) return [];
      const out: string[] = [];
      if (regions.length !== 3)
        out.push(
          `googleapi: Error 400: Invalid value for field 'resource.sourceRegions': ${regions.length} regions. If any regions are specified, then exactly 3 regions should be specified., invalid`,
        );
      const interval = num(p["checkIntervalSec"]) ?? 5;
      if (interval < 30)
        out.push(`googleapi: Error 400: Invalid value for field 'resource.checkIntervalSec': '${interval}'. With sourceRegions, the checkIntervalSec field must be at least 30., invalid`);
      return out;
    },
  },
  {
    id: "gcp-resource-name",
    provider: "gcp",
    types: [HEALTH_CHECK, ZONE],
    summary: "Names are RFC 1035 labels: 1-63 characters, a lowercase letter first, then lowercase letters, digits or '-', not ending in '-'",
    source: `${SDK}/compute/healthCheck.ts (name doc comment)`,
    check(r) {
      const name = str(inputs(r)["name"]);
      return name === undefined || RFC1035.test(name)
        ? []
        : [`googleapi: Error 400: Invalid value for field 'resource.name': '${name}'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)', invalid`];
    },
  },
  {
    id: "gcp-dns-external-endpoints",
    provider: "gcp",
    types: [RECORD_SET],
    summary: "healthCheckedTargets.externalEndpoints are Internet IP addresses, never hostnames",
    source: `${SDK}/types/input.ts (RecordSetRoutingPolicyPrimaryBackupPrimary.externalEndpoints: "The Internet IP addresses to be health checked.")`,
    check(r) {
      const out: string[] = [];
      for (const { path, targets } of healthCheckedTargets(obj(inputs(r)["routingPolicy"]))) {
        arr(targets["externalEndpoints"]).forEach((e, i) => {
          if (typeof e === "string" && known(e) && !ip.any(e)) {
            out.push(
              `googleapi: Error 400: Invalid value for 'entity.change.additions[0].routingPolicy.${path}.healthCheckedTargets.externalEndpoints[${i}]': '${e}' (the Internet IP addresses to be health checked), invalid`,
            );
          }
        });
      }
      return out;
    },
  },
  {
    id: "gcp-dns-rrdatas-or-routing",
    provider: "gcp",
    types: [RECORD_SET],
    summary: "A record set has rrdatas or a routingPolicy, not both",
    source: "https://github.com/hashicorp/terraform-provider-google/blob/main/google/services/dns/resource_dns_record_set.go (ConflictsWith)",
    check(r) {
      const p = inputs(r);
      return p["rrdatas"] !== undefined && p["routingPolicy"] !== undefined ? [bridgeProblem(r, "rrdatas", '"rrdatas": conflicts with routing_policy')] : [];
    },
  },
  {
    id: "gcp-dns-fully-qualified",
    provider: "gcp",
    types: [RECORD_SET, ZONE],
    summary: "Cloud DNS names are fully qualified: they end with a dot",
    source: "https://cloud.google.com/dns/docs/reference/rest/v1/resourceRecordSets",
    check(r) {
      const key = r.type === ZONE ? "dnsName" : "name";
      const name = str(inputs(r)[key]);
      return name === undefined || name.endsWith(".") ? [] : [`googleapi: Error 400: Invalid value for 'entity.change.additions[0].name': '${name}', invalid`];
    },
  },
];
