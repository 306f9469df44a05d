// A promoted standby allocator's path to the ledger region's managed cluster on AWS and Azure (#23): the ledger and
// standby regions' RuntimeServices components alone (dev moved onto AWS: ledger aws-use1, standby aws-euw1; or onto
// Azure: azure-weu, azure-sea) under the recording mock runtime with the offline provider rules — not the whole estate.
// AWS peers the two VPCs (requested in the ledger's region, accepted in the standby's, routes both ways) and the
// cluster's security group admits the standby VPC's CIDR. Azure peers the two VNets both ways, links the private
// endpoint's DNS zone to both, and the ledger's private-endpoint NSG admits the standby's address space. What the plan
// cannot build is refused at load naming the region and why.
import * as aws from "@pulumi/aws";
import * as azureNetwork from "@pulumi/azure-native/network/index.js";
import * as privateDns from "@pulumi/azure-native/privatedns/index.js";
import { beforeAll, describe, expect, it } from "vitest";
import type { RecordedResource } from "../../../components/preview/mock-runtime.js";
import { priceResources } from "../../../model/cost/pricing/index.js";
import { buildEstateSpec } from "../../../model/estate.js";
import { runLedgerAndStandby } from "./ledger-standby.js";
import { withUnknowns } from "../../../model/resources.js";
import { regionNetworkInputs, regionNetworkPolicies } from "../../../model/security/network.js";
import { loadStack, parseEstateConfig, readStackConfigMap } from "../../../stacks/load.js";
import { messages, refusals } from "../preview/rules/refuse.js";
import { azureRedisEnterprisePrivateDnsZone } from "../../../model/network/azure.js";
import { AWS_VPCS, AZURE_ADDRESS_SPACES, oneCloudDev } from "./one-cloud.js";

type Obj = Record<string, unknown>;
const VPCS = AWS_VPCS;
const MANAGED = { managed: {} };
const load = (config: Obj, what: string) => buildEstateSpec("dev", parseEstateConfig(config, what));
function refusal(config: Obj, what: string): string {
  try {
    load(config, what);
  } catch (e) {
    return (e as Error).message;
  }
  return "";
}
const spec = load(oneCloudDev("aws", MANAGED, VPCS), "dev on AWS (managed)");

let resources: RecordedResource[] = [];
const ofType = (type: string) => resources.filter((r) => r.type === type);
const inputs = (r: RecordedResource) => r.inputs as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

beforeAll(async () => {
  resources = await runLedgerAndStandby(spec, "aws-use1", "aws-euw1");
}, 120_000);

