// Azure subnet ids are composed from the subscription, resource group and VNet the stack names; the subscription has
// no default (a made-up one only fails at `pulumi up`), so a stack with an Azure region must give it.
import { describe, expect, it } from "vitest";
import { StackConfigError } from "../../../model/config/errors.js";
import { azurePrivateDnsZoneId, azureResourceGroupScope, azureSubnetId, GATEWAY_SUBNET } from "../../../model/network/azure.js";
import { loadStack, parseEstateConfig, readStackConfigMap } from "../../../stacks/load.js";

type ConfigMap = Record<string, Record<string, unknown>>;
const SUBSCRIPTION = "5e1f3a2b-8c4d-4e6f-9a0b-1c2d3e4f5a6b";

/** staging's config with `meridian:replication.network.azure` replaced. */
function stagingWithAzure(azure: Record<string, unknown>): ConfigMap {
  const map = readStackConfigMap("staging") as ConfigMap;
  const replication = map["meridian:replication"]!;
  return { ...map, "meridian:replication": { ...replication, network: { ...(replication["network"] as object), azure } } };
}

function problems(map: ConfigMap): StackConfigError["problems"] {
  try {
    parseEstateConfig(map, "Pulumi.staging.yaml");
  } catch (e) {
    if (e instanceof StackConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe("the Azure subscription and the subnets and DNS zone named from it", () => {
  it("a stack with an Azure region and no subscription is refused, naming the setting, the regions and where to get it", () => {
    const found = problems(stagingWithAzure({ privateDnsZoneName: "meridian-staging.postgres.database.azure.com" }));
    expect(found).toEqual([
      {
        keyPath: "meridian:replication.network.azure.subscriptionId",
        value: "(missing)",
        expected: expect.stringMatching(
          /^required: azure-sea is on Azure; the id of the subscription .*\(az account show --query id\)\. Their subnets are named from it: \/subscriptions\/<subscriptionId>\/resourceGroups\/<resourceGroupName>\//,
        ),
      },
    ]);
  });

  it("a stack without Azure regions needs none", () => {
    expect(loadStack("dev").replication.network.azure.subscriptionId).toBeUndefined();
  });

  it("a subscription that is not a GUID, a subnet name ARM refuses and a zone without Azure's suffix are refused at their keys", () => {
    const found = problems(stagingWithAzure({ subscriptionId: "my-subscription", delegatedSubnetName: "postgres/", privateDnsZoneName: "meridian.internal" }));
    expect(found.map((p) => p.keyPath)).toEqual([
      "meridian:replication.network.azure.subscriptionId",
      "meridian:replication.network.azure.delegatedSubnetName",
      "meridian:replication.network.azure.privateDnsZoneName",
    ]);
    expect(found[0]!.expected).toMatch(/GUID \(az account show --query id\)/);
    expect(found[2]!.expected).toMatch(/ending in \.postgres\.database\.azure\.com/);
  });

  it("VNet address spaces are IPv4 CIDRs keyed by the stack's region ids", () => {
    const found = problems(stagingWithAzure({ subscriptionId: SUBSCRIPTION, virtualNetworkAddressSpaces: { "azure-sea": ["10.40.0.0"], "azure-xyz": ["10.50.0.0/16"] } }));
    expect(found.map((p) => p.keyPath)).toEqual([
      "meridian:replication.network.azure.virtualNetworkAddressSpaces.azure-sea[0]",
      "meridian:replication.network.azure.virtualNetworkAddressSpaces.azure-xyz",
    ]);
    expect(found[1]!.expected).toMatch(/^unknown region id; expected one of /);
  });

  it("the removed id settings (subnet templates, the zone's id) are unknown keys, not silently ignored", () => {
    const found = problems(stagingWithAzure({ subscriptionId: SUBSCRIPTION, delegatedSubnetIdTemplate: "/subscriptions/x/…/{region}/subnets/postgres" }));
    expect(found).toEqual([expect.objectContaining({ keyPath: "meridian:replication.network.azure", expected: "unknown key delegatedSubnetIdTemplate" })]);
    const zone = problems(stagingWithAzure({ subscriptionId: SUBSCRIPTION, privateDnsZoneArmResourceId: "/subscriptions/x/…/privateDnsZones/z" }));
    expect(zone).toEqual([expect.objectContaining({ expected: "unknown key privateDnsZoneArmResourceId" })]);
  });

  it("each subnet id is composed from the subscription, resource group and the region's VNet", () => {
    const azure = loadStack("prod").replication.network.azure;
    const real = { ...azure, subscriptionId: SUBSCRIPTION };
    const vnet = `/subscriptions/${SUBSCRIPTION}/resourceGroups/meridian-prod/providers/Microsoft.Network/virtualNetworks/meridian-westeurope/subnets`;
    expect(azureSubnetId(real, "westeurope", real.delegatedSubnetName)).toBe(`${vnet}/postgres`);
    expect(azureSubnetId(real, "westeurope", GATEWAY_SUBNET)).toBe(`${vnet}/GatewaySubnet`);
    expect(azureSubnetId({ ...real, virtualNetworkNameTemplate: "hub-{region}-vnet" }, "southeastasia", "private-endpoints")).toBe(
      `/subscriptions/${SUBSCRIPTION}/resourceGroups/meridian-prod/providers/Microsoft.Network/virtualNetworks/hub-southeastasia-vnet/subnets/private-endpoints`,
    );
    expect(azureResourceGroupScope(real)).toBe(`/subscriptions/${SUBSCRIPTION}/resourceGroups/meridian-prod`);
    expect(azurePrivateDnsZoneId(real)).toBe(`/subscriptions/${SUBSCRIPTION}/resourceGroups/meridian-prod/providers/Microsoft.Network/privateDnsZones/meridian-prod.postgres.database.azure.com`);
    expect(() => azureSubnetId({ ...azure, subscriptionId: undefined }, "westeurope", "postgres")).toThrow(/meridian:replication\.network\.azure\.subscriptionId: required/);
  });
});
