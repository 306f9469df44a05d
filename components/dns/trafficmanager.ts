/**
 * Azure: an Azure DNS zone for the apex and Traffic Manager for the host — a CNAME from the host to the
 * top profile's `<name>.trafficmanager.net`. Profiles carry the model's monitor numbers (interval,
 * timeout, tolerated failures = threshold − 1, the serving path); endpoints are External (one per
 * region) or Nested. Geo routing is a two-level hierarchy: a Geographic parent whose nested endpoints
 * are per-continent Priority profiles (the continent's Weighted profile first, the all-regions Weighted
 * profile second), so a continent whose regions are all down falls through to every region, as the
 * model's answer does. With several health signals, regions are nested profiles (see `aggregator`).
 * A drained region (`meridian:dns.drained`) keeps its endpoints with `endpointStatus: Disabled`.
 */
import * as pulumi from "@pulumi/pulumi";
import * as azureDns from "@pulumi/azure-native/dns/index.js";
import * as resources from "@pulumi/azure-native/resources/index.js";
import * as tm from "@pulumi/azure-native/trafficmanager/index.js";
import { TRAFFIC_MANAGER_CONTINENT, trafficManagerLocation } from "../../model/traffic/geo.js";
import { DS_DIGEST_TYPE, dsRdata } from "../../model/traffic/dnssec.js";
import { weightSplit, type RegionTarget } from "../../model/traffic/policy.js";
import { rdataFields, recordSlug, type ZoneRecord } from "../../model/traffic/records.js";
import { APEX_NS_TTL_SECONDS, recordOf, rememberRecord, slugName, track, type DnsBackend, type TrafficRender, type ZoneHandle } from "./backend.js";

type Method = "Weighted" | "Performance" | "Priority" | "Geographic";

/** Azure DNS keeps each type in its own field of the record set; types it lacks are refused by the capability matrix. */
function azureRecordData(record: ZoneRecord): Partial<azureDns.RecordSetArgs> {
  const fields = record.rdata.map(rdataFields);
  const name = (text: string) => text.replace(/\.$/, "");
  switch (record.type) {
    case "A":
      return { aRecords: record.values.map((ipv4Address) => ({ ipv4Address })) };
    case "AAAA":
      return { aaaaRecords: record.values.map((ipv6Address) => ({ ipv6Address })) };
    case "CNAME":
      return { cnameRecord: { cname: record.values[0] } };
    case "TXT":
      return { txtRecords: record.values.map((v) => ({ value: [v] })) };
    case "MX":
      return { mxRecords: record.mx };
    case "CAA":
      return { caaRecords: record.caa };
    case "NS":
      return { nsRecords: fields.map((f) => ({ nsdname: name(f[0]!) })) };
    case "PTR":
      return { ptrRecords: fields.map((f) => ({ ptrdname: name(f[0]!) })) };
    case "SRV":
      return { srvRecords: fields.map((f) => ({ priority: Number(f[0]), weight: Number(f[1]), port: Number(f[2]), target: name(f[3]!) })) };
    case "TLSA":
      return { tlsaRecords: fields.map((f) => ({ usage: Number(f[0]), selector: Number(f[1]), matchingType: Number(f[2]), certAssociationData: f[3]! })) };
    case "DS":
      return { dsRecords: fields.map((f) => ({ keyTag: Number(f[0]), algorithm: Number(f[1]), digest: { algorithmType: Number(f[2]), value: f[3]! } })) };
    default:
      throw new Error(`Azure DNS cannot serve ${record.type} records (record "${record.name}")`);
  }
}

