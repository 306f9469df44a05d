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

/** The id of subnet `subnet` of the VNet of the Azure region `regionCode` (e.g. westeurope). */
export function azureSubnetId(azure: AzureNetworkSettings, regionCode: string, subnet: string): string {
  const vnet = azure.virtualNetworkNameTemplate.replaceAll("{region}", regionCode);
  return `${azureResourceGroupScope(azure)}/providers/Microsoft.Network/virtualNetworks/${vnet}/subnets/${subnet}`;
}
