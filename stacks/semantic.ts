/**
 * Checks that need the parsed spec and a model's rules, run at load time so their mistakes are reported
 * like every other config problem (file, key, value, expectation) before the program registers anything:
 * the DNS-01 solver settings the zone's provider needs, a time hierarchy every region can satisfy,
 * health checks aimed at what the regional gateway serves, address records that hold addresses (never a
 * load balancer's name), an alias target zone for every AWS region's gateway load balancer, and a multi-cluster
 * mesh every region can join (its API server for the peers' istiod, a network of its own).
 */
import { isIPv4, isIPv6 } from "node:net";
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { buildEstateSpec, GATEWAY, type EstateSpec } from "../model/estate.js";
import { MANAGED_CLUSTER_DEFAULTS } from "../model/config/runtime.js";
import { managedClusterCloud, standbyClusterPathProblem } from "../model/workloads/ratelimit-config.js";
import { regionWorkloads } from "../model/workloads/spec.js";
import { nlbHostedZoneId, NLB_CANONICAL_HOSTED_ZONES } from "../model/traffic/load-balancers.js";
import { PkiConfigError, dns01Solver } from "../model/rotation/issuers.js";
import { TimeHierarchyError, timeHierarchy } from "../model/time/hierarchy.js";
import { vpnProblems } from "../model/network/vpn.js";
import { multiPrimaryProblems } from "../model/mesh/multi-primary.js";
import { knownImageReferences, requiredImageDigests } from "../model/images/charts.js";
import type { ConfigProblem } from "../model/config/errors.js";
import type { EstateConfig } from "../model/config/index.js";

export function semanticProblems(config: EstateConfig): ConfigProblem[] {
  const spec = buildEstateSpec("(validation)", config);
  const problems: ConfigProblem[] = [];
  try {
    dns01Solver(spec);
  } catch (err) {
    if (!(err instanceof PkiConfigError)) throw err;
    problems.push({ keyPath: err.keyPath, value: "(missing)", expected: err.expected });
  }
  try {
    timeHierarchy(spec);
  } catch (err) {
    if (!(err instanceof TimeHierarchyError)) throw err;
    for (const line of err.message.split("\n"))
      problems.push({
        keyPath: "meridian:time",
        value: JSON.stringify({ leapSmear: config.time.leapSmear, grandmaster: config.time.grandmaster.enabled, references: config.time.references.map((r) => r.server) }),
        expected: line,
      });
  }
  problems.push(...healthCheckProblems(config));
  problems.push(...addressRecordProblems(config));
  problems.push(...loadBalancerAliasProblems(config));
  problems.push(...vpnProblems(spec));
  problems.push(...multiPrimaryProblems(config));
  problems.push(...imageDigestProblems(config));
  problems.push(...deployedWitnessProblems(config));
  problems.push(...witnessGroupKeyProblems(config));
  problems.push(...allocatorClusterProblems(spec));
  return problems;
}

/**
 * A managed allocator cluster is built on the ledger region's cloud, from that cloud's settings: settings given for
 * another cloud would be silently unused (a stack meaning a GCP cluster would get AWS defaults), so they are refused.
 */
function allocatorClusterProblems(spec: EstateSpec): ConfigProblem[] {
  const managed = spec.runtime.ratelimit.allocatorRedisCluster?.managed;
  if (!managed) return [];
  const cloud = managedClusterCloud(spec);
  const settings = (["aws", "gcp", "azure"] as const)
    .filter((c) => c !== cloud && JSON.stringify(managed[c]) !== JSON.stringify(MANAGED_CLUSTER_DEFAULTS[c]))
    .map((c) => ({
      keyPath: `meridian:runtime.ratelimit.allocatorRedisCluster.managed.${c}`,
      value: JSON.stringify(managed[c]),
      expected: `settings for ${cloud} only: the cluster is built where the allocator runs, the ledger region ${spec.replication.writers[0]} (${cloud})`,
    }));
  // Every region rendering the allocator's Deployment at 0 replicas is a standby a failover scales up onto this cluster.
  const standbys = spec.regions.filter((r) => regionWorkloads(spec, r.id).some((w) => w.service.name === "allocator" && w.replicas === 0));
  const paths = standbys.flatMap((r) => {
    const why = standbyClusterPathProblem(spec, r.id);
    return why ? [{ keyPath: "meridian:runtime.ratelimit.allocatorRedisCluster.managed", value: JSON.stringify(r.id), expected: why }] : [];
  });
  return [...settings, ...paths];
}

/** A witness the estate deploys runs in one of the stack's regions (its workload is rendered there). */
function deployedWitnessProblems(config: EstateConfig): ConfigProblem[] {
  const regions = config.regions.map((r) => r.id);
  return config.runtime.prooflog.witnesses.flatMap((w, i) =>
    typeof w !== "string" && "region" in w && !regions.includes(w.region)
      ? [{ keyPath: `meridian:runtime.prooflog.witnesses[${i}].region`, value: w.region, expected: `one of the stack's regions (${regions.join(", ")})` }]
      : [],
  );
}