describe("an AWS ledger and an AWS standby: an inter-region VPC peering", () => {
  it("requests the peering from the ledger's VPC to the standby's region and accepts it there", () => {
    const [peering, ...more] = ofType("aws:ec2/vpcPeeringConnection:VpcPeeringConnection");
    expect(more).toEqual([]);
    expect(inputs(peering!)).toMatchObject({ vpcId: VPCS["aws-use1"].vpcId, peerVpcId: VPCS["aws-euw1"].vpcId, region: "us-east-1", peerRegion: "eu-west-1", autoAccept: false });
    const [accepter] = ofType("aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter");
    expect(inputs(accepter!)).toMatchObject({ region: "eu-west-1", autoAccept: true });
    expect(accepter!.dependencies).toContain(peering!.urn);
  });

  it("routes each side's every route table to the other VPC's CIDR through the peering, once it is accepted", () => {
    const [peering] = ofType("aws:ec2/vpcPeeringConnection:VpcPeeringConnection");
    const [accepter] = ofType("aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter");
    const routes = ofType("aws:ec2/route:Route");
    expect(routes.map((r) => [inputs(r)["region"], inputs(r)["routeTableId"], inputs(r)["destinationCidrBlock"]]).sort()).toEqual(
      [
        ["eu-west-1", "rtb-0b1c2d3e4f5a60001", "10.10.0.0/16"],
        ["us-east-1", "rtb-0a1b2c3d4e5f60001", "10.20.0.0/16"],
        ["us-east-1", "rtb-0a1b2c3d4e5f60002", "10.20.0.0/16"],
      ].sort(),
    );
    for (const r of routes) expect(r.dependencies, r.name).toEqual(expect.arrayContaining([peering!.urn, accepter!.urn]));
  });

  it("the cluster's security group admits the ledger's and the standby's CIDRs on its port, and the cluster uses it", () => {
    const [group] = ofType("aws:ec2/securityGroup:SecurityGroup");
    expect(inputs(group!)).toMatchObject({ vpcId: VPCS["aws-use1"].vpcId, region: "us-east-1" });
    const rules = ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
    expect(rules.map((r) => [inputs(r)["cidrIpv4"], inputs(r)["ipProtocol"], inputs(r)["fromPort"], inputs(r)["toPort"]]).sort()).toEqual([
      ["10.10.0.0/16", "tcp", 6379, 6379],
      ["10.20.0.0/16", "tcp", 6379, 6379],
    ]);
    for (const r of rules) expect(r.dependencies).toContain(group!.urn);
    // The allocator's cluster (the regions' own managed Redis are other groups, which the standbys never reach).
    const [cluster, ...others] = ofType("aws:elasticache/replicationGroup:ReplicationGroup").filter((g) => inputs(g)["clusterMode"] === "enabled");
    expect(others).toEqual([]);
    expect(cluster!.dependencies).toContain(group!.urn);
    expect(inputs(cluster!)["securityGroupIds"]).toEqual([inputs(rules[0]!)["securityGroupId"]]);
  });

  it("the standby's allocator egress reaches the peered CIDR: its cluster port, to any address", () => {
    const policy = regionNetworkPolicies(regionNetworkInputs(spec, "aws-euw1", "aws")).find((p) => p.metadata.name === "allow-allocator")!;
    const rule = (policy.spec.egress ?? []).find((r) => (r.ports ?? []).some((p) => p.port === 6379));
    expect(rule).toEqual({ ports: [{ protocol: "TCP", port: 6379 }] });
  });

  it("the new resources are priced as free, the peering's inter-region transfer named as not forecast", () => {
    const types = [
      "aws:ec2/vpcPeeringConnection:VpcPeeringConnection",
      "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter",
      "aws:ec2/route:Route",
      "aws:ec2/securityGroup:SecurityGroup",
    ];
    const planned = resources.filter((r) => types.includes(r.type) || r.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
    const priced = priceResources(
      planned.map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: withUnknowns(r.inputs) as Obj })),
      spec,
    );
    expect(priced.unsupported).toEqual([]);
    expect(priced.free.find((f) => f.resource.type === types[0])?.reason).toMatch(/inter-region transfer .* not forecast/);
  });
});

describe("refused at load, naming the region and why", () => {
  it("overlapping VPC CIDRs, naming both regions", () => {
    const overlapping = { ...VPCS, "aws-euw1": { ...VPCS["aws-euw1"], cidr: "10.10.128.0/17" } };
    expect(refusal(oneCloudDev("aws", MANAGED, overlapping), "overlap")).toContain(
      "a standby allocator in aws-euw1 (aws) cannot reach the ledger region aws-use1's ElastiCache cluster over a VPC peering: the VPCs of aws-use1 (10.10.0.0/16) and aws-euw1 (10.10.128.0/17) overlap",
    );
  });

  it("a VPC the stack does not describe, naming the key", () => {
    const { cidr: _, ...noCidr } = VPCS["aws-euw1"];
    expect(refusal(oneCloudDev("aws", MANAGED, { ...VPCS, "aws-euw1": noCidr }), "no cidr")).toContain("meridian:replication.network.vpn.aws.aws-euw1.cidr (the VPC's IPv4 CIDR) is not set");
    expect(refusal(oneCloudDev("aws", MANAGED, { "aws-euw1": VPCS["aws-euw1"] }), "no ledger vpc")).toContain(
      "meridian:replication.network.vpn.aws.aws-use1 ({vpcId, routeTableIds, cidr}) is not set",
    );
  });

  it("an AWS ledger's standbys on GCP and Azure (prod), by the same rule as a GCP ledger's", () => {
    const prod = loadStack("prod");
    const config = { ...readStackConfigMap("prod"), "meridian:runtime": { ...prod.runtime, ratelimit: { ...prod.runtime.ratelimit, allocatorRedisCluster: MANAGED } } };
    const why = refusal(config, "prod (managed)");
    for (const [id, cloud] of [
      ["gcp-usc1", "gcp"],
      ["gcp-asne1", "gcp"],
      ["azure-weu", "azure"],
      ["azure-sea", "azure"],
    ])
      expect(why).toContain(`a standby allocator in ${id} (${cloud}) cannot reach the ledger region aws-use1's ElastiCache cluster: its ElastiCache nodes have only private addresses`);
  });

  it("an Azure ledger's Azure standby: overlapping address spaces, naming both regions; an undescribed VNet, naming the key", () => {
    const cannot = "a standby allocator in azure-sea (azure) cannot reach the ledger region azure-weu's Azure Managed Redis cluster over a global VNet peering: ";
    const overlapping = { ...AZURE_ADDRESS_SPACES, "azure-sea": ["10.40.0.0/16", "10.30.200.0/24"] };
    expect(refusal(oneCloudDev("azure", MANAGED, overlapping), "azure overlap")).toContain(
      `${cannot}the VNets of azure-weu (10.30.0.0/16) and azure-sea (10.30.200.0/24) overlap: Azure does not peer virtual networks whose address spaces overlap`,
    );
    expect(refusal(oneCloudDev("azure", MANAGED, { "azure-weu": AZURE_ADDRESS_SPACES["azure-weu"] }), "azure no standby space")).toContain(
      `${cannot}meridian:replication.network.azure.virtualNetworkAddressSpaces.azure-sea (the VNet's address prefixes) is not set`,
    );
    // One Azure region has no standby to peer: it loads without address spaces.
    expect(refusal(oneCloudDev("azure", MANAGED, {}, 1), "azure alone")).toBe("");
  });
});

