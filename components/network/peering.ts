/**
 * The path from an AWS standby's allocator pods to the ledger region's ElastiCache cluster (#23): an inter-region VPC
 * peering requested from the ledger's VPC (peerRegion: the standby's region) and accepted in the standby's region
 * (cross-region peerings cannot be auto-accepted by the requester), a route to the other VPC's CIDR in every route
 * table of each side, and the cluster's own security group admitting the ledger's and the standbys' CIDRs on its port.
 * ElastiCache's access patterns include clients in a peered VPC of another region; the standby's allocator egress is
 * by port (model/security/network.ts), so the peered CIDR needs no NetworkPolicy change. What is peered, and every
 * refusal (an undescribed VPC, overlapping CIDRs), comes from model/network/peering.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { AllocatorPeering, PeeredVpc } from "../../model/network/peering.js";

const TAGS = { "part-of": "meridian", purpose: "allocator-standby" };

/** The peering and its routes; the returned resources are what a standby's cluster traffic waits on. */
export function allocatorVpcPeering(name: string, p: AllocatorPeering, opts: pulumi.CustomResourceOptions): pulumi.CustomResource[] {
  const tags = { ...TAGS, Name: name };
  const peering = new aws.ec2.VpcPeeringConnection(
    name,
    { vpcId: p.ledger.vpcId, peerVpcId: p.standby.vpcId, peerRegion: p.standby.region.region, region: p.ledger.region.region, autoAccept: false, tags },
    opts,
  );
  const accepter = new aws.ec2.VpcPeeringConnectionAccepter(`${name}-accept`, { vpcPeeringConnectionId: peering.id, autoAccept: true, region: p.standby.region.region, tags }, opts);
  // Routes wait for the acceptance: a route through a pending peering is refused.
  const routes = (side: PeeredVpc, to: PeeredVpc) =>
    side.routeTableIds.map(
      (routeTableId, i) =>
        new aws.ec2.Route(
          `${name}-${side.region.id}-route-${i}`,
          { routeTableId, destinationCidrBlock: to.cidr, vpcPeeringConnectionId: peering.id, region: side.region.region },
          { ...opts, dependsOn: [accepter] },
        ),
    );
  return [peering, accepter, ...routes(p.ledger, p.standby), ...routes(p.standby, p.ledger)];
}

/**
 * The cluster's security group in the ledger's VPC: its port from the ledger VPC's own CIDR (the group replaces the
 * VPC's default group on the cluster when the stack names none) and from each peered standby VPC's.
 */
export function allocatorClusterSecurityGroup(name: string, ledger: PeeredVpc, standbys: PeeredVpc[], port: number, opts: pulumi.CustomResourceOptions): aws.ec2.SecurityGroup {
  const group = new aws.ec2.SecurityGroup(
    name,
    { name, vpcId: ledger.vpcId, region: ledger.region.region, description: "Meridian allocator cluster: the ledger and its peered standbys", tags: { ...TAGS, Name: name } },
    opts,
  );
  for (const from of [ledger, ...standbys])
    new aws.vpc.SecurityGroupIngressRule(
      `${name}-${from.region.id}`,
      { securityGroupId: group.id, region: ledger.region.region, ipProtocol: "tcp", fromPort: port, toPort: port, cidrIpv4: from.cidr, description: `allocator in ${from.region.id}`, tags: TAGS },
      opts,
    );
  return group;
}
