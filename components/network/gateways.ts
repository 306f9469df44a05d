/**
 * Each region's VPN endpoint, shared by every pair it belongs to: an AWS virtual private gateway on the
 * region's VPC (propagating learned routes into its route tables), a GCP HA VPN gateway with a Cloud Router
 * that advertises the subnets and the private-services-access range (where Cloud SQL's addresses live), or
 * an active-active, zone-redundant Azure VPN gateway in the VNet's GatewaySubnet.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as gcp from "@pulumi/gcp";
import * as network from "@pulumi/azure-native/network/index.js";
import type { EstateSpec, Region } from "../../model/estate.js";
import type { VpnPlan } from "../../model/network/vpn.js";
import { azureResourceGroupScope, azureSubnetId, GATEWAY_SUBNET } from "../../model/network/azure.js";

export interface AwsEnd {
  gateway: aws.ec2.VpnGateway;
}
export interface GcpEnd {
  gateway: gcp.compute.HaVpnGateway;
  router: gcp.compute.Router;
}
export interface AzureEnd {
  gateway: network.VirtualNetworkGateway;
  /** The two instances' public addresses. */
  addresses: [pulumi.Output<string | undefined>, pulumi.Output<string | undefined>];
  /** The two instances' IP configuration ids (what custom BGP addresses are attached to). */
  ipConfigurationIds: [string, string];
  resourceGroupName: string;
}

const TAGS = { "meridian:part-of": "replication-vpn" };

export function awsEnd(spec: EstateSpec, region: Region, opts: pulumi.CustomResourceOptions): AwsEnd {
  const vpc = spec.replication.network.vpn.aws[region.id]!;
  const name = `${spec.stack}-vpn-${region.id}`;
  const gateway = new aws.ec2.VpnGateway(name, { vpcId: vpc.vpcId, amazonSideAsn: String(spec.replication.network.vpn.asn.aws), region: region.region, tags: { ...TAGS, Name: name } }, opts);
  // Routes learned over BGP reach the subnets only through propagation into their route tables.
  vpc.routeTableIds.forEach((routeTableId, i) => new aws.ec2.VpnGatewayRoutePropagation(`${name}-propagation-${i}`, { vpnGatewayId: gateway.id, routeTableId, region: region.region }, opts));
  return { gateway };
}

/** The VPC network Cloud SQL is peered with: `projects/<project>/global/networks/<name>`. */
function gcpNetwork(spec: EstateSpec): { project: string; name: string; path: string } {
  const path = spec.replication.network.gcp.privateNetwork;
  const [, project, , , name] = path.split("/");
  return { project: project!, name: name!, path };
}

export function gcpEnd(spec: EstateSpec, region: Region, opts: pulumi.CustomResourceOptions): GcpEnd {
  const net = gcpNetwork(spec);
  const name = `${spec.stack}-vpn-${region.id}`;
  const gateway = new gcp.compute.HaVpnGateway(name, { name, project: net.project, region: region.region, network: net.path, stackType: "IPV4_ONLY" }, opts);
  const router = new gcp.compute.Router(
    name,
    {
      name,
      project: net.project,
      region: region.region,
      network: net.path,
      bgp: {
        asn: spec.replication.network.vpn.asn.gcp,
        advertiseMode: "CUSTOM",
        advertisedGroups: ["ALL_SUBNETS"],
        advertisedIpRanges: spec.replication.network.vpn.gcpPrivateServicesRanges.map((range) => ({ range, description: "private services access (Cloud SQL)" })),
      },
    },
    opts,
  );
  return { gateway, router };
}

/**
 * Cloud SQL lives in Google's service-producer VPC, peered with ours: it reaches a VPN peer only when our
 * side exports its custom (learned) routes over that peering. One per network.
 */
export function gcpPeeringRoutes(spec: EstateSpec, opts: pulumi.CustomResourceOptions): gcp.compute.NetworkPeeringRoutesConfig {
  const net = gcpNetwork(spec);
  return new gcp.compute.NetworkPeeringRoutesConfig(
    `${spec.stack}-vpn-servicenetworking-routes`,
    { project: net.project, network: net.name, peering: "servicenetworking-googleapis-com", importCustomRoutes: true, exportCustomRoutes: true },
    opts,
  );
}

export function azureEnd(spec: EstateSpec, region: Region, plan: VpnPlan, opts: pulumi.CustomResourceOptions): AzureEnd {
  const vpn = spec.replication.network.vpn;
  const azure = spec.replication.network.azure;
  const subnetId = azureSubnetId(azure, region.region, GATEWAY_SUBNET);
  const { resourceGroupName } = azure;
  const name = `${spec.stack}-vpn-${region.id}`;
  const instances = [0, 1] as const;
  // Zone-redundant SKUs take Standard, zone-redundant static addresses only.
  const ips = instances.map(
    (i) =>
      new network.PublicIPAddress(
        `${name}-${i}`,
        {
          resourceGroupName,
          location: region.region,
          publicIpAddressName: `${name}-${i}`,
          sku: { name: "Standard", tier: "Regional" },
          publicIPAllocationMethod: "Static",
          zones: ["1", "2", "3"],
          tags: TAGS,
        },
        opts,
      ),
  );
  const gatewayId = `${azureResourceGroupScope(azure)}/providers/Microsoft.Network/virtualNetworkGateways/${name}`;
  const ipConfigurationIds = instances.map((i) => `${gatewayId}/ipConfigurations/instance-${i}`) as [string, string];
  // Each instance answers BGP on the APIPA address of every tunnel it terminates.
  const custom = instances.map((i) => plan.pairs.filter((p) => p.b.id === region.id).flatMap((p) => p.tunnels.filter((t) => t.azureInstance === i).map((t) => t.bAddress)));
  const gateway = new network.VirtualNetworkGateway(
    name,
    {
      resourceGroupName,
      virtualNetworkGatewayName: name,
      location: region.region,
      gatewayType: "Vpn",
      vpnType: "RouteBased",
      vpnGatewayGeneration: "Generation2",
      sku: { name: vpn.azure.sku, tier: vpn.azure.sku },
      activeActive: true,
      enableBgp: true,
      bgpSettings: { asn: vpn.asn.azure, bgpPeeringAddresses: instances.map((i) => ({ ipconfigurationId: ipConfigurationIds[i], customBgpIpAddresses: custom[i] })) },
      ipConfigurations: instances.map((i) => ({ name: `instance-${i}`, privateIPAllocationMethod: "Dynamic", subnet: { id: subnetId }, publicIPAddress: { id: ips[i]!.id } })),
      tags: TAGS,
    },
    opts,
  );
  return { gateway, addresses: [ips[0]!.ipAddress, ips[1]!.ipAddress], ipConfigurationIds, resourceGroupName };
}