describe("an Azure ledger and an Azure standby: a global VNet peering, the private endpoint's zone linked to both, NSG rules", () => {
  const azureSpec = load(oneCloudDev("azure", MANAGED, AZURE_ADDRESS_SPACES), "dev on Azure (managed)");
  const RG = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/meridian-prod/providers/Microsoft.Network/virtualNetworks";
  let planned: RecordedResource[] = [];
  const of = (type: string) => planned.filter((r) => r.type === type);
  beforeAll(async () => {
    planned = await runLedgerAndStandby(azureSpec, "azure-weu", "azure-sea");
  }, 120_000);

  it("peers the two VNets both ways, each created in its own VNet, one after the other", () => {
    const peerings = of("azure-native:network:VirtualNetworkPeering");
    expect(peerings.map((p) => inputs(p))).toEqual([
      expect.objectContaining({ virtualNetworkName: "meridian-westeurope", remoteVirtualNetwork: { id: `${RG}/meridian-southeastasia` }, allowVirtualNetworkAccess: true, useRemoteGateways: false }),
      expect.objectContaining({ virtualNetworkName: "meridian-southeastasia", remoteVirtualNetwork: { id: `${RG}/meridian-westeurope` }, allowVirtualNetworkAccess: true, useRemoteGateways: false }),
    ]);
    expect(inputs(peerings[0]!)["resourceGroupName"]).toBe("meridian-prod");
    // ARM refuses a peering on a VNet still updating (ReferencedResourceNotProvisioned): the second waits for the first.
    expect(peerings[1]!.dependencies).toContain(peerings[0]!.urn);
  });

  it("registers the private endpoint in its SKU's privatelink zone, linked to the ledger's and the standby's VNets", () => {
    const [zone, ...more] = of("azure-native:privatedns:PrivateZone");
    expect(more).toEqual([]);
    expect(inputs(zone!)).toMatchObject({ privateZoneName: "privatelink.redis.azure.net", location: "global", resourceGroupName: "meridian-prod" });
    const links = of("azure-native:privatedns:VirtualNetworkLink");
    expect(links.map((l) => [inputs(l)["privateZoneName"], (inputs(l)["virtualNetwork"] as Obj)["id"], inputs(l)["registrationEnabled"]])).toEqual([
      ["privatelink.redis.azure.net", `${RG}/meridian-westeurope`, false],
      ["privatelink.redis.azure.net", `${RG}/meridian-southeastasia`, false],
    ]);
    for (const l of links) expect(l.dependencies).toContain(zone!.urn);
    const [group] = of("azure-native:network:PrivateDnsZoneGroup");
    const endpoint = of("azure-native:network:PrivateEndpoint").find((e) => e.name.endsWith("-rl-pe"))!;
    expect(group!.dependencies).toEqual(expect.arrayContaining([endpoint.urn, zone!.urn]));
    expect(inputs(group!)["privateEndpointName"]).toBe(inputs(endpoint)["privateEndpointName"]);
    // Enterprise and EnterpriseFlash SKUs (Azure Cache for Redis Enterprise) resolve through their own zone.
    expect(azureRedisEnterprisePrivateDnsZone("Enterprise_E10")).toBe("privatelink.redisenterprise.cache.azure.net");
  });

  it("the ledger's private-endpoint NSG admits the standby's address space on the cluster's ports, over the peering", () => {
    const [rule, ...more] = of("azure-native:network:SecurityRule");
    expect(more).toEqual([]);
    expect(inputs(rule!)).toMatchObject({
      networkSecurityGroupName: "meridian-westeurope-private-endpoints",
      direction: "Inbound",
      access: "Allow",
      protocol: "Tcp",
      sourceAddressPrefixes: ["10.40.0.0/16", "10.41.0.0/24"],
      destinationAddressPrefixes: ["10.30.0.0/16"],
      destinationPortRanges: ["10000", "8500-8599"],
    });
    for (const p of of("azure-native:network:VirtualNetworkPeering")) expect(rule!.dependencies).toContain(p.urn);
  });

  it("the standby's allocator egress reaches the peered address space: the cluster's ports, to any address", () => {
    const policy = regionNetworkPolicies(regionNetworkInputs(azureSpec, "azure-sea", "azure")).find((p) => p.metadata.name === "allow-allocator")!;
    const rule = (policy.spec.egress ?? []).find((r) => (r.ports ?? []).some((p) => p.port === 10000));
    expect(rule).toEqual({
      ports: [
        { protocol: "TCP", port: 10000 },
        { protocol: "TCP", port: 8500, endPort: 8599 },
      ],
    });
  });

  it("is priced: the zone at its monthly rate; the peerings free, their transfer named as not forecast", () => {
    const types = [
      "azure-native:network:VirtualNetworkPeering",
      "azure-native:privatedns:PrivateZone",
      "azure-native:privatedns:VirtualNetworkLink",
      "azure-native:network:PrivateDnsZoneGroup",
      "azure-native:network:SecurityRule",
    ];
    const priced = priceResources(
      planned.filter((r) => types.includes(r.type)).map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: withUnknowns(r.inputs) as Obj })),
      azureSpec,
    );
    expect(priced.unsupported).toEqual([]);
    expect(priced.priced.map((p) => [p.resource.type, p.components[0]!.monthlyCents])).toEqual([["azure-native:privatedns:PrivateZone", 50]]);
    expect(priced.free.find((f) => f.resource.type === types[0])?.reason).toMatch(/transfer .* not forecast/);
  });
});

