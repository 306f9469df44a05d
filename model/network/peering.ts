/**
 * Peerings the allocator's managed cluster needs (#23): the cluster lives in the ledger region's network, and every
 * other region of its cloud renders the allocator at 0 replicas — a standby a failover scales up onto that cluster.
 * Its pods reach the cluster's private addresses only through a peering. AWS: an inter-region VPC peering (routes
 * both ways, the cluster's security group admitting the standby VPC's CIDR). Azure: a global VNet peering in each
 * direction (the cluster's private endpoint's DNS zone linked to the standby's VNet, NSG rules admitting its address
 * space). Pure: components/network/peering.ts and azure-peering.ts build them.
 */
import { regionById, type EstateSpec, type Region } from "../estate.js";
import { ledgerRegion } from "../workloads/config.js";
import { azureVirtualNetworkId, azureVirtualNetworkName } from "./azure.js";
import { ipToInt } from "./vpn.js";

/** One side of a peering: a region's VPC as the stack gives it (meridian:replication.network.vpn.aws.<region>). */
export interface PeeredVpc {
  region: Region;
  vpcId: string;
  routeTableIds: string[];
  cidr: string;
}

/** The ledger region's VPC (requester) and one AWS standby's (accepter). */
export interface AllocatorPeering {
  ledger: PeeredVpc;
  standby: PeeredVpc;
}

/** The first and last address of an IPv4 CIDR. */
function cidrRange(cidr: string): [number, number] {
  const [addr, len] = cidr.split("/");
  const size = 2 ** (32 - Number(len));
  const first = Math.floor(ipToInt(addr!) / size) * size;
  return [first, first + size - 1];
}

export function cidrsOverlap(a: string, b: string): boolean {
  const [a0, a1] = cidrRange(a);
  const [b0, b1] = cidrRange(b);
  return a0 <= b1 && b0 <= a1;
}

/** The region's VPC as a peering needs it, or why the stack does not give it. */
function peeredVpc(spec: EstateSpec, regionId: string): PeeredVpc | string {
  const vpc = spec.replication.network.vpn.aws[regionId];
  if (vpc === undefined) return `meridian:replication.network.vpn.aws.${regionId} ({vpcId, routeTableIds, cidr}) is not set`;
  if (vpc.cidr === undefined) return `meridian:replication.network.vpn.aws.${regionId}.cidr (the VPC's IPv4 CIDR) is not set`;
  return { region: regionById(spec, regionId), vpcId: vpc.vpcId, routeTableIds: vpc.routeTableIds, cidr: vpc.cidr };
}

/**
 * The peering from the AWS ledger region's VPC to an AWS standby's, or why the plan cannot build it: a VPC the stack
 * does not describe, or CIDRs that overlap (AWS refuses to peer VPCs with overlapping IPv4 CIDR blocks).
 */
export function allocatorPeering(spec: EstateSpec, standbyId: string): AllocatorPeering | string {
  const ledgerId = ledgerRegion(spec);
  const ledger = peeredVpc(spec, ledgerId);
  const standby = peeredVpc(spec, standbyId);
  if (typeof ledger === "string") return ledger;
  if (typeof standby === "string") return standby;
  if (cidrsOverlap(ledger.cidr, standby.cidr))
    return `the VPCs of ${ledgerId} (${ledger.cidr}) and ${standbyId} (${standby.cidr}) overlap: AWS does not peer VPCs with overlapping IPv4 CIDR blocks, so no route could tell them apart`;
  return { ledger, standby };
}

/** One side of a global VNet peering: a region's VNet as the stack names it (meridian:replication.network.azure). */
export interface PeeredVnet {
  region: Region;
  name: string;
  id: string;
  addressPrefixes: string[];
}

/** The ledger region's VNet and one Azure standby's: each side's peering is created in its own VNet. */
export interface AllocatorVnetPeering {
  ledger: PeeredVnet;
  standby: PeeredVnet;
}

function peeredVnet(spec: EstateSpec, regionId: string): PeeredVnet | string {
  const azure = spec.replication.network.azure;
  const addressPrefixes = azure.virtualNetworkAddressSpaces[regionId];
  if (addressPrefixes === undefined) return `meridian:replication.network.azure.virtualNetworkAddressSpaces.${regionId} (the VNet's address prefixes) is not set`;
  const region = regionById(spec, regionId);
  return { region, name: azureVirtualNetworkName(azure, region.region), id: azureVirtualNetworkId(azure, region.region), addressPrefixes };
}

/**
 * The global VNet peering between the Azure ledger region's VNet and an Azure standby's, or why the plan cannot
 * build it: an address space the stack does not give, or address spaces that overlap (Azure refuses to peer them:
 * VnetAddressSpacesOverlap).
 */
export function allocatorVnetPeering(spec: EstateSpec, standbyId: string): AllocatorVnetPeering | string {
  const ledgerId = ledgerRegion(spec);
  const ledger = peeredVnet(spec, ledgerId);
  const standby = peeredVnet(spec, standbyId);
  if (typeof ledger === "string") return ledger;
  if (typeof standby === "string") return standby;
  for (const a of ledger.addressPrefixes)
    for (const b of standby.addressPrefixes)
      if (cidrsOverlap(a, b))
        return `the VNets of ${ledgerId} (${a}) and ${standbyId} (${b}) overlap: Azure does not peer virtual networks whose address spaces overlap (VnetAddressSpacesOverlap), so no route could tell them apart`;
  return { ledger, standby };
}
