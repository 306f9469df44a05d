/**
 * VPC peering rules (the allocator's standby peerings, components/network/peering.ts): what the provider and EC2
 * refuse for a peering, its accepter and the routes through it, in the provider's source and the peering guide's words.
 */
import type { RecordedResource } from "../mock-runtime.js";
import { cidrsOverlap } from "../../../model/network/peering.js";
import { inputs, str, type PlanView, type ProviderRule } from "./rule.js";

const PEERING = "aws:ec2/vpcPeeringConnection:VpcPeeringConnection";
const ACCEPTER = "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter";
const ROUTE = "aws:ec2/route:Route";
const PROVIDER_SOURCE = "https://github.com/hashicorp/terraform-provider-aws/blob/main/internal/service/ec2/vpc_peering_connection.go (resourceVPCPeeringConnectionCreate)";
const LIMITS = "https://docs.aws.amazon.com/vpc/latest/peering/vpc-peering-basics.html#vpc-peering-limitations";
const OVERLAP = "You cannot create a VPC peering connection between VPCs that have matching or overlapping IPv4 or IPv6 CIDR blocks";

/** The region the accepter VPC is looked up in: peerRegion, else the requester's own. */
const accepterRegion = (p: RecordedResource) => str(inputs(p)["peerRegion"]) ?? str(inputs(p)["region"]);

/** The peering a resource routes through or accepts (its inputs came from the peering's id). */
function peeringOf(r: RecordedResource, plan: PlanView): RecordedResource | undefined {
  return plan.ofType(PEERING).find((p) => r.dependencies.includes(p.urn));
}

export const vpcPeeringRules: ProviderRule[] = [
  {
    id: "aws-vpc-peering-cross-region-auto-accept",
    provider: "aws",
    types: [PEERING],
    summary: "A cross-region peering (peerRegion) cannot be auto-accepted by the requester: an accepter in the peer region accepts it",
    source: PROVIDER_SOURCE,
    check(r) {
      const p = inputs(r);
      return p["peerRegion"] !== undefined && p["autoAccept"] === true ? ["`peer_region` cannot be set whilst `auto_accept` is `true` when creating an EC2 VPC Peering Connection"] : [];
    },
  },
  {
    id: "aws-vpc-peering-self",
    provider: "aws",
    types: [PEERING],
    summary: "A VPC cannot be peered with itself (its CIDR matches its own)",
    source: `${LIMITS} (${OVERLAP})`,
    check(r) {
      const vpc = str(inputs(r)["vpcId"]);
      return vpc !== undefined && vpc === str(inputs(r)["peerVpcId"]) && accepterRegion(r) === str(inputs(r)["region"]) ? [`${OVERLAP}: vpcId and peerVpcId are both ${vpc}`] : [];
    },
  },
  {
    id: "aws-vpc-peering-accepter-region",
    provider: "aws",
    types: [ACCEPTER],
    summary: "The accepter runs in the accepter VPC's region: the peering's peerRegion (a cross-region peering without peerRegion looks for the peer VPC in the requester's region)",
    source: "https://www.pulumi.com/registry/packages/aws/api-docs/ec2/vpcpeeringconnection/ (peerRegion: the region of the accepter VPC; the accepter resource manages the accepter's side)",
    check(r, plan) {
      const peering = peeringOf(r, plan);
      const want = peering && accepterRegion(peering);
      const region = str(inputs(r)["region"]);
      if (!peering || want === undefined || region === undefined || region === want) return [];
      return [`InvalidVpcPeeringConnectionID.NotFound: the peering ${peering.name} asks for ${str(inputs(peering)["peerVpcId"])} in ${want}; no peering connection to accept in ${region}`];
    },
  },
  {
    id: "aws-vpc-peering-overlapping-cidrs",
    provider: "aws",
    types: [PEERING],
    summary: "The peered VPCs' CIDRs (the destinations of the routes through the peering on each side) must not overlap",
    source: `${LIMITS} (${OVERLAP})`,
    check(r, plan) {
      // Routes in the requester's region lead to the accepter VPC's CIDR, and the accepter side's to the requester's.
      const region = str(inputs(r)["region"]);
      const routes = plan.ofType(ROUTE).filter((route) => route.dependencies.includes(r.urn));
      const toPeer = routes.filter((x) => str(inputs(x)["region"]) === region).map((x) => str(inputs(x)["destinationCidrBlock"]));
      const toRequester = routes.filter((x) => str(inputs(x)["region"]) !== region).map((x) => str(inputs(x)["destinationCidrBlock"]));
      const out = new Set<string>();
      for (const a of toPeer) for (const b of toRequester) if (a && b && cidrsOverlap(a, b)) out.add(`${OVERLAP}: ${b} (${region}) and ${a} (${accepterRegion(r)})`);
      return [...out];
    },
  },
];
