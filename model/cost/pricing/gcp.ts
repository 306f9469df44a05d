/**
 * GCP pricers: Cloud SQL custom machines (vCPU and memory hours, SSD storage; REGIONAL = HA at twice
 * the zonal rate), Memorystore (GB-hours by tier and capacity band), Memorystore for Redis Cluster (node-hours).
 */
import { cloudSqlRates, gcpVpnTunnelHour, memorystoreClusterNodeHour, memorystoreGBHour } from "../../prices/resources.js";
import { num, str } from "../../resources.js";
import { allMonth, component, HOURS_PER_MONTH, notFound, type Pricer } from "./types.js";

const cloudSql: Pricer = (r) => {
  const tier = str(r.props, "settings.tier");
  const ha = str(r.props, "settings.availabilityType") === "REGIONAL" ? "REGIONAL" : "ZONAL";
  const label = ha === "REGIONAL" ? "regional" : "zonal";
  const disk = num(r.props, "settings.diskSize") ?? 10; // Cloud SQL's default disk
  const m = tier ? /^db-custom-(\d+)-(\d+)$/.exec(tier) : null;
  const components = m
    ? [
        component(`vCPUs (${m[1]}, ${label})`, "hours", Number(m[1]) * HOURS_PER_MONTH, cloudSqlRates.vcpuHour[ha]),
        component(`Memory (${Number(m[2]) / 1024} GB, ${label})`, "GB-hours", (Number(m[2]) / 1024) * HOURS_PER_MONTH, cloudSqlRates.memoryGBHour[ha]),
      ]
    : [notFound(`SQL instance (${tier ?? "tier unknown"}, ${label})`, "hours", HOURS_PER_MONTH, "only db-custom-<vCPU>-<MB> tiers are priced")];
  components.push(component(`Storage (SSD, ${label})`, "GB-months", disk, cloudSqlRates.ssdGBMonth[ha]));
  return { category: "database", components };
};

const memorystore: Pricer = (r) => {
  const tier = str(r.props, "tier") === "STANDARD_HA" ? "STANDARD_HA" : "BASIC";
  const gb = num(r.props, "memorySizeGb");
  if (gb === undefined) return { category: "cache", components: [notFound(`Redis instance (${tier})`, "GB-hours", 0, "memorySizeGb is not a known input")] };
  const band = memorystoreGBHour[tier].find((b) => gb <= b.maxGB)!;
  const label = tier === "STANDARD_HA" ? "standard" : "basic";
  return { category: "cache", components: [component(`Redis instance (${label}, ${band.band})`, "GB-hours", gb * HOURS_PER_MONTH, band.price)] };
};

/** Memorystore for Redis Cluster: shards × (1 + replicas) nodes of its node type (REDIS_HIGHMEM_MEDIUM when unset). */
const memorystoreCluster: Pricer = (r) => {
  const type = str(r.props, "nodeType") ?? "REDIS_HIGHMEM_MEDIUM";
  const shards = num(r.props, "shardCount");
  const nodes = shards === undefined ? undefined : shards * (1 + (num(r.props, "replicaCount") ?? 0));
  const name = `Redis Cluster nodes (${type})`;
  const p = memorystoreClusterNodeHour[type];
  if (nodes === undefined) return { category: "cache", components: [notFound(name, "hours", 0, "shardCount is not a known input")] };
  return { category: "cache", components: [p ? allMonth(name, p, nodes) : notFound(name, "hours", HOURS_PER_MONTH * nodes, `no Memorystore for Redis Cluster price for ${type}`)] };
};

export const gcpPricers: Record<string, Pricer> = {
  "gcp:redis/cluster:Cluster": memorystoreCluster,
  "gcp:networkconnectivity/serviceConnectionPolicy:ServiceConnectionPolicy": () => ({ free: "a service connection policy has no charge; the endpoints it creates bill with their service" }),
  "gcp:sql/databaseInstance:DatabaseInstance": cloudSql,
  "gcp:redis/instance:Instance": memorystore,
  // The gateway's address is attached to its load balancer's forwarding rule; GCP bills a static external
  // address only while it is reserved and unattached (or in use by a VM).
  "gcp:compute/address:Address": () => ({ free: "an external address attached to a forwarding rule has no charge (GCP VPC pricing)" }),
  // Cross-cloud VPNs (components/network): the tunnels bill; gateways, routers and BGP sessions do not.
  "gcp:compute/vPNTunnel:VPNTunnel": () => ({ category: "gateway", components: [allMonth("VPN tunnel", gcpVpnTunnelHour)] }),
  "gcp:compute/haVpnGateway:HaVpnGateway": () => ({ free: "an HA VPN gateway has no charge; its tunnels and egress bill" }),
  "gcp:compute/externalVpnGateway:ExternalVpnGateway": () => ({ free: "a description of the peer's gateway" }),
  "gcp:compute/router:Router": () => ({ free: "Cloud Router has no charge when used with Cloud VPN" }),
  "gcp:compute/routerInterface:RouterInterface": () => ({ free: "part of the Cloud Router" }),
  "gcp:compute/routerPeer:RouterPeer": () => ({ free: "a BGP session of the Cloud Router" }),
  "gcp:compute/networkPeeringRoutesConfig:NetworkPeeringRoutesConfig": () => ({ free: "a route-exchange setting of a peering" }),
};
