/**
 * No public database endpoints: RDS/Aurora instances are not publicly accessible, Cloud SQL has no
 * public IPv4 and a private network, Azure PostgreSQL flexible servers disable public network access
 * (replicas inherit the source's network), and no firewall rule opens a server to the internet.
 */
import { prop, type ResourceRule } from "../rule.js";

export const noPublicDatabases: ResourceRule = {
  kind: "resource",
  name: "meridian-no-public-databases",
  description: "Databases are reachable on private endpoints only.",
  enforcementLevel: "mandatory",
  check(r) {
    const p = r.props;
    switch (r.type) {
      case "aws:rds/clusterInstance:ClusterInstance":
      case "aws:rds/instance:Instance":
        return prop(p, "publiclyAccessible") === true ? ["publiclyAccessible is true"] : [];
      case "gcp:sql/databaseInstance:DatabaseInstance": {
        const ip = prop(p, "settings.ipConfiguration");
        const out: string[] = [];
        // Cloud SQL assigns a public IPv4 unless told not to.
        if (prop(ip, "ipv4Enabled") !== false) out.push("settings.ipConfiguration.ipv4Enabled must be false (Cloud SQL enables a public IP by default)");
        if (prop(ip, "privateNetwork") === undefined && prop(ip, "pscConfigs") === undefined) out.push("settings.ipConfiguration needs privateNetwork (or Private Service Connect)");
        return out;
      }
      case "azure-native:dbforpostgresql:Server": {
        const network = prop(p, "network");
        if (prop(p, "createMode") === "Replica" && network === undefined) return [];
        const out: string[] = [];
        if (prop(network, "publicNetworkAccess") !== "Disabled") out.push("network.publicNetworkAccess must be Disabled");
        if (prop(network, "delegatedSubnetResourceId") === undefined) out.push("network.delegatedSubnetResourceId is required (VNet integration)");
        return out;
      }
      case "azure-native:dbforpostgresql:FirewallRule": {
        const start = String(prop(p, "startIpAddress") ?? "");
        const end = String(prop(p, "endIpAddress") ?? "");
        return start === "0.0.0.0" && end === "255.255.255.255" ? ["firewall rule opens the server to every address"] : [];
      }
      default:
        return [];
    }
  },
};