/**
 * The witnesses' group keys (the group in force and a `next` one) are BLS12-381 G2 points: 192 hex digits that do not
 * decode to a point on the curve's subgroup would only be refused when a witness or the issuer starts.
 */
function witnessGroupKeyProblems(config: EstateConfig): ConfigProblem[] {
  const t = config.runtime.prooflog.witnessThreshold;
  if (!t) return [];
  const groups = [["group", t.group] as const, ...(t.next ? [["next", t.next] as const] : [])];
  return groups.flatMap(([key, g]) =>
    g.commitments.flatMap((hex, i) => {
      try {
        bls12_381.G2.Point.fromHex(hex).assertValidity();
        return [];
      } catch (e) {
        return [{ keyPath: `meridian:runtime.prooflog.witnessThreshold.${key}.commitments[${i}]`, value: `${hex.slice(0, 16)}…`, expected: `a BLS12-381 G2 point (${(e as Error).message})` }];
      }
    }),
  );
}

/**
 * Outside `local` every chart image runs by digest: the stack names one for each image without a vendored
 * digest. A key the catalogue does not know is refused too (a typo, or a tag left behind by a chart bump).
 */
function imageDigestProblems(config: EstateConfig): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const known = knownImageReferences();
  for (const [reference, digest] of Object.entries(config.imageDigests)) {
    if (!known.has(reference)) out.push({ keyPath: `meridian:imageDigests["${reference}"]`, value: digest, expected: `one of the images the pinned charts run: ${[...known].sort().join(", ")}` });
  }
  if (config.environment === "local") return out;
  for (const reference of requiredImageDigests()) {
    if (config.imageDigests[reference] !== undefined) continue;
    out.push({
      keyPath: `meridian:imageDigests["${reference}"]`,
      value: "(missing)",
      expected: `the digest of ${reference}, which a chart would otherwise run by tag: \`crane digest ${reference}\` (or \`skopeo inspect --format '{{.Digest}}' docker://${reference}\`) prints it, and \`meridian images resolve --stack <name> --write\` sets every missing one (docs/deploy.md)`,
    });
  }
  return out;
}

/**
 * The DNS providers' checks reach each region through its gateway, which serves HTTPS on GATEWAY.port only
 * (components/workloads/gateway-manifests.ts). A check on another port or over plain HTTP fails in every
 * region, and the providers then fail open: no failover. `meridian local` serves its own checks.
 */
function healthCheckProblems(config: EstateConfig): ConfigProblem[] {
  const hc = config.dns.healthCheck;
  if (config.environment === "local" || (hc.port === GATEWAY.port && hc.protocol !== "HTTP")) return [];
  return [
    {
      keyPath: "meridian:dns.healthCheck",
      value: JSON.stringify({ protocol: hc.protocol, port: hc.port }),
      expected: `HTTPS (or TCP) on port ${GATEWAY.port}: the regional gateway serves only HTTPS there, so this check would fail in every region and every provider would fail open`,
    },
  ];
}

/**
 * Static A/AAAA records hold addresses. An AWS load balancer publishes a name whose addresses change, so a
 * record that points at one is a CNAME (or, at the apex on Route 53, an alias): every DNS provider would
 * refuse the name in an A record, and an address copied from it goes stale.
 */
function addressRecordProblems(config: EstateConfig): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  config.dns.records.forEach((r, i) => {
    if (r.type !== "A" && r.type !== "AAAA") return;
    const valid = r.type === "A" ? isIPv4 : isIPv6;
    r.values.forEach((v, j) => {
      if (valid(v)) return;
      const lb = /\.elb\.([a-z0-9-]+\.)?amazonaws\.com\.?$/.test(v) ? " This is an AWS load balancer's name: point at it with a CNAME (an alias on Route 53), never with its current addresses" : "";
      out.push({ keyPath: `meridian:dns.records[${i}].values[${j}]`, value: v, expected: `an ${r.type === "A" ? "IPv4" : "IPv6"} address: ${r.type} records hold addresses only.${lb}` });
    });
  });
  return out;
}

/**
 * Route 53 answers for an AWS region with an alias to its gateway's Network Load Balancer, which needs
 * the NLB's canonical hosted zone for the region (model/traffic/load-balancers.ts).
 */
function loadBalancerAliasProblems(config: EstateConfig): ConfigProblem[] {
  const p = config.dns.providers;
  const route53 = [p.primary, p.secondary, p.tertiary, ...p.standbys].includes("route53");
  if (!route53 || config.environment === "local") return [];
  return config.regions
    .map((r, i) => ({ r, i }))
    .filter(({ r }) => r.cloud === "aws" && nlbHostedZoneId(r.region) === undefined)
    .map(({ r, i }) => ({
      keyPath: `meridian:regions[${i}].region`,
      value: r.region,
      expected: `an AWS region with a known Network Load Balancer hosted zone for Route 53 alias records (${Object.keys(NLB_CANONICAL_HOSTED_ZONES).join(", ")}); add the region's zone from https://docs.aws.amazon.com/general/latest/gr/elb.html to model/traffic/load-balancers.ts`,
    }));
}
