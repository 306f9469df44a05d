/**
 * Cloudflare: the zone, one monitor carrying the model's health numbers, one pool per region (its
 * gateway as the origin, its coordinates for proximity), and a load balancer on the host with the
 * steering policy of the mode: `random` with the model's weights (weighted, and anycast when proxied),
 * `geo` with region pools per continent group, `dynamic_latency`, or `off` (pool order = failover order).
 * Proxied (anycast) load balancers fail over at the edge: no client TTL to wait out.
 */
import * as cloudflareSdk from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import { checkerLocations, CLOUDFLARE_REGIONS } from "../../model/traffic/geo.js";
import type { TrafficPolicy } from "../../model/traffic/policy.js";
import { recordSlug } from "../../model/traffic/records.js";
import { track } from "./backend.js";
import type { DnsBackend, TrafficRender, ZoneHandle } from "./backend.js";

function accountId(policy: TrafficPolicy): string {
  if (policy.cloudflareAccountId === undefined) throw new Error("meridian:dns.cloudflare.accountId is required when Cloudflare serves the zone");
  return policy.cloudflareAccountId;
}


export const cloudflare: DnsBackend = {
  zone(parent, policy): ZoneHandle {
    const zone = track(new cloudflareSdk.Zone("cloudflare-zone", { account: { id: accountId(policy) }, name: policy.apex, type: "full" }, { parent }));
    return { zoneRef: zone.id, nameServers: zone.nameServers };
  },

  record(parent, zone, _policy, record) {
    // Cloudflare keeps one record per value.
    record.values.forEach((value, i) => {
      const args: cloudflareSdk.DnsRecordArgs = { zoneId: zone.zoneRef, name: record.fqdn, type: record.type, ttl: record.ttlSeconds, proxied: false };
      if (record.type === "MX") Object.assign(args, { content: record.mx[i]!.exchange, priority: record.mx[i]!.preference });
      else if (record.type === "CAA") Object.assign(args, { data: record.caa[i] });
      else Object.assign(args, { content: value });
      track(new cloudflareSdk.DnsRecord(`cloudflare-${recordSlug(record)}-${i}`, args, { parent }));
    });
  },

  traffic(parent, zone, policy, endpoints): TrafficRender {
    const opts = { parent };
    const account = accountId(policy);
    const hc = policy.healthCheck;
    const monitor = track(new cloudflareSdk.LoadBalancerMonitor(
      "cloudflare-monitor",
      {
        accountId: account,
        description: `Meridian ${policy.stack}: ${policy.fqdn} serving check`,
        type: hc.protocol.toLowerCase(),
        method: hc.protocol === "TCP" ? "connection_established" : "GET",
        path: hc.protocol === "TCP" ? undefined : hc.path,
        port: hc.port,
        expectedCodes: hc.protocol === "TCP" ? undefined : "2xx",
        interval: hc.intervalSeconds,
        timeout: hc.timeoutSeconds,
        // Retries happen inside one probe; the threshold is counted by consecutiveDown, as the model does.
        retries: 0,
        consecutiveDown: hc.failureThreshold,
        consecutiveUp: hc.failureThreshold,
      },
      opts,
    ));
    const regions = checkerLocations("cloudflare", policy.checkerContinents);
    const pools = new Map(
      policy.targets.map((t) => [
        t.id,
        track(new cloudflareSdk.LoadBalancerPool(
          `cloudflare-pool-${t.id}`,
          {
            accountId: account,
            name: `${policy.stack}-${t.id}`,
            origins: [{ name: t.id, address: endpoints[t.id]!, weight: 1, enabled: true }],
            monitor: monitor.id,
            minimumOrigins: 1,
            latitude: t.location.lat,
            longitude: t.location.lon,
            checkRegions: regions,
          },
          opts,
        )),
      ]),
    );
    const poolId = (id: string) => pools.get(id)!.id;
    const maxWeight = Math.max(1, ...policy.targets.map((t) => t.weights.healthy));
    const randomSteering = {
      defaultWeight: 0,
      poolWeights: pulumi.all(policy.targets.map((t) => pulumi.all([poolId(t.id), t.weights.healthy / maxWeight]))).apply((pairs) => Object.fromEntries(pairs)),
    };
    const steering: Partial<cloudflareSdk.LoadBalancerArgs> = (() => {
      switch (policy.mode) {
        case "weighted":
        case "anycast":
          return { steeringPolicy: "random", randomSteering };
        case "geo": {
          const regionPools: Record<string, pulumi.Output<string>[]> = {};
          for (const g of policy.geoGroups) {
            // Within a region Cloudflare takes the first healthy pool: heaviest region first.
            const ordered = policy.targets.filter((t) => g.regionIds.includes(t.id)).sort((a, b) => b.weights.healthy - a.weights.healthy);
            for (const code of CLOUDFLARE_REGIONS[g.continent]) regionPools[code] = ordered.map((t) => poolId(t.id));
          }
          return { steeringPolicy: "geo", regionPools };
        }
        case "latency":
          return { steeringPolicy: "dynamic_latency" };
        case "failover":
          return { steeringPolicy: "off" };
      }
    })();
    track(new cloudflareSdk.LoadBalancer(
      "cloudflare-lb",
      {
        zoneId: zone.zoneRef,
        name: policy.fqdn,
        description: `Meridian ${policy.stack}: ${policy.mode} GSLB`,
        defaultPools: policy.targets.map((t) => poolId(t.id)),
        // All pools down: the primary (first in order) answers, as the model's fail-open does for failover.
        fallbackPool: poolId(policy.targets[0]!.id),
        proxied: policy.mode === "anycast",
        // A proxied load balancer answers with edge addresses; its TTL is Cloudflare's, not ours.
        ttl: policy.mode === "anycast" ? undefined : policy.ttlSeconds,
        ...steering,
      },
      opts,
    ));
    return {
      checks: Object.fromEntries(policy.targets.map((t) => [t.id, [monitor.id]])),
      entryPoint: pulumi.output(policy.fqdn),
    };
  },
};
