/**
 * AWS rules (pulumi-aws bridges terraform-provider-aws, so schema checks speak the Terraform SDK's
 * validation words; API refusals are the RDS / Route 53 error text). Sources link the provider source
 * or the AWS documentation page the refusal is documented on.
 */
import { NLB_CANONICAL_HOSTED_ZONES, nlbHostedZoneId } from "../../../model/traffic/load-balancers.js";
import type { RecordedResource } from "../mock-runtime.js";
import { elasticacheRules } from "./aws-elasticache.js";
import { arr, bridgeProblem, inputs, ip, known, num, obj, str, type PlanView, type ProviderRule } from "./rule.js";

const TF_AWS = "https://github.com/hashicorp/terraform-provider-aws/blob/main/internal/service";
const CLUSTER = "aws:rds/cluster:Cluster";
const INSTANCE = "aws:rds/clusterInstance:ClusterInstance";
const GLOBAL = "aws:rds/globalCluster:GlobalCluster";
const RECORD = "aws:route53/record:Record";
const HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck";

/** The global cluster a regional cluster joins, when the plan creates it. */
function globalOf(cluster: RecordedResource, plan: PlanView): RecordedResource | undefined {
  const id = str(inputs(cluster)["globalClusterIdentifier"]);
  if (id === undefined) return undefined;
  return plan.ofType(GLOBAL).find((g) => g.name === id || `${g.name}-id` === id || inputs(g)["globalClusterIdentifier"] === id || id === `${inputs(g)["globalClusterIdentifier"]}-id`);
}

/** Clusters joining the same global cluster; the one that is not a secondary (it names the master user) is its primary. */
function isSecondary(cluster: RecordedResource): boolean {
  const p = inputs(cluster);
  return p["globalClusterIdentifier"] !== undefined && p["masterUsername"] === undefined && p["snapshotIdentifier"] === undefined;
}

/** TF `validIdentifier` (internal/service/rds/validate.go) for cluster and instance identifiers. */
function identifierProblems(value: string, key: string): string[] {
  const out: string[] = [];
  if (!/^[0-9a-z-]+$/.test(value)) out.push(`only lowercase alphanumeric characters and hyphens allowed in "${key}"`);
  if (!/^[a-z]/.test(value)) out.push(`first character of "${key}" must be a letter`);
  if (/--/.test(value)) out.push(`"${key}" cannot contain two consecutive hyphens`);
  if (/-$/.test(value)) out.push(`"${key}" cannot end with a hyphen`);
  if (value.length > 63) out.push(`"${key}" cannot be longer than 63 characters`);
  return out;
}

