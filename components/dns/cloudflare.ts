/**
 * Cloudflare: the zone, one monitor carrying the model's health numbers, pools whose origins are the
 * regions' gateways at the model's weights, and a load balancer on the host with the steering of the
 * mode: one pool of every region (weighted, and anycast when proxied); a pool per continent group then
 * every region (`geo` region pools); a pool per region (`dynamic_latency`, or `off` = failover order).
 * Proxied (anycast) load balancers fail over at the edge: no client TTL to wait out. A drained region
 * (`meridian:dns.drained`) is an origin with `enabled: false`; a pool left with no enabled origin is
 * disabled and leaves the default pools.
 */
import * as cloudflareSdk from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import { checkerLocations, CLOUDFLARE_REGIONS } from "../../model/traffic/geo.js";
import type { RegionTarget, TrafficPolicy } from "../../model/traffic/policy.js";
import { dsRdata } from "../../model/traffic/dnssec.js";
import { rdataFields, recordSlug } from "../../model/traffic/records.js";
import { APEX_NS_TTL_SECONDS, NAMESERVER_COUNT, track } from "./backend.js";
import type { DnsBackend, TrafficRender, ZoneHandle } from "./backend.js";

const STRUCTURED = new Set(["SRV", "TLSA", "SSHFP", "DS", "HTTPS", "SVCB"]);

/** Cloudflare's `data` object for the types it takes field by field (its API schema's DnsRecordData). */
function structuredData(type: string, rdata: string): Pick<cloudflareSdk.DnsRecordArgs, "data" | "priority"> {
  const f = rdataFields(rdata);
  const n = (i: number) => Number(f[i]);
  switch (type) {
    case "SRV":
      return { data: { priority: n(0), weight: n(1), port: n(2), target: f[3]!.replace(/\.$/, "") } };
    case "TLSA":
      return { data: { usage: n(0), selector: n(1), matchingType: n(2), certificate: f[3]! } };
    case "SSHFP":
      return { data: { algorithm: n(0), type: n(1), fingerprint: f[2]! } };
    case "DS":
      return { data: { keyTag: n(0), algorithm: n(1), digestType: n(2), digest: f[3]! } };
    default:
      // HTTPS / SVCB: priority, target, and the SvcParams in presentation form.
      return { data: { priority: n(0), target: f[1]!, value: f.slice(2).join(" ") } };
  }
}

function accountId(policy: TrafficPolicy): string {
  if (policy.cloudflareAccountId === undefined) throw new Error("meridian:dns.cloudflare.accountId is required when Cloudflare serves the zone");
  return policy.cloudflareAccountId;
}

