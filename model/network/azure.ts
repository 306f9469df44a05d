/**
 * Azure resource ids the estate refers to but does not create (subnets of each region's VNet, the private DNS zone), composed from the
 * settings the stack already gives: the subscription, the resource group and the VNet name (meridian:replication.
 * network.azure). One function composes them, so the database, the cache's private endpoint, the VPN gateway and the
 * Key Vault role assignments name the same subscription.
 */
import type { ReplicationConfig } from "../config/replication.js";

export type AzureNetworkSettings = ReplicationConfig["network"]["azure"];

/** Azure requires a VPN gateway's subnet to have exactly this name. */
export const GATEWAY_SUBNET = "GatewaySubnet";

/** `/subscriptions/<id>`; loading a stack with an Azure region refuses it without the subscription, so this throws only on a bypassed check. */
export function azureSubscriptionScope(azure: AzureNetworkSettings): string {
  if (azure.subscriptionId === undefined) throw new Error("meridian:replication.network.azure.subscriptionId: required when a region is on Azure");
  return `/subscriptions/${azure.subscriptionId}`;
}

/** The resource group every Azure resource of the estate lives in, as an ARM scope. */
export function azureResourceGroupScope(azure: AzureNetworkSettings): string {
  return `${azureSubscriptionScope(azure)}/resourceGroups/${azure.resourceGroupName}`;
}

/** The private DNS zone the flexible servers register in. */
export function azurePrivateDnsZoneId(azure: AzureNetworkSettings): string {
  return `${azureResourceGroupScope(azure)}/providers/Microsoft.Network/privateDnsZones/${azure.privateDnsZoneName}`;
}

/** The name of the VNet of the Azure region `regionCode` (e.g. westeurope). */
export function azureVirtualNetworkName(azure: AzureNetworkSettings, regionCode: string): string {
  return azure.virtualNetworkNameTemplate.replaceAll("{region}", regionCode);
}

/** The id of the VNet of the Azure region `regionCode`. */
export function azureVirtualNetworkId(azure: AzureNetworkSettings, regionCode: string): string {
  return `${azureResourceGroupScope(azure)}/providers/Microsoft.Network/virtualNetworks/${azureVirtualNetworkName(azure, regionCode)}`;
}

/** The id of subnet `subnet` of the VNet of the Azure region `regionCode` (e.g. westeurope). */
export function azureSubnetId(azure: AzureNetworkSettings, regionCode: string, subnet: string): string {
  return `${azureVirtualNetworkId(azure, regionCode)}/subnets/${subnet}`;
}

/** The network security group of the private-endpoint subnet of the Azure region `regionCode`'s VNet. */
export function azurePrivateEndpointSecurityGroupName(azure: AzureNetworkSettings, regionCode: string): string {
  return azure.privateEndpointSecurityGroupNameTemplate.replaceAll("{region}", regionCode);
}

/**
 * The private DNS zone a Redis Enterprise resource provider cluster's private endpoint registers in, as Azure's
 * private endpoint DNS table names it (https://learn.microsoft.com/azure/private-link/private-endpoint-dns): Azure
 * Managed Redis (Balanced, MemoryOptimized, ComputeOptimized, FlashOptimized SKUs; hosts `<name>.<region>.redis.azure.net`)
 * privatelink.redis.azure.net; Azure Cache for Redis Enterprise (Enterprise and EnterpriseFlash SKUs; hosts
 * `<name>.<region>.redisenterprise.cache.azure.net`) privatelink.redisenterprise.cache.azure.net.
 */
export function azureRedisEnterprisePrivateDnsZone(sku: string): string {
  return /^Enterprise(Flash)?_/.test(sku) ? "privatelink.redisenterprise.cache.azure.net" : "privatelink.redis.azure.net";
}
