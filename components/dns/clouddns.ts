/**
 * Google Cloud DNS: a public managed zone, one `compute.HealthCheck` (with three source regions, as
 * external endpoints require) shared by the routing policy, and the host's record set with a `wrr`,
 * `geo` or `primaryBackup` routing policy over health-checked external endpoints. Cloud DNS allows one
 * health check per routing policy, so it probes each region's serving path and cannot weight a degraded
 * region (the capability matrix says so); in geo groups every serving target is answered. A drained
 * region (`meridian:dns.drained`) is left out of every routing policy item.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { checkerLocations, CLOUD_DNS_LOCATION } from "../../model/traffic/geo.js";
import { dsRdata } from "../../model/traffic/dnssec.js";
import { answeringTargets, type TrafficPolicy } from "../../model/traffic/policy.js";
import { recordSlug, zoneFileValues } from "../../model/traffic/records.js";
import { APEX_NS_TTL_SECONDS, slugName, track, type DnsBackend, type TrafficRender, type ZoneHandle } from "./backend.js";

const dot = (name: string) => `${name}.`;

function healthCheck(parent: pulumi.Resource, policy: TrafficPolicy): gcp.compute.HealthCheck {
  const hc = policy.healthCheck;
  // Host header: the gateway routes by the service's name; without it Google sends the target IP.
  const probe = { port: hc.port, requestPath: hc.path, host: policy.fqdn };
  return track(
    new gcp.compute.HealthCheck(
      "clouddns-hc",
      {
        name: slugName(`meridian-${policy.stack}-gslb`),
        description: `Meridian ${policy.stack}: serving check of ${policy.fqdn} regions`,
        checkIntervalSec: hc.intervalSeconds,
        timeoutSec: hc.timeoutSeconds,
        healthyThreshold: hc.failureThreshold,
        unhealthyThreshold: hc.failureThreshold,
        sourceRegions: checkerLocations("clouddns", policy.checkerContinents),
        ...(hc.protocol === "HTTPS" ? { httpsHealthCheck: probe } : hc.protocol === "HTTP" ? { httpHealthCheck: probe } : { tcpHealthCheck: { port: hc.port } }),
      },
      { parent },
    ),
  );
}

export const clouddns: DnsBackend = {
  zone(parent, policy): ZoneHandle {
    const zone = track(
      new gcp.dns.ManagedZone(
        "clouddns-zone",
        {
          name: slugName(`meridian-${policy.stack}-${policy.apex}`).slice(0, 63),
          dnsName: dot(policy.apex),
          description: `Meridian ${policy.stack}: apex zone`,
          visibility: "public",
          // Signing is a property of the managed zone; "off" is written out so every provider's setting is explicit.
          dnssecConfig: policy.dnssec
            ? {
                state: "on",
                nonExistence: "nsec3",
                defaultKeySpecs: [
                  { keyType: "keySigning", algorithm: "ecdsap256sha256", keyLength: 256 },
                  { keyType: "zoneSigning", algorithm: "ecdsap256sha256", keyLength: 256 },
                ],
              }
            : { state: "off" },
        },
        { parent },
      ),
    );
    return { zoneRef: zone.name, nameServers: zone.nameServers };
  },

  apexNameServers(parent, zone, policy, all) {
    // The managed zone's apex NS set, replaced by the hierarchy's (Cloud DNS's own four included).
    const rrdatas = pulumi.all(Object.values(all)).apply((sets) => [...new Set(sets.flat())].map((n) => dot(n.replace(/\.$/, ""))));
    track(new gcp.dns.RecordSet("clouddns-apex-ns", { managedZone: zone.zoneRef, name: dot(policy.apex), type: "NS", ttl: APEX_NS_TTL_SECONDS, rrdatas }, { parent }));
  },

  dnssec(parent, zone) {
    // The zone signs itself (dnssecConfig above); the DS records are read back from its key-signing keys.
    return gcp.dns.getKeysOutput({ managedZone: zone.zoneRef }, { parent }).keySigningKeys.apply((keys) => (keys ?? []).filter((k) => k.isActive !== false).map((k) => dsRdata(k.dsRecord)));
  },

  record(parent, zone, _policy, record) {
    track(
      new gcp.dns.RecordSet(
        `clouddns-${recordSlug(record)}`,
        { managedZone: zone.zoneRef, name: dot(record.fqdn), type: record.type, ttl: record.ttlSeconds, rrdatas: zoneFileValues(record) },
        { parent },
      ),
    );
  },

  traffic(parent, zone, policy, endpoints): TrafficRender {
    const check = healthCheck(parent, policy);
    const targetsOf = (ids: readonly string[]) => ({ externalEndpoints: ids.map((id) => endpoints[id]!) });
    // Drained regions are in no item; a continent whose regions are all drained answers every other region.
    const targets = answeringTargets(policy);
    const answering = targets.map((t) => t.id);
    let routingPolicy: gcp.types.input.dns.RecordSetRoutingPolicy;
    switch (policy.mode) {
      case "weighted":
        routingPolicy = { wrrs: targets.map((t) => ({ weight: t.weights.healthy, healthCheckedTargets: targetsOf([t.id]) })) };
        break;
      case "geo":
        routingPolicy = {
          enableGeoFencing: false,
          geos: policy.geoGroups.map((g) => {
            const own = g.regionIds.filter((id) => answering.includes(id));
            return { location: CLOUD_DNS_LOCATION[g.continent], healthCheckedTargets: targetsOf(own.length > 0 ? own : answering) };
          }),
        };
        break;
      case "failover": {
        const [primary, ...backups] = targets;
        if (backups.length === 0) {
          // One region left answering: a single weighted item (primaryBackup needs a backup).
          routingPolicy = { wrrs: [{ weight: 1, healthCheckedTargets: targetsOf([primary!.id]) }] };
          break;
        }
        // Backups are geo-routed by Cloud DNS: one item per continent, its regions in failover order.
        const byLocation = new Map<string, string[]>();
        for (const b of backups) {
          const location = CLOUD_DNS_LOCATION[b.continent];
          byLocation.set(location, [...(byLocation.get(location) ?? []), b.id]);
        }
        routingPolicy = {
          primaryBackup: {
            primary: targetsOf([primary!.id]),
            backupGeos: [...byLocation].map(([location, ids]) => ({ location, healthCheckedTargets: targetsOf(ids) })),
            trickleRatio: 0,
          },
        };
        break;
      }
      default:
        throw new Error(`clouddns cannot route ${policy.mode} (rejected by the capability matrix at config time)`);
    }
    track(
      new gcp.dns.RecordSet(
        "clouddns-gslb",
        { managedZone: zone.zoneRef, name: dot(policy.fqdn), type: "A", ttl: policy.ttlSeconds, routingPolicy: { ...routingPolicy, healthCheck: check.id } },
        { parent },
      ),
    );
    return {
      checks: Object.fromEntries(policy.targets.map((t) => [t.id, [check.id]])),
      entryPoint: pulumi.output(policy.fqdn),
    };
  },
};