describe("the offline plan refuses what ARM refuses for a VNet peering, a private DNS zone and an NSG rule", () => {
  it("a VNet peered with itself, overlapping address spaces, a regional zone or link, a VNet linked to two same-named zones, NSG priorities", async () => {
    const vnet = (name: string) => `/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/${name}`;
    const v = await refusals(() => {
      new azureNetwork.VirtualNetworkPeering("self", { resourceGroupName: "rg", virtualNetworkName: "a", remoteVirtualNetwork: { id: vnet("a") } });
      const overlap = new azureNetwork.VirtualNetworkPeering("overlap", { resourceGroupName: "rg", virtualNetworkName: "a", remoteVirtualNetwork: { id: vnet("b") } });
      const rule = { resourceGroupName: "rg", networkSecurityGroupName: "nsg", direction: "Inbound", access: "Allow", protocol: "Tcp" };
      new azureNetwork.SecurityRule("over", { ...rule, priority: 1000, sourceAddressPrefixes: ["10.1.128.0/17"], destinationAddressPrefixes: ["10.1.0.0/16"] }, { dependsOn: [overlap] });
      new azureNetwork.SecurityRule("same-priority", { ...rule, securityRuleName: "same", priority: 1000, sourceAddressPrefixes: ["10.9.0.0/16"], destinationAddressPrefixes: ["10.1.0.0/16"] });
      new azureNetwork.SecurityRule("low", { ...rule, priority: 50, sourceAddressPrefixes: ["10.9.0.0/16"], destinationAddressPrefixes: ["10.1.0.0/16"] });
      new privateDns.PrivateZone("regional", { resourceGroupName: "rg", privateZoneName: "privatelink.redis.azure.net", location: "westeurope" });
      new privateDns.VirtualNetworkLink("ok", { resourceGroupName: "rg", privateZoneName: "privatelink.redis.azure.net", location: "global", virtualNetwork: { id: vnet("a") } });
      new privateDns.VirtualNetworkLink("other-group", { resourceGroupName: "hub", privateZoneName: "privatelink.redis.azure.net", location: "Global", virtualNetwork: { id: vnet("a") } });
    });
    expect(messages(v, "azure-vnet-peering-self")).toEqual(["A virtual network cannot be peered with itself: remoteVirtualNetwork.id is a's own id"]);
    expect(messages(v, "azure-vnet-peering-overlapping-address-spaces")).toEqual([
      "VnetAddressSpacesOverlap: Cannot create or update peering. Virtual networks cannot be peered because their address spaces overlap: 10.1.128.0/17 and 10.1.0.0/16",
    ]);
    expect(messages(v, "azure-private-dns-global")).toEqual([
      "LocationNotAvailableForResourceType: The provided location 'westeurope' is not available for resource type 'Microsoft.Network/privateDnsZones'. List of available regions for the resource type is 'global'.",
    ]);
    expect(messages(v, "azure-private-dns-link-namespace")).toEqual([
      "A virtual network cannot be linked to multiple zones with overlapping namespaces. You tried to link virtual network with 'privatelink.redis.azure.net' and 'privatelink.redis.azure.net' zones.",
    ]);
    expect(messages(v, "azure-nsg-rule-priority").sort()).toEqual([
      "SecurityRuleConflict: Security rule over conflicts with rule same. Rules cannot have the same Priority and Direction.",
      "SecurityRuleConflict: Security rule same conflicts with rule over. Rules cannot have the same Priority and Direction.",
      "SecurityRuleInvalidPriority: Security rule has invalid Priority. Value provided: 50 Allowed range 100-4096.",
    ]);
    expect([...new Set(v.map((x) => x.name))].sort()).toEqual(["low", "other-group", "over", "overlap", "regional", "same-priority", "self"]);
  });
});

