/**
 * Azure Database for PostgreSQL flexible server: the partition's primary, read replicas in other Azure
 * regions (createMode Replica, sourceServerResourceId = the feeding server), or a standalone subscriber.
 * VNet-integrated with public network access disabled, which Azure allows only with a private DNS zone
 * given at creation (meridian:replication.network.azure.privateDnsZoneArmResourceId). Entra ID
 * authentication only: every client (runtime, replication Jobs) presents an Entra token minted at
 * connect time, so there is no password to rotate. Publishers set `wal_level` to logical.
 */
import * as pulumi from "@pulumi/pulumi";
import * as dbforpostgresql from "@pulumi/azure-native/dbforpostgresql/index.js";
import type { ReplicationConfig } from "../../model/estate.js";
import { azureTls } from "./ca.js";
import { POSTGRES_MAJOR, copyIdentifier, type CopyRequest, type DatabaseCopy } from "./copy.js";

export function azurePostgresCopy(req: CopyRequest, network: ReplicationConfig["network"]["azure"], size: ReplicationConfig["databases"], opts: pulumi.CustomResourceOptions): DatabaseCopy {
  const serverName = copyIdentifier(req.environment, req.writer, req.region.id);
  // Replicas name their size too: a replica may differ from its source, and the plan must say what it bills.
  const sized = { sku: { name: size.azure.skuName, tier: size.azure.tier }, storage: { storageSizeGB: size.storageGB, autoGrow: "Enabled" } };
  const base = { resourceGroupName: network.resourceGroupName, serverName, location: req.region.region, ...sized };
  const server =
    req.role === "replica"
      ? new dbforpostgresql.Server(serverName, { ...base, createMode: "Replica", sourceServerResourceId: req.feeder!.replicationSource }, { ...opts, dependsOn: req.feeder!.ready })
      : new dbforpostgresql.Server(
          serverName,
          {
            ...base,
            createMode: "Create",
            version: POSTGRES_MAJOR,
            authConfig: { activeDirectoryAuth: "Enabled", passwordAuth: "Disabled" },
            backup: { backupRetentionDays: 14, geoRedundantBackup: "Enabled" },
            network: {
              publicNetworkAccess: "Disabled",
              delegatedSubnetResourceId: network.delegatedSubnetIdTemplate.replaceAll("{region}", req.region.region),
              ...(network.privateDnsZoneArmResourceId ? { privateDnsZoneArmResourceId: network.privateDnsZoneArmResourceId } : {}),
            },
          },
          opts,
        );
  if (req.publishes) {
    new dbforpostgresql.Configuration(
      `${serverName}-wal-level`,
      { resourceGroupName: network.resourceGroupName, serverName: server.name, configurationName: "wal_level", value: "logical", source: "user-override" },
      opts,
    );
  }
  return { writer: req.writer, region: req.region, role: req.role, host: server.fullyQualifiedDomainName, replicationSource: server.id, ready: [server], auth: "azure-entra", tls: azureTls() };
}
