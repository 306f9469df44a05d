/**
 * Azure pricers: PostgreSQL flexible servers (vCores × series rate, or a Burstable server rate, plus
 * storage), Azure Cache for Redis (nodes × node rate: Standard and Premium run a replica), Azure Managed Redis, private
 * endpoints and their private DNS zones, NAT gateways, VPN gateways.
 */
import {
  azureNatGatewayHour,
  azurePostgresBurstableHour,
  azurePostgresStorageGBMonth,
  azurePostgresVCoreHour,
  azurePrivateDnsZoneMonth,
  azurePrivateEndpointHour,
  azurePublicIpHour,
  azureManagedRedisHour,
  azureRedisNodeHour,
  azureVirtualNetworkGatewayHour,
  azureVpnConnectionHour,
  azureVpnGatewayScaleUnitHour,
} from "../../prices/resources.js";
import { num, str } from "../../resources.js";
import { allMonth, component, notFound, type Pricer } from "./types.js";

const postgresFlexible: Pricer = (r) => {
  const sku = str(r.props, "sku.name");
  const storage = num(r.props, "storage.storageSizeGB");
  const components = [];
  const vcore = sku ? /^Standard_[A-Z](\d+)([a-z]*_v\d+)$/.exec(sku) : null;
  const series = vcore ? `${sku!.slice("Standard_".length, "Standard_".length + 1)}${vcore[2]}` : undefined;
  if (sku && azurePostgresBurstableHour[sku]) components.push(allMonth(`Compute (${sku})`, azurePostgresBurstableHour[sku]!));
  else if (vcore && series && azurePostgresVCoreHour[series]) components.push(allMonth(`Compute (${sku}, ${vcore[1]} vCores)`, azurePostgresVCoreHour[series]!, Number(vcore[1])));
  else components.push(notFound(`Compute (${sku ?? "SKU unknown"})`, "hours", 730, "no flexible-server price for this SKU"));
  if (storage !== undefined) components.push(component("Storage", "GB-months", storage, azurePostgresStorageGBMonth));
  else components.push(notFound("Storage", "GB-months", 0, "storage.storageSizeGB is not set"));
  return { category: "database", components };
};

const redisCache: Pricer = (r) => {
  const name = str(r.props, "sku.name");
  const key = `${name}_${str(r.props, "sku.family")}${num(r.props, "sku.capacity") ?? "?"}`;
  const replicas = name === "Basic" ? 0 : (num(r.props, "replicasPerPrimary") ?? num(r.props, "replicasPerMaster") ?? 1);
  const nodes = (1 + replicas) * Math.max(1, num(r.props, "shardCount") ?? 1);
  const p = azureRedisNodeHour[key];
  return { category: "cache", components: [p ? allMonth(`Cache usage (${key})`, p, nodes) : notFound(`Cache usage (${key})`, "hours", 730 * nodes, `no Azure Cache for Redis price for ${key}`)] };
};

/** Azure Managed Redis: one instance of its SKU (high availability included in the rate); its database bills nothing more. */
const managedRedis: Pricer = (r) => {
  const sku = str(r.props, "sku.name") ?? "SKU unknown";
  const p = azureManagedRedisHour[sku];
  return { category: "cache", components: [p ? allMonth(`Azure Managed Redis (${sku})`, p) : notFound(`Azure Managed Redis (${sku})`, "hours", 730, `no Azure Managed Redis price for ${sku}`)] };
};

export const azurePricers: Record<string, Pricer> = {
  "azure-native:redisenterprise:RedisEnterprise": managedRedis,
  "azure-native:redisenterprise:Database": () => ({ free: "a database of an Azure Managed Redis instance bills with its instance" }),
  "azure-native:dbforpostgresql:Server": postgresFlexible,
  "azure-native:dbforpostgresql:Configuration": () => ({ free: "server parameters are free" }),
  "azure-native:redis:Redis": redisCache,
  "azure-native:network:PrivateEndpoint": () => ({ category: "endpoint", components: [allMonth("Private endpoint", azurePrivateEndpointHour)] }),
  "azure-native:network:PrivateDnsZoneGroup": () => ({ free: "registers a private endpoint's address in its zone" }),
  "azure-native:privatedns:PrivateZone": () => ({ category: "dns", components: [component("Private DNS zone", "months", 1, azurePrivateDnsZoneMonth)] }),
  "azure-native:privatedns:VirtualNetworkLink": () => ({ free: "Azure DNS bills a private zone and its queries, not its virtual network links" }),
  "azure-native:network:VirtualNetworkPeering": () => ({ free: "a VNet peering has no hourly charge; its per-GB transfer between regions (a promoted standby's) is not forecast" }),
  "azure-native:network:SecurityRule": () => ({ free: "network security group rules are free" }),
  "azure-native:network:PublicIPAddress": (r) =>
    str(r.props, "sku.name") === "Basic"
      ? { category: "address", components: [notFound("Public IP address (Basic)", "hours", 730, "the Basic SKU is retired; only Standard is priced")] }
      : { category: "address", components: [allMonth("Public IP address (static)", azurePublicIpHour)] },
  "azure-native:network:NatGateway": () => ({ category: "gateway", components: [allMonth("NAT gateway", azureNatGatewayHour)] }),
  "azure-native:network:VpnGateway": (r) => ({ category: "gateway", components: [allMonth("S2S scale units (500 Mbps)", azureVpnGatewayScaleUnitHour, num(r.props, "vpnGatewayScaleUnit") ?? 1)] }),
  "azure-native:resources:ResourceGroup": () => ({ free: "resource groups are free" }),
  "azure-native:network:VirtualNetworkGateway": (r) => {
    const sku = str(r.props, "sku.name") ?? "SKU unknown";
    const p = azureVirtualNetworkGatewayHour[sku];
    return { category: "gateway", components: [p ? allMonth(`VPN gateway (${sku})`, p) : notFound(`VPN gateway (${sku})`, "hours", 730, `no virtual network gateway price for ${sku}`)] };
  },
  "azure-native:network:VirtualNetworkGatewayConnection": () => ({ category: "gateway", components: [allMonth("Site-to-site connection", azureVpnConnectionHour)] }),
  "azure-native:network:LocalNetworkGateway": () => ({ free: "a description of the peer's gateway" }),
};
