/**
 * Global VNet peering, private DNS and NSG rules (the allocator's Azure standbys, components/network/azure-peering.ts):
 * what ARM refuses for a peering, a private DNS zone and its virtual network links, and a network security rule, in
 * the resource provider's error codes and words and the service docs'.
 */
import { cidrsOverlap } from "../../../model/network/peering.js";
import type { RecordedResource } from "../mock-runtime.js";
import { arr, inputs, num, obj, str, type PlanView, type ProviderRule } from "./rule.js";

const PEERING = "azure-native:network:VirtualNetworkPeering";
const ZONE = "azure-native:privatedns:PrivateZone";
const LINK = "azure-native:privatedns:VirtualNetworkLink";
const RULE = "azure-native:network:SecurityRule";
const PEERING_DOCS = "https://learn.microsoft.com/azure/virtual-network/virtual-network-manage-peering#requirements-and-constraints";
const NSG_DOCS = "https://learn.microsoft.com/azure/virtual-network/network-security-groups-overview#security-rules";
const LINK_DOCS =
  "https://learn.microsoft.com/troubleshoot/azure/azure-kubernetes/create-upgrade-delete/createorupdatevirtualnetworklinkfailed-error (a VNet linked to a second zone of the same name)";

const strings = (v: unknown): string[] => arr(v).flatMap((x) => str(x) ?? []);
const lower = (v: unknown) => str(v)?.toLowerCase();

/** The NSG rules admitting traffic over a peering (they wait for it): one VNet's prefixes as source, the other's as destination. */
const rulesOver = (peering: RecordedResource, plan: PlanView) => plan.ofType(RULE).filter((r) => r.dependencies.includes(peering.urn));

/** The VNet a peering is created in, as the id remoteVirtualNetwork would carry (subscription aside). */
const localVnetSuffix = (p: Record<string, unknown>) => {
  const rg = str(p["resourceGroupName"]);
  const vnet = str(p["virtualNetworkName"]);
  return rg && vnet ? `/resourcegroups/${rg}/providers/microsoft.network/virtualnetworks/${vnet}`.toLowerCase() : undefined;
};

export const azureVnetPeeringRules: ProviderRule[] = [
  {
    id: "azure-vnet-peering-self",
    provider: "azure",
    types: [PEERING],
    summary: "A VNet cannot be peered with itself (remoteVirtualNetwork names the VNet the peering is created in)",
    source: `${PEERING_DOCS} (a peering connects two virtual networks; the portal refuses the same one: "A virtual network cannot be peered with itself")`,
    check(r) {
      const p = inputs(r);
      const remote = lower(obj(p["remoteVirtualNetwork"])["id"]);
      const local = localVnetSuffix(p);
      return remote && local && remote.endsWith(local) ? [`A virtual network cannot be peered with itself: remoteVirtualNetwork.id is ${str(p["virtualNetworkName"])}'s own id`] : [];
    },
  },
  {
    id: "azure-vnet-peering-overlapping-address-spaces",
    provider: "azure",
    types: [PEERING],
    summary: "The peered VNets' address spaces (read from the NSG rules admitting one's prefixes into the other's over the peering) must not overlap",
    source: `${PEERING_DOCS} (the virtual networks you peer must have nonoverlapping IP address spaces); ARM error VnetAddressSpacesOverlap`,
    check(r, plan) {
      const out = new Set<string>();
      for (const rule of rulesOver(r, plan))
        for (const a of strings(inputs(rule)["sourceAddressPrefixes"]))
          for (const b of strings(inputs(rule)["destinationAddressPrefixes"]))
            if (cidrsOverlap(a, b)) out.add(`VnetAddressSpacesOverlap: Cannot create or update peering. Virtual networks cannot be peered because their address spaces overlap: ${a} and ${b}`);
      return [...out];
    },
  },
  {
    id: "azure-private-dns-global",
    provider: "azure",
    types: [ZONE, LINK],
    summary: "A private DNS zone and its virtual network links are global resources: location 'global'",
    source: "https://learn.microsoft.com/azure/templates/microsoft.network/privatednszones (location: 'global'); ARM error LocationNotAvailableForResourceType",
    check(r) {
      const location = str(inputs(r)["location"]);
      if (location === undefined || location.toLowerCase() === "global") return [];
      const type = r.type === ZONE ? "Microsoft.Network/privateDnsZones" : "Microsoft.Network/privateDnsZones/virtualNetworkLinks";
      return [`LocationNotAvailableForResourceType: The provided location '${location}' is not available for resource type '${type}'. List of available regions for the resource type is 'global'.`];
    },
  },
  {
    id: "azure-private-dns-link-namespace",
    provider: "azure",
    types: [LINK],
    summary: "A VNet cannot be linked to two private DNS zones of the same name (another resource group's or subscription's)",
    source: LINK_DOCS,
    check(r, plan) {
      const vnet = lower(obj(inputs(r)["virtualNetwork"])["id"]);
      const zone = lower(inputs(r)["privateZoneName"]);
      if (!vnet || !zone) return [];
      const rg = lower(inputs(r)["resourceGroupName"]);
      // The first link of the VNet to a zone of this name stands; a later one to another group's zone is refused.
      const first = plan.ofType(LINK).find((l) => lower(obj(inputs(l)["virtualNetwork"])["id"]) === vnet && lower(inputs(l)["privateZoneName"]) === zone);
      if (!first || first === r || lower(inputs(first)["resourceGroupName"]) === rg) return [];
      return [`A virtual network cannot be linked to multiple zones with overlapping namespaces. You tried to link virtual network with '${zone}' and '${zone}' zones.`];
    },
  },
  {
    id: "azure-nsg-rule-priority",
    provider: "azure",
    types: [RULE],
    summary: "A security rule's priority is 100–4096, and no two rules of a network security group share a priority and direction",
    source: `${NSG_DOCS} (priority: a number between 100 and 4096; rules can't have the same priority and direction); ARM errors SecurityRuleInvalidPriority, SecurityRuleConflict`,
    check(r, plan) {
      const p = inputs(r);
      const priority = num(p["priority"]);
      if (priority === undefined) return [];
      if (priority < 100 || priority > 4096) return [`SecurityRuleInvalidPriority: Security rule has invalid Priority. Value provided: ${priority} Allowed range 100-4096.`];
      const group = (x: RecordedResource) => `${lower(inputs(x)["resourceGroupName"])}/${lower(inputs(x)["networkSecurityGroupName"])}`;
      const clash = plan.ofType(RULE).find((x) => x !== r && group(x) === group(r) && num(inputs(x)["priority"]) === priority && lower(inputs(x)["direction"]) === lower(p["direction"]));
      const name = (x: RecordedResource) => str(inputs(x)["securityRuleName"]) ?? x.name;
      return clash ? [`SecurityRuleConflict: Security rule ${name(r)} conflicts with rule ${name(clash)}. Rules cannot have the same Priority and Direction.`] : [];
    },
  },
];