export const trafficmanager: DnsBackend = {
  zone(parent, policy): ZoneHandle {
    const group = track(new resources.ResourceGroup("azure-traffic-rg", { resourceGroupName: `meridian-${policy.stack}-traffic`, location: policy.azureLocation }, { parent }));
    const zone = track(new azureDns.Zone("azuredns-zone", { resourceGroupName: group.name, zoneName: policy.apex, location: "global", zoneType: "Public" }, { parent }));
    return { zoneRef: zone.name, nameServers: zone.nameServers, resourceGroupName: group.name };
  },

  apexNameServers(parent, zone, _policy, all) {
    // Azure DNS keeps its own nameservers in the apex NS set and accepts more: the hierarchy's.
    const nsRecords = pulumi.all(Object.values(all)).apply((sets) => [...new Set(sets.flat())].map((n) => ({ nsdname: n.replace(/\.$/, "") })));
    track(
      new azureDns.RecordSet(
        "azuredns-apex-ns",
        { resourceGroupName: zone.resourceGroupName!, zoneName: zone.zoneRef, relativeRecordSetName: "@", recordType: "NS", ttl: APEX_NS_TTL_SECONDS, nsRecords },
        { parent },
      ),
    );
  },

  dnssec(parent, zone) {
    // Azure manages both keys; the DS records are the key-signing key's SHA-256 delegation signer infos.
    const config = track(new azureDns.DnssecConfig("azuredns-dnssec", { resourceGroupName: zone.resourceGroupName!, zoneName: zone.zoneRef }, { parent }));
    return config.signingKeys.apply((keys) =>
      (keys ?? []).filter((k) => k.flags === 257).flatMap((k) => k.delegationSignerInfo.filter((d) => d.digestAlgorithmType === DS_DIGEST_TYPE).map((d) => dsRdata(d.record))),
    );
  },

  record(parent, zone, _policy, record) {
    const relative = record.name;
    const base = { resourceGroupName: zone.resourceGroupName!, zoneName: zone.zoneRef, relativeRecordSetName: relative, ttl: record.ttlSeconds };
    if (record.type === "ALIAS") {
      // Alias record sets of the same type pointing at the target's record sets in this zone ("zone record set").
      for (const type of ["A", "AAAA"]) {
        const set = recordOf(zone, record.rdata[0]!, type);
        if (set === undefined) continue;
        track(new azureDns.RecordSet(`azuredns-apex-alias-${type.toLowerCase()}`, { ...base, recordType: type, targetResource: { id: set.id } }, { parent }));
      }
      return;
    }
    const created = track(new azureDns.RecordSet(`azuredns-${recordSlug(record)}`, { ...base, recordType: record.type, ...azureRecordData(record) }, { parent }));
    rememberRecord(zone, record.fqdn, record.type, created);
  },

  traffic(parent, zone, policy, endpoints): TrafficRender {
    const opts = { parent };
    const hc = policy.healthCheck;
    const rg = zone.resourceGroupName!;
    const monitorConfig = {
      protocol: hc.protocol,
      port: hc.port,
      path: hc.protocol === "TCP" ? undefined : hc.path,
      intervalInSeconds: hc.intervalSeconds,
      timeoutInSeconds: hc.timeoutSeconds,
      toleratedNumberOfFailures: hc.failureThreshold - 1,
      // External endpoints are the gateways' IPs: send the service's name as Host (and so SNI).
      customHeaders: hc.protocol === "TCP" ? undefined : [{ name: "Host", value: policy.fqdn }],
    };
    // Profile names are DNS labels under trafficmanager.net, unique across Azure: derive them from the apex.
    const profileName = (label: string) => slugName(`${policy.apex}-${label}`).slice(0, 63);
    const profile = (label: string, method: Method, path = hc.path) => {
      const name = profileName(label);
      const resource = track(
        new tm.Profile(
          `tm-${label}`,
          {
            resourceGroupName: rg,
            profileName: name,
            location: "global",
            profileStatus: "Enabled",
            trafficRoutingMethod: method,
            dnsConfig: { relativeName: name, ttl: policy.ttlSeconds },
            monitorConfig: { ...monitorConfig, path: hc.protocol === "TCP" ? undefined : path },
          },
          opts,
        ),
      );
      return { resource, name };
    };
    type Owner = ReturnType<typeof profile>;
    const external = (owner: Owner, label: string, t: RegionTarget, extra: Partial<tm.EndpointArgs>) =>
      track(
        new tm.Endpoint(
          `tm-${label}-${t.id}`,
          {
            resourceGroupName: rg,
            profileName: owner.name,
            endpointName: t.id,
            endpointType: "ExternalEndpoints",
            target: endpoints[t.id]!,
            endpointStatus: "Enabled",
            ...extra,
          },
          { ...opts, dependsOn: [owner.resource] },
        ),
      );
    const nested = (owner: Owner, label: string, child: Owner, extra: Partial<tm.EndpointArgs>) =>
      track(
        new tm.Endpoint(
          `tm-${label}`,
          {
            resourceGroupName: rg,
            profileName: owner.name,
            endpointName: label,
            endpointType: "NestedEndpoints",
            targetResourceId: child.resource.id,
            minChildEndpoints: 1,
            endpointStatus: "Enabled",
            ...extra,
          },
          { ...opts, dependsOn: [owner.resource] },
        ),
      );
    /**
     * With several signals, a region is an aggregator profile over one single-endpoint profile per signal
     * (each monitoring its signal's path). A nested endpoint to the aggregator with minChildEndpoints 1 is
     * the region *serving*; with the model's full-health threshold it is the region *healthy* — the same
     * two states Route 53's CALCULATED checks give, so degraded weighting is exact here too.
     */
    const aggregators = new Map<string, Owner>();
    const aggregator = (t: RegionTarget): Owner => {
      let agg = aggregators.get(t.id);
      if (agg === undefined) {
        agg = profile(`region-${t.id}`, "Weighted");
        for (const s of policy.signals) {
          const single = profile(`region-${t.id}-${s.name}`, "Priority", s.path);
          external(single, `region-${t.id}-${s.name}`, t, { priority: 1 });
          nested(agg, `region-${t.id}-${s.name}`, single, { weight: 1 });
        }
        aggregators.set(t.id, agg);
      }
      return agg;
    };
    const multiSignal = policy.signals.length > 1;
    // The operator's routing control: a drained region's entries are Disabled (Traffic Manager skips them).
    const drained = (t: RegionTarget, extra: Partial<tm.EndpointArgs>): Partial<tm.EndpointArgs> => (policy.drained.includes(t.id) ? { ...extra, endpointStatus: "Disabled" } : extra);
    const regionEntry = (owner: Owner, label: string, t: RegionTarget, given: Partial<tm.EndpointArgs>, part: "serving" | "full" = "serving", suffix = "") => {
      const extra = drained(t, given);
      return multiSignal
        ? nested(owner, `${label}-${t.id}${suffix}`, aggregator(t), { endpointName: `${t.id}${suffix}`, minChildEndpoints: part === "full" ? policy.fullHealthThreshold : 1, ...extra })
        : external(owner, label, t, extra);
    };
    // Traffic Manager weights are 1-1000; a region configured at weight 0 is disabled instead.
    const weighted = (owner: Owner, label: string, targets: readonly RegionTarget[]) => {
      for (const t of targets) {
        const split = weightSplit(t);
        if (t.weights.healthy === 0) regionEntry(owner, label, t, { weight: 1, endpointStatus: "Disabled" });
        else if (multiSignal && split.full > 0 && split.base > 0) {
          regionEntry(owner, label, t, { weight: split.full }, "full", "-full");
          regionEntry(owner, label, t, { weight: split.base }, "serving", "-base");
        } else regionEntry(owner, label, t, { weight: t.weights.healthy }, split.base > 0 ? "serving" : "full");
      }
    };

    let top: Owner;
    switch (policy.mode) {
      case "weighted":
        top = profile("gslb", "Weighted");
        weighted(top, "weighted", policy.targets);
        break;
      case "latency":
        top = profile("gslb", "Performance");
        for (const t of policy.targets) {
          regionEntry(top, "performance", t, { endpointLocation: trafficManagerLocation({ cloud: t.cloud, region: t.cloudRegion, location: t.location }) });
        }
        break;
      case "failover":
        top = profile("gslb", "Priority");
        policy.targets.forEach((t, i) => regionEntry(top, "priority", t, { priority: i + 1 }));
        break;
      case "geo": {
        top = profile("gslb", "Geographic");
        const all = profile("geo-all", "Weighted");
        weighted(all, "geo-all", policy.targets);
        const owned = policy.geoGroups.filter((g) => !g.borrowed);
        nested(top, "geo-world", all, { geoMapping: ["WORLD"] });
        for (const g of owned) {
          const group = profile(`geo-${g.continent}`, "Weighted");
          weighted(
            group,
            `geo-${g.continent}`,
            policy.targets.filter((t) => g.regionIds.includes(t.id)),
          );
          const chain = profile(`geo-${g.continent}-chain`, "Priority");
          nested(chain, `geo-${g.continent}-chain-group`, group, { priority: 1 });
          nested(chain, `geo-${g.continent}-chain-all`, all, { priority: 2 });
          const codes = policy.geoGroups.filter((c) => c.regionIds.join() === g.regionIds.join()).map((c) => TRAFFIC_MANAGER_CONTINENT[c.continent]);
          nested(top, `geo-${g.continent}`, chain, { geoMapping: codes });
        }
        break;
      }
      case "anycast":
        throw new Error("trafficmanager cannot route anycast (rejected by the capability matrix at config time)");
    }
    const target = `${profileName("gslb")}.trafficmanager.net`;
    track(
      new azureDns.RecordSet(
        "azuredns-gslb",
        { resourceGroupName: rg, zoneName: zone.zoneRef, relativeRecordSetName: policy.host, recordType: "CNAME", ttl: policy.ttlSeconds, cnameRecord: { cname: target } },
        opts,
      ),
    );
    return {
      checks: Object.fromEntries(policy.targets.map((t) => [t.id, [pulumi.output(`${policy.fqdn}/${t.id}`)]])),
      entryPoint: pulumi.output(target),
    };
  },
};