describe("the offline plan refuses what EC2 and the provider refuse for a peering", () => {
  it("auto-accept across regions, a VPC peered with itself, an accepter in the wrong region, overlapping CIDRs", async () => {
    const v = await refusals(() => {
      new aws.ec2.VpcPeeringConnection("auto", { vpcId: "vpc-0a", peerVpcId: "vpc-0b", region: "us-east-1", peerRegion: "eu-west-1", autoAccept: true });
      new aws.ec2.VpcPeeringConnection("self", { vpcId: "vpc-0a", peerVpcId: "vpc-0a", region: "us-east-1" });
      // No peerRegion: EC2 looks for the peer VPC in us-east-1, so an accepter in eu-west-1 finds nothing to accept.
      const local = new aws.ec2.VpcPeeringConnection("no-peer-region", { vpcId: "vpc-0a", peerVpcId: "vpc-0b", region: "us-east-1" });
      new aws.ec2.VpcPeeringConnectionAccepter("no-peer-region-accept", { vpcPeeringConnectionId: local.id, autoAccept: true, region: "eu-west-1" });
      const overlap = new aws.ec2.VpcPeeringConnection("overlap", { vpcId: "vpc-0a", peerVpcId: "vpc-0c", region: "us-east-1", peerRegion: "eu-west-1" });
      new aws.ec2.Route("to-peer", { routeTableId: "rtb-0a", destinationCidrBlock: "10.0.128.0/17", vpcPeeringConnectionId: overlap.id, region: "us-east-1" });
      new aws.ec2.Route("to-requester", { routeTableId: "rtb-0c", destinationCidrBlock: "10.0.0.0/16", vpcPeeringConnectionId: overlap.id, region: "eu-west-1" });
    });
    expect(messages(v, "aws-vpc-peering-cross-region-auto-accept")).toEqual(["`peer_region` cannot be set whilst `auto_accept` is `true` when creating an EC2 VPC Peering Connection"]);
    expect(messages(v, "aws-vpc-peering-self")).toEqual([
      "You cannot create a VPC peering connection between VPCs that have matching or overlapping IPv4 or IPv6 CIDR blocks: vpcId and peerVpcId are both vpc-0a",
    ]);
    expect(messages(v, "aws-vpc-peering-accepter-region")).toEqual([
      "InvalidVpcPeeringConnectionID.NotFound: the peering no-peer-region asks for vpc-0b in us-east-1; no peering connection to accept in eu-west-1",
    ]);
    expect(messages(v, "aws-vpc-peering-overlapping-cidrs")).toEqual([
      "You cannot create a VPC peering connection between VPCs that have matching or overlapping IPv4 or IPv6 CIDR blocks: 10.0.0.0/16 (us-east-1) and 10.0.128.0/17 (eu-west-1)",
    ]);
    expect(v.map((x) => x.name).sort()).toEqual(["auto", "no-peer-region-accept", "overlap", "self"]);
  });
});
