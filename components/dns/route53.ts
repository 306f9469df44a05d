/**
 * Route 53: one health check per region and signal, CALCULATED parents that turn the signals into the
 * model's serving / healthy states, and records for each routing mode. Degraded weighting is exact: a
 * region's weighted entry is split into a "full" record (healthy − degraded weight, on the healthy
 * parent) and a "base" record (degraded weight, on the serving parent), so the weights Route 53 serves
 * in each state are the model's. Multi-level modes (geo groups, failover chains) use alias records to
 * record sets under `gslb.<host>`, with evaluateTargetHealth so an all-down group falls through. Latency
 * is latency records on an all-AWS estate, geoproximity on the regions' coordinates otherwise. An AWS
 * region's own record is an alias to its gateway's load balancer (an NLB publishes a name, not addresses);
 * the health checks still probe the NLB's Elastic IP with the service's Host header and SNI. A drained
 * region (`meridian:dns.drained`) keeps its health checks but has no record: Route 53 cannot answer with it.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { checkerLocations, ROUTE53_CONTINENT, route53LatencyRegion } from "../../model/traffic/geo.js";
import { answeringTargets, weightSplit, type RegionTarget, type TrafficPolicy } from "../../model/traffic/policy.js";
import type { ZoneRecord } from "../../model/traffic/records.js";
import { recordSlug } from "../../model/traffic/records.js";
import { dsRdata } from "../../model/traffic/dnssec.js";
import { APEX_NS_TTL_SECONDS, recordOf, rememberRecord, track } from "./backend.js";
import type { DnsBackend, TrafficRender, ZoneHandle } from "./backend.js";

interface RegionChecks {
  signals: aws.route53.HealthCheck[];
  /** Healthy while any signal passes (the region is serving). */
  serving: pulumi.Output<string>;
  /** Healthy while the region is healthy (not degraded). */
  full: pulumi.Output<string>;
}

function healthChecks(parent: pulumi.Resource, policy: TrafficPolicy, target: RegionTarget, endpoint: pulumi.Output<string>): RegionChecks {
  const hc = policy.healthCheck;
  const opts = { parent };
  const signals = policy.signals.map((signal) =>
    track(
      new aws.route53.HealthCheck(
        `route53-hc-${target.id}-${signal.name}`,
        {
          type: hc.protocol,
          // The gateway's static address, probed with the service's name as Host header and TLS SNI
          // (the gateway routes by host name; an IP in the Host header matches no route).
          ipAddress: endpoint,
          fqdn: hc.protocol === "TCP" ? undefined : policy.fqdn,
          port: hc.port,
          resourcePath: hc.protocol === "TCP" ? undefined : signal.path,
          enableSni: hc.protocol === "HTTPS" ? true : undefined,
          requestInterval: hc.intervalSeconds,
          failureThreshold: hc.failureThreshold,
          regions: checkerLocations("route53", policy.checkerContinents),
          tags: { Name: `${policy.fqdn} ${target.id} ${signal.name}`, "meridian:region": target.id },
        },
        opts,
      ),
    ),
  );
  if (signals.length === 1) return { signals, serving: signals[0]!.id, full: signals[0]!.id };
  const calculated = (kind: "serving" | "full", threshold: number) =>
    track(
      new aws.route53.HealthCheck(
        `route53-hc-${target.id}-${kind}`,
        {
          type: "CALCULATED",
          childHealthchecks: signals.map((s) => s.id),
          childHealthThreshold: threshold,
          tags: { Name: `${policy.fqdn} ${target.id} ${kind}`, "meridian:region": target.id },
        },
        opts,
      ),
    ).id;
  return { signals, serving: calculated("serving", 1), full: calculated("full", policy.fullHealthThreshold) };
}

/**
 * The KMS key policy Route 53 DNSSEC needs: the account administers the key, and the Route 53 DNSSEC service may
 * read its public key and sign with it for this account's hosted zones only (the confused-deputy conditions).
 */