export const awsRules: ProviderRule[] = [
  {
    id: "aws-rds-global-managed-password",
    provider: "aws",
    types: [CLUSTER],
    summary: "An Aurora cluster in a global database cannot have Secrets Manager manage its master password (manageMasterUserPassword)",
    source: "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/rds-secrets-manager.html#rds-secrets-manager-limitations",
    check(r, plan) {
      const p = inputs(r);
      if (p["manageMasterUserPassword"] !== true) return [];
      const global = p["globalClusterIdentifier"] !== undefined || plan.ofType(GLOBAL).some((g) => inputs(g)["sourceDbClusterIdentifier"] !== undefined && plan.dependsOn(g, r));
      return global ? ["InvalidParameterCombination: Managing master user passwords with Secrets Manager isn't supported for DB clusters that are part of an Aurora global database"] : [];
    },
  },
  {
    id: "aws-rds-secondary-credentials",
    provider: "aws",
    types: [CLUSTER],
    summary: "A secondary cluster of a global database takes the primary's credentials: no master user name or password",
    source: "https://github.com/crossplane-contrib/provider-aws/issues/1668 (RDS CreateDBCluster error text)",
    check(r, plan) {
      const p = inputs(r);
      const global = globalOf(r, plan);
      if (global === undefined || inputs(global)["sourceDbClusterIdentifier"] !== undefined) return [];
      if (primaryOf(global, plan) === r) return [];
      const out: string[] = [];
      if (p["masterUsername"] !== undefined) out.push("InvalidParameterCombination: Cannot specify user name for cross region replication cluster");
      if (p["masterPassword"] !== undefined) out.push("InvalidParameterCombination: Cannot specify password for cross region replication cluster");
      return out;
    },
  },
  {
    id: "aws-rds-master-password",
    provider: "aws",
    types: [CLUSTER],
    summary: "A new (non-secondary) Aurora cluster needs a master password, or manageMasterUserPassword — never both",
    source: `${TF_AWS}/rds/cluster.go (master_password ConflictsWith manage_master_user_password); RDS CreateDBCluster API`,
    check(r) {
      const p = inputs(r);
      if (isSecondary(r) || p["snapshotIdentifier"] !== undefined) return [];
      const managed = p["manageMasterUserPassword"] === true;
      const password = p["masterPassword"] !== undefined || p["masterPasswordWo"] !== undefined;
      if (managed && password) return [bridgeProblem(r, "masterPassword", '"master_password": conflicts with manage_master_user_password')];
      if (!managed && !password) return ["InvalidParameterValue: The parameter MasterUserPassword must be provided and must not be blank."];
      return [];
    },
  },
  {
    id: "aws-rds-secondary-after-primary-instance",
    provider: "aws",
    types: [CLUSTER],
    summary: "A global database's secondary cluster is created only after the primary cluster has an instance (dependsOn the primary's ClusterInstance)",
    source: "https://github.com/hashicorp/terraform-provider-aws/pull/26033 (aws_rds_global_cluster example: secondary depends_on the primary instance)",
    check(r, plan) {
      if (!isSecondary(r)) return [];
      const global = globalOf(r, plan);
      if (global === undefined) return [];
      const primary = primaryOf(global, plan);
      if (primary === undefined || primary === r) return [];
      const instances = plan.ofType(INSTANCE).filter((i) => plan.dependsOn(i, primary));
      if (instances.length === 0 || instances.some((i) => plan.dependsOn(r, i))) return [];
      return [
        "InvalidParameterValue: The parameter MasterUsername must be provided and must not be blank. (the secondary was created before the primary cluster had an instance, so RDS took it for a new primary)",
      ];
    },
  },
  {
    id: "aws-rds-identifier",
    provider: "aws",
    types: [CLUSTER, INSTANCE],
    summary: "Cluster and instance identifiers: lowercase letters, digits and hyphens, a letter first, no '--', no trailing '-', at most 63",
    source: `${TF_AWS}/rds/validate.go (validIdentifier)`,
    check(r) {
      const key = r.type === CLUSTER ? "clusterIdentifier" : "identifier";
      const value = str(inputs(r)[key]);
      return value === undefined ? [] : identifierProblems(value, r.type === CLUSTER ? "cluster_identifier" : "identifier").map((m) => bridgeProblem(r, key, m));
    },
  },
  {
    id: "aws-rds-parameter-group-family",
    provider: "aws",
    types: [CLUSTER],
    summary: "A cluster's parameter group family must match its engine major version",
    source: "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_WorkingWithParamGroups.html",
    check(r, plan) {
      const p = inputs(r);
      const version = str(p["engineVersion"]);
      if (version === undefined || p["dbClusterParameterGroupName"] === undefined) return [];
      const group = plan.ofType("aws:rds/clusterParameterGroup:ClusterParameterGroup").find((g) => plan.dependsOn(r, g));
      const family = group ? str(inputs(group)["family"]) : undefined;
      const expected = `${str(p["engine"]) ?? "aurora-postgresql"}${version.split(".")[0]}`;
      if (family === undefined || family === expected) return [];
      return [
        `InvalidParameterCombination: The Parameter Group ${group!.name} with DBParameterGroupFamily ${family} can't be used for this instance. Use a Parameter Group with DBParameterGroupFamily ${expected}.`,
      ];
    },
  },
  {
    id: "aws-route53-record-address",
    provider: "aws",
    types: [RECORD],
    summary: "An A record's values are IPv4 addresses and an AAAA record's IPv6 addresses — never a hostname",
    source: "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/ResourceRecordTypes.html (ChangeResourceRecordSets: ARRDATAIllegalIPv4Address)",
    check(r) {
      const p = inputs(r);
      const type = str(p["type"]);
      if (type !== "A" && type !== "AAAA") return [];
      const test = type === "A" ? ip.v4 : ip.v6;
      const code = type === "A" ? "ARRDATAIllegalIPv4Address (Value is not a valid IPv4 address)" : "ARRDATAIllegalIPv6Address (Value is not a valid IPv6 address)";
      return arr(p["records"])
        .filter((v): v is string => typeof v === "string" && known(v) && !test(v))
        .map((v) => `InvalidChangeBatch: [Invalid Resource Record: 'FATAL problem: ${code} encountered with '${v}'']`);
    },
  },
  {
    id: "aws-route53-record-shape",
    provider: "aws",
    types: [RECORD],
    summary: "A record has exactly one of records/aliases; ttl goes with records, never with an alias; a routing policy needs a setIdentifier",
    source: `${TF_AWS}/route53/record.go (ExactlyOneOf alias/records, ConflictsWith ttl, RequiredWith set_identifier)`,
    check(r) {
      const p = inputs(r);
      const out: string[] = [];
      const hasRecords = p["records"] !== undefined;
      const hasAlias = arr(p["aliases"]).length > 0;
      if (hasRecords && hasAlias) out.push(bridgeProblem(r, "aliases", '"alias": only one of `alias,records` can be specified, but `alias,records` were specified.'));
      if (!hasRecords && !hasAlias) out.push(bridgeProblem(r, "records", '"records": one of `alias,records` must be specified'));
      if (hasAlias && p["ttl"] !== undefined) out.push(bridgeProblem(r, "ttl", '"ttl": conflicts with alias'));
      if (hasRecords && p["ttl"] === undefined) {
        out.push(
          `InvalidInput: Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none in Change with [Action=CREATE, Name=${str(p["name"])}, Type=${str(p["type"])}, SetIdentifier=${str(p["setIdentifier"]) ?? "null"}]`,
        );
      }
      for (const [policy, tf] of Object.entries(ROUTING_POLICIES)) {
        const present = Array.isArray(p[policy]) ? arr(p[policy]).length > 0 : p[policy] !== undefined;
        if (present && p["setIdentifier"] === undefined) out.push(bridgeProblem(r, "setIdentifier", `"${tf}": all of \`set_identifier,${tf}\` must be specified`));
      }
      for (const w of arr(p["weightedRoutingPolicies"])) {
        const weight = num(obj(w)["weight"]);
        if (weight !== undefined && (weight < 0 || weight > 255)) out.push(`InvalidInput: Invalid request: Expected integer between 0 and 255 for Weight, got ${weight}`);
      }
      return out;
    },
  },
  {
    id: "aws-route53-alias-target",
    provider: "aws",
    types: [RECORD],
    summary: "An alias to a record in the same zone needs that record to exist first (dependsOn the aliased records)",
    source: "https://docs.aws.amazon.com/Route53/latest/APIReference/API_AliasTarget.html (InvalidChangeBatch: Tried to create an alias … but that target was not found)",
    check(r, plan) {
      const p = inputs(r);
      const out: string[] = [];
      for (const alias of arr(p["aliases"])) {
        const a = obj(alias);
        const name = str(a["name"]);
        if (name === undefined || a["zoneId"] !== p["zoneId"]) continue;
        const targets = plan.ofType(RECORD).filter((t) => t !== r && t.inputs["zoneId"] === p["zoneId"] && sameName(t.inputs["name"], name) && t.inputs["type"] === p["type"]);
        const missing = targets.length === 0 || targets.some((t) => !plan.dependsOn(r, t));
        if (missing)
          out.push(
            `InvalidChangeBatch: [Tried to create an alias that targets ${name.replace(/\.?$/, ".")}, type ${str(p["type"])} in zone ${str(p["zoneId"]) ?? "(zone)"}, but that target was not found]`,
          );
      }
      return out;
    },
  },
  {
    id: "aws-route53-alias-load-balancer-zone",
    provider: "aws",
    types: [RECORD],
    summary: "An alias to a Network Load Balancer names the canonical hosted zone of the load balancer's region (not the record's zone, not another region's)",
    source:
      "https://docs.aws.amazon.com/Route53/latest/APIReference/API_AliasTarget.html (HostedZoneId: the load balancer's CanonicalHostedZoneId; zones per region: https://docs.aws.amazon.com/general/latest/gr/elb.html) — InvalidChangeBatch: … but the alias target name does not lie within the target zone",
    check(r, plan) {
      const p = inputs(r);
      const out: string[] = [];
      for (const alias of arr(p["aliases"])) {
        const a = obj(alias);
        const zoneId = str(a["zoneId"]);
        if (zoneId === undefined) continue;
        const name = str(a["name"]);
        // A name that says which load balancer it is decides; otherwise the Service it came from does.
        const wrong = name !== undefined && loadBalancerName(name) ? wrongLoadBalancerZone(name, zoneId) && name : wrongGatewayZone(r, zoneId, plan);
        if (!wrong) continue;
        out.push(
          `InvalidChangeBatch: [Tried to create an alias that targets ${(name ?? wrong).replace(/\.?$/, ".")}, type ${str(p["type"]) ?? "A"} in zone ${zoneId}, but the alias target name does not lie within the target zone]`,
        );
      }
      return out;
    },
  },
  {
    id: "aws-route53-health-check-interval",
    provider: "aws",
    types: [HEALTH_CHECK],
    summary: "requestInterval is 10 or 30 seconds",
    source: `${TF_AWS}/route53/health_check.go (IntInSlice 10, 30)`,
    check(r) {
      const v = num(inputs(r)["requestInterval"]);
      return v === undefined || v === 10 || v === 30 ? [] : [bridgeProblem(r, "requestInterval", `expected request_interval to be one of [10 30], got ${v}`)];
    },
  },
  {
    id: "aws-route53-health-check-threshold",
    provider: "aws",
    types: [HEALTH_CHECK],
    summary: "failureThreshold is 1 to 10",
    source: `${TF_AWS}/route53/health_check.go (IntBetween 1, 10)`,
    check(r) {
      const v = num(inputs(r)["failureThreshold"]);
      return v === undefined || (v >= 1 && v <= 10) ? [] : [bridgeProblem(r, "failureThreshold", `expected failure_threshold to be in the range (1 - 10), got ${v}`)];
    },
  },
  {
    id: "aws-route53-health-check-regions",
    provider: "aws",
    types: [HEALTH_CHECK],
    summary: "regions, when given, names at least 3 checker regions",
    source: `${TF_AWS}/route53/health_check.go (regions MinItems 3)`,
    check(r) {
      const regions = inputs(r)["regions"];
      if (!Array.isArray(regions) || regions.length === 0 || regions.length >= 3) return [];
      return [bridgeProblem(r, "regions", `Attribute regions requires 3 item minimum, but config has only ${regions.length} declared`)];
    },
  },
  {
    id: "aws-route53-health-check-ip",
    provider: "aws",
    types: [HEALTH_CHECK],
    summary: "ipAddress is an IP address (a hostname goes in fqdn)",
    source: `${TF_AWS}/route53/health_check.go (ip_address IsIPAddress)`,
    check(r) {
      const v = str(inputs(r)["ipAddress"]);
      return v === undefined || ip.any(v) ? [] : [bridgeProblem(r, "ipAddress", `expected ip_address to contain a valid IP, got: ${v}`)];
    },
  },
  {
    id: "aws-route53-health-check-sni",
    provider: "aws",
    types: [HEALTH_CHECK],
    summary: "An HTTPS check probing an IP address sends the gateway's name as Host and SNI: fqdn set, enableSni true",
    source: "https://docs.aws.amazon.com/Route53/latest/APIReference/API_HealthCheckConfig.html (FullyQualifiedDomainName / EnableSNI)",
    check(r) {
      const p = inputs(r);
      const type = str(p["type"]);
      if (p["ipAddress"] === undefined || (type !== "HTTPS" && type !== "HTTPS_STR_MATCH" && type !== "HTTP" && type !== "HTTP_STR_MATCH")) return [];
      const out: string[] = [];
      if (p["fqdn"] === undefined)
        out.push("With only IPAddress, Route 53 sends the IP address in the Host header; the gateway routes by host name, so the check fails (set FullyQualifiedDomainName)");
      if (type.startsWith("HTTPS") && p["enableSni"] !== true)
        out.push("EnableSNI is false: Route 53 sends no server name in the TLS handshake, so the endpoint may answer with a certificate for another name");
      return out;
    },
  },
  {
    id: "aws-load-balancer-eip-allocations",
    provider: "aws",
    types: ["kubernetes:core/v1:Service"],
    summary: "A network load balancer with Elastic IPs names exactly one allocation per subnet (AWS Load Balancer Controller)",
    source:
      "https://github.com/kubernetes-sigs/aws-load-balancer-controller/blob/main/pkg/service/model_build_load_balancer.go; https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/guide/service/annotations/#eip-allocations",
    check(r) {
      const a = obj(obj(inputs(r)["metadata"])["annotations"]);
      const eips = str(a["service.beta.kubernetes.io/aws-load-balancer-eip-allocations"]);
      if (eips === undefined) return [];
      const subnets = str(a["service.beta.kubernetes.io/aws-load-balancer-subnets"]);
      const n = eips.split(",").filter(Boolean).length;
      if (subnets === undefined)
        return [`EIP allocations can only be set with explicit subnets (service.beta.kubernetes.io/aws-load-balancer-subnets); count of EIP allocations (${n}) and subnets (0) must match`];
      const m = subnets.split(",").filter(Boolean).length;
      const internal = a["service.beta.kubernetes.io/aws-load-balancer-scheme"] !== "internet-facing";
      const out: string[] = [];
      if (n !== m) out.push(`count of EIP allocations (${n}) and subnets (${m}) must match`);
      if (internal) out.push("EIP allocations can only be set for internet facing load balancers");
      return out;
    },
  },
  ...elasticacheRules,
];

