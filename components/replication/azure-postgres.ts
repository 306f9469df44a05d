/**
 * Azure Database for PostgreSQL flexible server: the partition's primary, read replicas in other Azure
 * regions (createMode Replica, sourceServerResourceId = the feeding server), or a standalone subscriber.
 * VNet-integrated with public network access disabled, which Azure allows only with a private DNS zone
 * given at creation (meridian:replication.network.azure.privateDnsZoneName). Publishers set
 * `wal_level` to logical.
 *
 * Authentication: Entra ID and passwords both enabled. A subscriber on another cloud logs in to an Azure
 * publisher with a password (its walreceiver reconnects with the conninfo stored in the subscription,
 * which an Entra token would outlive), so passwordAuth cannot be Disabled on a server that publishes; the
 * administrator `meridian_admin` gets a generated password kept in Key Vault (`<server>-admin`, in the
 * vault meridian:replication.network.azure.keyVaultName), and a publisher its alternating replication
 * login (`<server>-replication`, rotated by `meridian replication rotate`; credentials.ts). Replicas
 * share their source's roles.
 */
import * as pulumi from "@pulumi/pulumi";
import * as dbforpostgresql from "@pulumi/azure-native/dbforpostgresql/index.js";
import type { ReplicationConfig } from "../../model/estate.js";
import { azureTls } from "./ca.js";
import { azureSecret, generatedPassword, initialReplicationLogin, loginJson, monitorLoginJson } from "./credentials.js";
import { POSTGRES_MAJOR, copyIdentifier, type CopyRequest, type DatabaseCopy } from "./copy.js";
import { azurePrivateDnsZoneId, azureSubnetId } from "../../model/network/azure.js";

/** The server administrator (a member of azure_pg_admin: may create roles with REPLICATION). */
const ADMIN_USER = "meridian_admin";

export function azurePostgresCopy(req: CopyRequest, network: ReplicationConfig["network"]["azure"], size: ReplicationConfig["databases"], opts: pulumi.CustomResourceOptions): DatabaseCopy {
  const serverName = copyIdentifier(req.environment, req.writer, req.region.id);
  // Replicas name their size too: a replica may differ from its source, and the plan must say what it bills.
  const sized = { sku: { name: size.azure.skuName, tier: size.azure.tier }, storage: { storageSizeGB: size.storageGB, autoGrow: "Enabled" } };
  const base = { resourceGroupName: network.resourceGroupName, serverName, location: req.region.region, ...sized };
  const password = req.role === "replica" ? undefined : generatedPassword(`${serverName}-admin`, opts);
  const server =
    req.role === "replica"
      ? new dbforpostgresql.Server(serverName, { ...base, createMode: "Replica", sourceServerResourceId: req.feeder!.replicationSource }, { ...opts, dependsOn: req.feeder!.ready })
      : new dbforpostgresql.Server(
          serverName,
          {
            ...base,
            createMode: "Create",
            version: POSTGRES_MAJOR,
            authConfig: { activeDirectoryAuth: "Enabled", passwordAuth: "Enabled" },
            administratorLogin: ADMIN_USER,
            administratorLoginPassword: password!,
            backup: { backupRetentionDays: 14, geoRedundantBackup: "Enabled" },
            network: {
              publicNetworkAccess: "Disabled",
              delegatedSubnetResourceId: azureSubnetId(network, req.region.region, network.delegatedSubnetName),
              privateDnsZoneArmResourceId: azurePrivateDnsZoneId(network),
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
  const secrets =
    req.role === "replica"
      ? req.feeder!.secrets
      : {
          admin: azureSecret(`${serverName}-admin`, network, loginJson(ADMIN_USER, password!), false, opts),
          monitor: azureSecret(`${serverName}-monitor`, network, monitorLoginJson(serverName, opts), true, opts),
          ...(req.publishes ? { login: azureSecret(`${serverName}-replication`, network, initialReplicationLogin(serverName, opts), true, opts) } : {}),
        };
  return {
    writer: req.writer,
    region: req.region,
    role: req.role,
    host: server.fullyQualifiedDomainName,
    replicationSource: server.id,
    ready: [server],
    secrets,
    replicationGrant: "attribute",
    tls: azureTls(),
  };
}