export function kskKeyPolicy(accountId: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Sid: "Enable IAM User Permissions", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${accountId}:root` }, Action: "kms:*", Resource: "*" },
      {
        Sid: "Allow Route 53 DNSSEC Service",
        Effect: "Allow",
        Principal: { Service: "dnssec-route53.amazonaws.com" },
        Action: ["kms:DescribeKey", "kms:GetPublicKey", "kms:Sign"],
        Resource: "*",
        Condition: { StringEquals: { "aws:SourceAccount": accountId }, ArnLike: { "aws:SourceArn": "arn:aws:route53:::hostedzone/*" } },
      },
      {
        Sid: "Allow Route 53 DNSSEC to CreateGrant",
        Effect: "Allow",
        Principal: { Service: "dnssec-route53.amazonaws.com" },
        Action: "kms:CreateGrant",
        Resource: "*",
        Condition: { Bool: { "kms:GrantIsForAWSResource": true } },
      },
    ],
  });
}

export const route53: DnsBackend = {
  zone(parent, policy): ZoneHandle {
    const zone = track(new aws.route53.Zone("route53-zone", { name: policy.apex, comment: `Meridian ${policy.stack}: apex zone` }, { parent }));
    // The zone resource id is the hosted zone id.
    return { zoneRef: zone.id, nameServers: zone.nameServers };
  },

  apexNameServers(parent, zone, policy, all) {
    // Route 53 creates the apex NS set with its own four; overwrite it with the hierarchy's (its own included).
    const records = pulumi.all(Object.values(all)).apply((sets) => [...new Set(sets.flat())]);
    track(new aws.route53.Record("route53-apex-ns", { zoneId: zone.zoneRef, name: policy.apex, type: "NS", ttl: APEX_NS_TTL_SECONDS, records, allowOverwrite: true }, { parent }));
  },

  dnssec(parent, zone, policy) {
    // The KSK's key lives in KMS: customer managed, asymmetric ECC_NIST_P256 for SIGN_VERIFY, in us-east-1 (Route 53
    // is global and reads KSK keys only there). Route 53 creates and rotates the ZSK itself.
    const account = aws.getCallerIdentityOutput({}, { parent });
    // One KMS key and KSK per generation: two while a rollover is under way (docs/dns.md#key-rollover).
    const ksks = policy.keySigningKeys.map((generation) => {
      const suffix = generation === 1 ? "" : `-${generation}`;
      const key = track(
        new aws.kms.Key(
          `route53-ksk-key${suffix}`,
          {
            description: `Meridian ${policy.stack}: Route 53 DNSSEC key-signing key ${generation} for ${policy.apex}`,
            customerMasterKeySpec: "ECC_NIST_P256",
            keyUsage: "SIGN_VERIFY",
            region: "us-east-1",
            deletionWindowInDays: 30,
            policy: account.accountId.apply(kskKeyPolicy),
          },
          { parent },
        ),
      );
      const name = `${policy.stack.replace(/[^A-Za-z0-9]/g, "_")}_ksk_${generation}`;
      return track(new aws.route53.KeySigningKey(`route53-ksk${suffix}`, { hostedZoneId: zone.zoneRef, keyManagementServiceArn: key.arn, name, status: "ACTIVE" }, { parent }));
    });
    // Signing starts once the KSKs are active (the provider's documented order).
    track(new aws.route53.HostedZoneDnsSec("route53-dnssec", { hostedZoneId: zone.zoneRef, signingStatus: "SIGNING" }, { parent, dependsOn: ksks }));
    return pulumi.all(ksks.map((k) => k.dsRecord)).apply((ds) => ds.map(dsRdata));
  },

  record(parent, zone, _policy, record: ZoneRecord) {
    if (record.type === "ALIAS") {
      // An alias to the target's A/AAAA record sets in this zone (the capability matrix allows no other target):
      // Route 53 answers the apex with their addresses; no TTL of its own.
      const target = record.rdata[0]!;
      for (const type of ["A", "AAAA"]) {
        const set = recordOf(zone, target, type);
        if (set === undefined) continue;
        const args = { zoneId: zone.zoneRef, name: record.fqdn, type, aliases: [{ name: target.replace(/\.$/, ""), zoneId: zone.zoneRef, evaluateTargetHealth: false }] };
        track(new aws.route53.Record(`route53-apex-alias-${type.toLowerCase()}`, args, { parent, dependsOn: [set] }));
      }
      return;
    }
    // Route 53 takes zone-file rdata (names with or without the dot); the provider quotes TXT itself.
    const records = ["A", "AAAA", "CNAME", "TXT", "MX", "CAA"].includes(record.type) ? record.values : record.rdata;
    const created = track(new aws.route53.Record(`route53-${recordSlug(record)}`, { zoneId: zone.zoneRef, name: record.fqdn, type: record.type, ttl: record.ttlSeconds, records }, { parent }));
    rememberRecord(zone, record.fqdn, record.type, created);
  },

  traffic(parent, zone, policy, endpoints, aliases = {}): TrafficRender {
    const opts = { parent };
    const checks = new Map(policy.targets.map((t) => [t.id, healthChecks(parent, policy, t, endpoints[t.id]!)]));
    const base = { zoneId: zone.zoneRef, type: "A" };
    // An AWS region's gateway is an NLB: an alias to its DNS name in the NLB's canonical zone (no TTL: Route 53
    // answers with the NLB's own); elsewhere the gateway's static IP.
    const address = (t: RegionTarget): Omit<aws.route53.RecordArgs, "name"> => {
      const lb = aliases[t.id];
      if (lb !== undefined) return { ...base, aliases: [{ name: lb.name, zoneId: lb.zoneId, evaluateTargetHealth: true }] };
      return { ...base, ttl: policy.ttlSeconds, records: [endpoints[t.id]!] };
    };
    // Drained regions get no record in any set; their health checks stay, so a restore is immediate.
    const targets = answeringTargets(policy);
    const setName = (label: string) => `${label}.gslb.${policy.fqdn}`;
    const alias = (name: string) => ({ ...base, aliases: [{ name, zoneId: zone.zoneRef, evaluateTargetHealth: true }] });
    // Route 53 refuses an alias to a record set that does not exist yet: aliases wait for their targets.
    const sets = new Map<string, aws.route53.Record[]>();
    const record = (name: string, args: aws.route53.RecordArgs, target?: string) => {
      const created = track(new aws.route53.Record(name, args, target === undefined ? opts : { ...opts, dependsOn: sets.get(target) ?? [] }));
      const key = String(args.name);
      sets.set(key, [...(sets.get(key) ?? []), created]);
      return created;
    };

    /** A weighted record set at `name` over `targets`, degraded weighting split as described above. */
    const weightedSet = (label: string, name: string, targets: readonly RegionTarget[]) => {
      for (const t of targets) {
        const c = checks.get(t.id)!;
        const split = weightSplit(t);
        const parts =
          policy.signals.length > 1 && split.full > 0 && split.base > 0
            ? [
                { id: `${t.id}-full`, weight: split.full, check: c.full },
                { id: `${t.id}-base`, weight: split.base, check: c.serving },
              ]
            : [{ id: t.id, weight: t.weights.healthy, check: split.base > 0 ? c.serving : c.full }];
        for (const part of parts) {
          record(`route53-${label}-${part.id}`, { ...address(t), name, setIdentifier: part.id, healthCheckId: part.check, weightedRoutingPolicies: [{ weight: part.weight }] });
        }
      }
    };

    switch (policy.mode) {
      case "weighted":
        weightedSet("weighted", policy.fqdn, targets);
        break;
      case "latency": {
        // All regions on AWS: latency records, measured by AWS. Otherwise latency records would have to
        // name a stand-in AWS region; geoproximity on the regions' own coordinates (bias 0) answers the
        // nearest serving region, exactly the model's latency proxy.
        const allOnAws = policy.targets.every((t) => t.cloud === "aws");
        for (const t of targets) {
          const routing = allOnAws
            ? { latencyRoutingPolicies: [{ region: route53LatencyRegion({ cloud: t.cloud, region: t.cloudRegion, location: t.location }) }] }
            : { geoproximityRoutingPolicy: { coordinates: [{ latitude: t.location.lat.toFixed(2), longitude: t.location.lon.toFixed(2) }], bias: 0 } };
          record(`route53-latency-${t.id}`, { ...address(t), name: policy.fqdn, setIdentifier: t.id, healthCheckId: checks.get(t.id)!.serving, ...routing });
        }
        break;
      }
      case "geo": {
        weightedSet("geo-all", setName("all"), targets);
        // A continent whose own regions are all drained answers from every region, as the model's answer does.
        const owned = policy.geoGroups.filter((g) => !g.borrowed && targets.some((t) => g.regionIds.includes(t.id)));
        for (const g of owned)
          weightedSet(
            `geo-${g.continent}`,
            setName(g.continent),
            targets.filter((t) => g.regionIds.includes(t.id)),
          );
        for (const g of policy.geoGroups) {
          const owner = owned.find((o) => o.regionIds.join() === g.regionIds.join());
          const set = setName(owner?.continent ?? "all");
          const code = ROUTE53_CONTINENT[g.continent];
          record(`route53-geo-${g.continent}`, { ...alias(set), name: policy.fqdn, setIdentifier: `continent-${code}`, geolocationRoutingPolicies: [{ continent: code }] }, set);
        }
        record("route53-geo-default", { ...alias(setName("all")), name: policy.fqdn, setIdentifier: "default", geolocationRoutingPolicies: [{ country: "*" }] }, setName("all"));
        break;
      }
      case "failover": {
        const t = targets;
        if (t.length === 1) {
          record("route53-failover-only", { ...address(t[0]!), name: policy.fqdn });
          break;
        }
        // Route 53 failover has two slots; a longer order chains: each SECONDARY aliases the next level,
        // so levels are built from the last one up (an alias needs its target to exist).
        for (let i = t.length - 2; i >= 0; i -= 1) {
          const name = i === 0 ? policy.fqdn : setName(`failover-${i}`);
          const primary = t[i]!;
          record(`route53-failover-${i}-primary`, {
            ...address(primary),
            name,
            setIdentifier: `${primary.id}-primary`,
            healthCheckId: checks.get(primary.id)!.serving,
            failoverRoutingPolicies: [{ type: "PRIMARY" }],
          });
          const last = i === t.length - 2;
          const next = t[i + 1]!;
          const secondary = last ? { ...address(next), healthCheckId: checks.get(next.id)!.serving } : alias(setName(`failover-${i + 1}`));
          record(
            `route53-failover-${i}-secondary`,
            { ...secondary, name, setIdentifier: last ? `${next.id}-secondary` : `failover-${i + 1}`, failoverRoutingPolicies: [{ type: "SECONDARY" }] },
            last ? undefined : setName(`failover-${i + 1}`),
          );
        }
        break;
      }
      case "anycast":
        throw new Error("route53 cannot route anycast (rejected by the capability matrix at config time)");
    }
    return {
      checks: Object.fromEntries([...checks].map(([id, c]) => [id, c.signals.map((s) => s.id)])),
      entryPoint: pulumi.output(policy.fqdn),
    };
  },
};