/** The member of a global cluster that creates it: the one with master credentials that waits on no other member. */
function primaryOf(global: RecordedResource, plan: PlanView): RecordedResource | undefined {
  const members = plan.ofType(CLUSTER).filter((c) => globalOf(c, plan) === global);
  const credentialed = members.filter((c) => inputs(c)["masterPassword"] !== undefined || inputs(c)["manageMasterUserPassword"] === true || inputs(c)["masterPasswordWo"] !== undefined);
  const pool = credentialed.length > 0 ? credentialed : members.filter((c) => inputs(c)["masterUsername"] !== undefined);
  return pool.find((c) => !pool.some((o) => o !== c && plan.dependsOn(c, o))) ?? pool[0];
}

const ROUTING_POLICIES: Record<string, string> = {
  weightedRoutingPolicies: "weighted_routing_policy",
  latencyRoutingPolicies: "latency_routing_policy",
  geolocationRoutingPolicies: "geolocation_routing_policy",
  failoverRoutingPolicies: "failover_routing_policy",
  geoproximityRoutingPolicy: "geoproximity_routing_policy",
};

function sameName(a: unknown, b: string): boolean {
  return typeof a === "string" && a.replace(/\.$/, "").toLowerCase() === b.replace(/\.$/, "").toLowerCase();
}