export const cloudflare: DnsBackend = {
  zone(parent, policy): ZoneHandle {
    const zone = track(new cloudflareSdk.Zone("cloudflare-zone", { account: { id: accountId(policy) }, name: policy.apex, type: "full" }, { parent }));
    return { zoneRef: zone.id, nameServers: zone.nameServers };
  },

  apexNameServers(parent, zone, policy, all) {
    // A full zone with multi-provider DNS: Cloudflare activates it although the registrar's NS set names other
    // providers, and serves the apex NS records added here besides its own (one record per name; each
    // provider assigns a documented number of nameservers).
    track(new cloudflareSdk.ZoneDnsSettings("cloudflare-dns-settings", { zoneId: zone.zoneRef, multiProvider: true }, { parent }));
    for (const [provider, names] of Object.entries(all)) {
      if (provider === "cloudflare") continue;
      for (let i = 0; i < NAMESERVER_COUNT[provider]!; i += 1) {
        track(
          new cloudflareSdk.DnsRecord(
            `cloudflare-apex-ns-${provider}-${i}`,
            { zoneId: zone.zoneRef, name: policy.apex, type: "NS", ttl: APEX_NS_TTL_SECONDS, proxied: false, content: names.apply((n) => (n[i] ?? "").replace(/\.$/, "")) },
            { parent },
          ),
        );
      }
    }
  },

  dnssec(parent, zone) {
    // Single signer: the capability matrix refuses a signed hierarchy with providers that cannot import Cloudflare's
    // ZSK, and no other provider here can (dnssecMultiSigner would let Cloudflare publish theirs).
    const dnssec = track(new cloudflareSdk.ZoneDnssec("cloudflare-dnssec", { zoneId: zone.zoneRef, status: "active", dnssecUseNsec3: true }, { parent }));
    return dnssec.ds.apply((ds) => (ds ? [dsRdata(ds)] : []));
  },

  record(parent, zone, _policy, record) {
    // Cloudflare keeps one record per value.
    record.values.forEach((value, i) => {
      const args: cloudflareSdk.DnsRecordArgs = { zoneId: zone.zoneRef, name: record.fqdn, type: record.type, ttl: record.ttlSeconds, proxied: false };
      if (record.type === "MX") Object.assign(args, { content: record.mx[i]!.exchange, priority: record.mx[i]!.preference });
      else if (record.type === "CAA") Object.assign(args, { data: record.caa[i] });
      else if (STRUCTURED.has(record.type)) Object.assign(args, structuredData(record.type, record.rdata[i]!));
      else if (record.type === "NS" || record.type === "PTR") Object.assign(args, { content: record.rdata[i]!.replace(/\.$/, "") });
      // ALIAS: a CNAME at the apex, which Cloudflare flattens (answers with the target's addresses).
      else if (record.type === "ALIAS") Object.assign(args, { type: "CNAME", content: record.rdata[i]!.replace(/\.$/, "") });
      else Object.assign(args, { content: value });
      track(new cloudflareSdk.DnsRecord(`cloudflare-${recordSlug(record)}-${i}`, args, { parent }));
    });
  },

  traffic(parent, zone, policy, endpoints): TrafficRender {
    const opts = { parent };
    const account = accountId(policy);
    const hc = policy.healthCheck;
    const monitor = track(
      new cloudflareSdk.LoadBalancerMonitor(
        "cloudflare-monitor",
        {
          accountId: account,
          description: `Meridian ${policy.stack}: ${policy.fqdn} serving check`,
          type: hc.protocol.toLowerCase(),
          method: hc.protocol === "TCP" ? "connection_established" : "GET",
          path: hc.protocol === "TCP" ? undefined : hc.path,
          port: hc.port,
          expectedCodes: hc.protocol === "TCP" ? undefined : "2xx",
          // Origins are the gateways' IPs: the Host header (also the SNI Cloudflare sends) names the service.
          header: hc.protocol === "TCP" ? undefined : { Host: [policy.fqdn] },
          interval: hc.intervalSeconds,
          timeout: hc.timeoutSeconds,
          // Retries happen inside one probe; the threshold is counted by consecutiveDown, as the model does.
          retries: 0,
          consecutiveDown: hc.failureThreshold,
          consecutiveUp: hc.failureThreshold,
        },
        opts,
      ),
    );
    const regions = checkerLocations("cloudflare", policy.checkerContinents);
    // Origin weights are 0-1: the model's healthy weights scaled by the largest.
    const maxWeight = Math.max(1, ...policy.targets.map((t) => t.weights.healthy));
    /** A pool of regions, one origin each at its model weight, spread by origin weight (random steering). */
    const drained = (t: RegionTarget) => policy.drained.includes(t.id);
    const pool = (label: string, targets: readonly RegionTarget[]) =>
      track(
        new cloudflareSdk.LoadBalancerPool(
          `cloudflare-pool-${label}`,
          {
            accountId: account,
            name: `${policy.stack}-${label}`,
            origins: targets.map((t) => ({ name: t.id, address: endpoints[t.id]!, weight: t.weights.healthy / maxWeight, enabled: !drained(t) })),
            enabled: !targets.every(drained),
            originSteering: { policy: "random" },
            monitor: monitor.id,
            minimumOrigins: 1,
            // Coordinates matter to proximity steering, which pools of one region serve.
            ...(targets.length === 1 ? { latitude: targets[0]!.location.lat, longitude: targets[0]!.location.lon } : {}),
            checkRegions: regions,
          },
          opts,
        ),
      );
    let defaultPools: pulumi.Output<string>[];
    let fallbackPool: pulumi.Output<string>;
    let steering: Partial<cloudflareSdk.LoadBalancerArgs>;
    switch (policy.mode) {
      case "weighted":
      case "anycast": {
        // One pool of every region: its origin weights are the model's weights, and with every origin
        // down the fallback (the same pool) answers every region — the model's fail-open.
        const all = pool("all", policy.targets).id;
        [defaultPools, fallbackPool, steering] = [[all], all, { steeringPolicy: "random" }];
        break;
      }
      case "geo": {
        // Each continent tries its group's pool, then every region; the fallback is every region.
        const all = pool("all", policy.targets).id;
        const groupPools = new Map(
          policy.geoGroups
            .filter((g) => !g.borrowed)
            .map((g) => [
              g.regionIds.join(),
              pool(
                g.continent,
                policy.targets.filter((t) => g.regionIds.includes(t.id)),
              ).id,
            ]),
        );
        const regionPools: Record<string, pulumi.Output<string>[]> = {};
        for (const g of policy.geoGroups) for (const code of CLOUDFLARE_REGIONS[g.continent]) regionPools[code] = [groupPools.get(g.regionIds.join())!, all];
        [defaultPools, fallbackPool, steering] = [[all], all, { steeringPolicy: "geo", regionPools }];
        break;
      }
      case "latency":
      case "failover": {
        // One pool per region: dynamic_latency picks the fastest healthy pool, `off` the first in order;
        // with every pool down the primary (first in order) answers, as the model's failover fail-open does.
        const perRegion = policy.targets.map((t) => pool(t.id, [t]).id).filter((_, i) => !drained(policy.targets[i]!));
        [defaultPools, fallbackPool, steering] = [perRegion, perRegion[0]!, { steeringPolicy: policy.mode === "latency" ? "dynamic_latency" : "off" }];
        break;
      }
    }
    track(
      new cloudflareSdk.LoadBalancer(
        "cloudflare-lb",
        {
          zoneId: zone.zoneRef,
          name: policy.fqdn,
          description: `Meridian ${policy.stack}: ${policy.mode} GSLB`,
          defaultPools,
          fallbackPool,
          proxied: policy.mode === "anycast",
          // A proxied load balancer answers with edge addresses; its TTL is Cloudflare's, not ours.
          ttl: policy.mode === "anycast" ? undefined : policy.ttlSeconds,
          ...steering,
        },
        opts,
      ),
    );
    return {
      checks: Object.fromEntries(policy.targets.map((t) => [t.id, [monitor.id]])),
      entryPoint: pulumi.output(policy.fqdn),
    };
  },
};
