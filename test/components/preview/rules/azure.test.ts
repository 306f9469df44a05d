import { describe, expect, it } from "vitest";
import * as dbforpostgresql from "@pulumi/azure-native/dbforpostgresql/index.js";
import * as azureDns from "@pulumi/azure-native/dns/index.js";
import * as keyvault from "@pulumi/azure-native/keyvault/index.js";
import * as azureRedis from "@pulumi/azure-native/redis/index.js";
import * as tm from "@pulumi/azure-native/trafficmanager/index.js";
import { messages, refusals } from "./refuse.js";

const server = {
  resourceGroupName: "rg",
  location: "westeurope",
  createMode: "Create",
  version: "16",
  sku: { name: "Standard_D4ds_v5", tier: "GeneralPurpose" },
  authConfig: { activeDirectoryAuth: "Enabled", passwordAuth: "Disabled" },
};
const subnet = "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/postgres";

describe("Azure provider rules", () => {
  it("azure-postgres-private-dns-zone: a VNet-integrated server without a private DNS zone is refused", async () => {
    const v = await refusals(() => {
      new dbforpostgresql.Server("vnet", { ...server, serverName: "vnet", network: { publicNetworkAccess: "Disabled", delegatedSubnetResourceId: subnet } });
      new dbforpostgresql.Server("wrong-zone", {
        ...server,
        serverName: "wrong-zone",
        network: {
          publicNetworkAccess: "Disabled",
          delegatedSubnetResourceId: subnet,
          privateDnsZoneArmResourceId: "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Network/privateDnsZones/example.com",
        },
      });
    });
    expect(messages(v, "azure-postgres-private-dns-zone")).toEqual([
      "BadRequest: network.privateDnsZoneArmResourceId: Identifier of the private DNS zone. Required during creation of a new server, in case you want the server to be integrated into your own virtual network.",
      "InvalidPrivateDnsZoneName: The private DNS zone 'example.com' must end with '.postgres.database.azure.com'.",
    ]);
  });

  it("azure-postgres-administrator-login, -replica-source, -storage-size, -server-name", async () => {
    const v = await refusals(() => {
      new dbforpostgresql.Server("pw", { ...server, serverName: "-Bad", authConfig: { passwordAuth: "Enabled" }, storage: { storageSizeGB: 100 } });
      new dbforpostgresql.Server("replica", { resourceGroupName: "rg", location: "westeurope", serverName: "replica", createMode: "Replica" });
    });
    expect(messages(v, "azure-postgres-administrator-login")[0]).toMatch(/administratorLogin and administratorLoginPassword must be specified/);
    expect(messages(v, "azure-postgres-replica-source")[0]).toMatch(/Required when 'createMode' is 'Replica'/);
    expect(messages(v, "azure-postgres-storage-size")[0]).toMatch(/100 GB is not supported/);
    expect(messages(v, "azure-postgres-server-name")[0]).toMatch(/Server name '-Bad'/);
  });

  it("azure-postgres-administrator-name and azure-keyvault-secret-name: reserved admin names and malformed secret names are refused", async () => {
    const admin = { ...server, authConfig: { activeDirectoryAuth: "Enabled", passwordAuth: "Enabled" }, administratorLoginPassword: "x".repeat(20) };
    const v = await refusals(() => {
      new dbforpostgresql.Server("ok", { ...admin, serverName: "ok", administratorLogin: "meridian_admin" });
      new dbforpostgresql.Server("reserved", { ...admin, serverName: "reserved", administratorLogin: "azure_pg_admin" });
      new dbforpostgresql.Server("pg", { ...admin, serverName: "pg", administratorLogin: "pg_meridian" });
      new keyvault.Secret("ok", { resourceGroupName: "rg", vaultName: "kv", secretName: "meridian-prod-azure-sea-admin", properties: { value: "{}" } });
      new keyvault.Secret("bad", { resourceGroupName: "rg", vaultName: "kv", secretName: "meridian/prod_admin", properties: { value: "{}" } });
    });
    expect(messages(v, "azure-postgres-administrator-name")).toEqual([
      expect.stringMatching(/^InvalidParameterValue: Invalid value given for parameter administratorLogin 'azure_pg_admin'/),
      expect.stringMatching(/administratorLogin 'pg_meridian'.*can't start with pg_/),
    ]);
    expect(messages(v, "azure-keyvault-secret-name")).toEqual(["BadParameter: The request URI contains an invalid name: meridian/prod_admin"]);
  });

  it("azure-traffic-manager-monitor and -endpoint", async () => {
    const v = await refusals(() => {
      new tm.Profile("p", {
        resourceGroupName: "rg",
        profileName: "p",
        location: "global",
        trafficRoutingMethod: "Geographic",
        dnsConfig: { relativeName: "p", ttl: 60 },
        monitorConfig: { protocol: "TCP", port: 443, path: "/healthz", intervalInSeconds: 20, timeoutInSeconds: 12, toleratedNumberOfFailures: 10 },
      });
      new tm.Endpoint("e", { resourceGroupName: "rg", profileName: "p", endpointName: "e", endpointType: "ExternalEndpoints", weight: 2000 });
    });
    expect(messages(v, "azure-traffic-manager-monitor")).toHaveLength(4);
    expect(messages(v, "azure-traffic-manager-endpoint")).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/weight 2000 is not valid/),
        expect.stringMatching(/Geographic traffic routing method must have at least one geographic region/),
        expect.stringMatching(/'target' property is required/),
      ]),
    );
  });

  it("azure-dns-address-records and azure-redis-sku", async () => {
    const v = await refusals(() => {
      new azureDns.RecordSet("a", { resourceGroupName: "rg", zoneName: "example.com", relativeRecordSetName: "api", recordType: "A", ttl: 60, aRecords: [{ ipv4Address: "gw.example.net" }] });
      new azureRedis.Redis("r", { resourceGroupName: "rg", location: "westeurope", sku: { name: "Standard", family: "P", capacity: 7 } });
    });
    expect(messages(v, "azure-dns-address-records")).toEqual(["BadRequest: The value 'gw.example.net' of ipv4Address is not a valid IPv4 address."]);
    expect(messages(v, "azure-redis-sku")).toHaveLength(2);
  });
});