/**
 * Whether an alias to an ELB name carries a zone the name does not lie in. A Network Load Balancer's DNS
 * name is `<name>-<id>.elb.<region>.amazonaws.com` and lies only in that region's NLB zone (a region not
 * tabled in model/traffic/load-balancers.ts is not judged); an Application/Classic Load Balancer's
 * (`<name>-<id>.<region>.elb.amazonaws.com`) lies in its own per-region zone, never an NLB zone. Other
 * names (a record in a hosted zone, the mocks' region-less stand-ins) are not judged here.
 */
function wrongLoadBalancerZone(name: string, zoneId: string): boolean {
  const host = name
    .replace(/\.$/, "")
    .toLowerCase()
    .replace(/^dualstack\./, "");
  const nlb = /\.elb\.([a-z0-9-]+)\.amazonaws\.com$/.exec(host);
  if (nlb) {
    const expected = nlbHostedZoneId(nlb[1]!);
    return expected !== undefined && expected !== zoneId;
  }
  if (/\.[a-z0-9-]+\.elb\.amazonaws\.com$/.test(host)) return Object.values(NLB_CANONICAL_HOSTED_ZONES).includes(zoneId);
  return false;
}

/** An ELB DNS name that names its region: NLB `….elb.<region>.amazonaws.com`, ALB/CLB `….<region>.elb.amazonaws.com`. */
function loadBalancerName(name: string): boolean {
  return /\.elb\.[a-z0-9-]+\.amazonaws\.com\.?$|\.[a-z0-9-]+\.elb\.amazonaws\.com\.?$/i.test(name);
}

/**
 * An alias whose name the plan cannot read (unknown until the load balancer exists, or a region-less
 * stand-in) but that comes from a LoadBalancer Service bound to Elastic IPs: the load balancer lives in
 * the Elastic IPs' region, so its name lies in that region's NLB zone. Returns a description of the load
 * balancer when the zone is another one, else undefined.
 */
function wrongGatewayZone(record: RecordedResource, zoneId: string, plan: PlanView): string | undefined {
  for (const dep of record.dependencies) {
    const service = plan.byUrn.get(dep);
    if (service?.type !== "kubernetes:core/v1:Service") continue;
    const regions = new Set(
      service.dependencies
        .map((u) => plan.byUrn.get(u))
        .filter((e) => e?.type === "aws:ec2/eip:Eip")
        .map((e) => str(inputs(e!)["region"]))
        .filter((x): x is string => x !== undefined),
    );
    for (const region of regions) {
      const expected = nlbHostedZoneId(region);
      if (expected !== undefined && expected !== zoneId) return `the load balancer of Service ${service.name} (${region})`;
    }
  }
  return undefined;
}
