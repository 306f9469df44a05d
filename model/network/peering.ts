/**
 * VPC peerings the allocator's managed cluster needs on AWS (#23): the ElastiCache cluster lives in the ledger region's
 * VPC, and every other AWS region renders the allocator at 0 replicas — a standby a failover scales up onto that
 * cluster. Its pods reach the cluster's private addresses only through an inter-region VPC peering (routes both ways,
 * the cluster's security group admitting the standby VPC's CIDR). Pure: components/network/peering.ts builds them.
 */
import { regionById, type EstateSpec, type Region } from "../estate.js";
import { ledgerRegion } from "../workloads/config.js";
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
