/**
 * The path from an Azure standby's allocator pods to the ledger region's Azure Managed Redis (#23): a global VNet
 * peering created in each VNet towards the other (Azure peers two VNets only when both sides have one), the cluster's
 * private endpoint's private DNS zone linked to the ledger's and every standby's VNet (the cluster's host name
 * resolves to the endpoint's address only in a linked VNet), and rules in the ledger's private-endpoint subnet NSG
 * admitting each standby's address space on the cluster's ports. What is peered, and every refusal (an address space
 * the stack does not give, overlapping ones), comes from model/network/peering.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import * as azureNetwork from "@pulumi/azure-native/network/index.js";
import * as privateDns from "@pulumi/azure-native/privatedns/index.js";
import type { AllocatorVnetPeering, PeeredVnet } from "../../model/network/peering.js";
import type { PortOrRange } from "../../model/workloads/ratelimit-config.js";

const TAGS = { "part-of": "meridian", purpose: "allocator-standby" };

/**
 * Both directions of each peering, per standby. They run one after another: a peering's PUT updates both VNets, and
 * ARM refuses one on a VNet still updating (ReferencedResourceNotProvisioned: "... is not in Succeeded state";
 * the azurerm provider documents "Virtual Network peerings cannot be created, updated or deleted concurrently"), and
 * every peering here touches the ledger's VNet.
 */
export function allocatorVnetPeerings(name: string, peerings: AllocatorVnetPeering[], resourceGroupName: string, opts: pulumi.CustomResourceOptions): azureNetwork.VirtualNetworkPeering[][] {
  let previous: azureNetwork.VirtualNetworkPeering | undefined;
  const peer = (from: PeeredVnet, to: PeeredVnet) => {
    const peering = new azureNetwork.VirtualNetworkPeering(
      `${name}-${from.region.id}-to-${to.region.id}`,
      {
        resourceGroupName,
        virtualNetworkName: from.name,
        virtualNetworkPeeringName: `to-${to.name}`,
        remoteVirtualNetwork: { id: to.id },
        allowVirtualNetworkAccess: true,
        // The allocator's traffic starts and ends in the two VNets: nothing transits either.
        allowForwardedTraffic: false,
        allowGatewayTransit: false,
        useRemoteGateways: false,
      },
      { ...opts, ...(previous ? { dependsOn: [previous] } : {}) },
    );
    previous = peering;
    return peering;
  };
  // Each standby's pair: the ledger's side, then the standby's.
  return peerings.map((p) => [peer(p.ledger, p.standby), peer(p.standby, p.ledger)]);
}

/**
 * The private endpoint's zone (private DNS zones and their links are global resources) linked to each VNet whose
 * pods resolve the cluster's host name; the endpoint registers its address through a DNS zone group.
 */
export function allocatorPrivateDnsZone(
  name: string,
  zoneName: string,
  vnets: Pick<PeeredVnet, "region" | "name" | "id">[],
  resourceGroupName: string,
  opts: pulumi.CustomResourceOptions,
): privateDns.PrivateZone {
  const zone = new privateDns.PrivateZone(`${name}-dns`, { privateZoneName: zoneName, resourceGroupName, location: "global", tags: TAGS }, opts);
  for (const vnet of vnets)
    new privateDns.VirtualNetworkLink(
      `${name}-dns-${vnet.region.id}`,
      { privateZoneName: zoneName, resourceGroupName, virtualNetworkLinkName: vnet.name, location: "global", registrationEnabled: false, virtualNetwork: { id: vnet.id }, tags: TAGS },
      { ...opts, dependsOn: [zone] },
    );
  return zone;
}

/** Priorities of the standbys' rules: one each, in the standbys' order, below a typical deny-all at 4096. */
const STANDBY_RULE_PRIORITY = 1000;

/**
 * Rules of the ledger's private-endpoint subnet NSG: each standby's address space to the ledger's VNet on the
 * cluster's ports (they apply to the endpoint when the subnet enables private endpoint network policies). Each waits
 * for its standby's peerings: the traffic it admits arrives over them.
 */
export function allocatorClusterSecurityRules(
  name: string,
  nsgName: string,
  peerings: { peering: AllocatorVnetPeering; over: pulumi.Resource[] }[],
  ports: readonly PortOrRange[],
  resourceGroupName: string,
  opts: pulumi.CustomResourceOptions,
): azureNetwork.SecurityRule[] {
  const destinationPortRanges = ports.map((p) => (typeof p === "number" ? `${p}` : `${p.port}-${p.endPort}`));
  return peerings.map(
    ({ peering: { ledger, standby }, over }, i) =>
      new azureNetwork.SecurityRule(
        `${name}-${standby.region.id}`,
        {
          resourceGroupName,
          networkSecurityGroupName: nsgName,
          securityRuleName: `meridian-allocator-${standby.region.id}`,
          description: `allocator standby in ${standby.region.id} to the ledger's managed Redis`,
          priority: STANDBY_RULE_PRIORITY + i,
          direction: "Inbound",
          access: "Allow",
          protocol: "Tcp",
          sourceAddressPrefixes: standby.addressPrefixes,
          sourcePortRange: "*",
          destinationAddressPrefixes: ledger.addressPrefixes,
          destinationPortRanges,
        },
        { ...opts, dependsOn: over },
      ),
  );
}
