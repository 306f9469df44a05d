/**
 * Azure Managed Redis rules (the Redis Enterprise resource provider; the allocator's managed cluster on Azure): what
 * the provider refuses, in @pulumi/azure-native 3.28's documented constraints and the service docs' words.
 */
import { inputs, num, obj, str, type ProviderRule } from "./rule.js";

const CLUSTER = "azure-native:redisenterprise:RedisEnterprise";
const DATABASE = "azure-native:redisenterprise:Database";
const PULUMI = "https://www.pulumi.com/registry/packages/azure-native/api-docs/redisenterprise/redisenterprise/";
const PULUMI_DB = "https://www.pulumi.com/registry/packages/azure-native/api-docs/redisenterprise/database/";
const AMR = "https://learn.microsoft.com/azure/redis/architecture";

/** SkuName of @pulumi/azure-native 3.28's redisenterprise (enums.redisenterprise.SkuName), by family. */
const SKU =
  /^(Enterprise_E(1|5|10|20|50|100|200|400)|EnterpriseFlash_F(300|700|1500)|Balanced_B(0|1|3|5|10|20|50|100|150|250|350|500|700|1000)|MemoryOptimized_M(10|20|50|100|150|250|350|500|700|1000|1500|2000)|ComputeOptimized_X(3|5|10|20|50|100|150|250|350|500|700)|FlashOptimized_A(250|500|700|1000|1500|2000|4500))$/;
const CLUSTERING = ["EnterpriseCluster", "OSSCluster", "NoCluster"];

export const azureRedisEnterpriseRules: ProviderRule[] = [
  {
    id: "azure-redis-enterprise-name",
    provider: "azure",
    types: [CLUSTER, DATABASE],
    summary: "A cluster name has 1 to 60 letters, digits or hyphens, with no leading, trailing or consecutive hyphens",
    source: `${PULUMI} (clusterName: name must be 1-60 characters long; allowed characters (A-Z, a-z, 0-9) and hyphen (-); there can be no leading nor trailing nor consecutive hyphens)`,
    check(r) {
      const name = str(inputs(r)["clusterName"]);
      if (name === undefined) return [];
      const out: string[] = [];
      if (name.length < 1 || name.length > 60) out.push(`clusterName "${name}": name must be 1-60 characters long (has ${name.length})`);
      if (!/^[A-Za-z0-9-]*$/.test(name)) out.push(`clusterName "${name}": allowed characters are A-Z, a-z, 0-9 and hyphen`);
      if (/^-|-$|--/.test(name)) out.push(`clusterName "${name}": there can be no leading nor trailing nor consecutive hyphens`);
      return out;
    },
  },
  {
    id: "azure-redis-enterprise-sku",
    provider: "azure",
    types: [CLUSTER],
    summary: "A known SKU; capacity only on Enterprise (2, 4, 6, …) and EnterpriseFlash (3, 9, 15, …) SKUs; publicNetworkAccess Enabled or Disabled",
    source: `${PULUMI} (sku.name: SkuName values; sku.capacity: only used with Enterprise and EnterpriseFlash SKUs, valid values (2, 4, 6, ...) for Enterprise and (3, 9, 15, ...) for EnterpriseFlash; publicNetworkAccess: only 'Enabled' or 'Disabled' can be set)`,
    check(r) {
      const p = inputs(r);
      const out: string[] = [];
      const sku = obj(p["sku"]);
      const name = str(sku["name"]);
      if (name !== undefined && !SKU.test(name)) out.push(`sku.name "${name}": not an Azure Managed Redis / Redis Enterprise SKU (Balanced_B5, MemoryOptimized_M10, ComputeOptimized_X5, …)`);
      const capacity = num(sku["capacity"]);
      if (capacity !== undefined && name !== undefined) {
        if (name.startsWith("EnterpriseFlash_")) {
          if (capacity < 3 || (capacity - 3) % 6 !== 0) out.push(`sku.capacity ${capacity}: valid values are 3, 9, 15, ... for EnterpriseFlash SKUs`);
        } else if (name.startsWith("Enterprise_")) {
          if (capacity < 2 || capacity % 2 !== 0) out.push(`sku.capacity ${capacity}: valid values are 2, 4, 6, ... for Enterprise SKUs`);
        } else out.push(`sku.capacity ${capacity}: only used with Enterprise and EnterpriseFlash SKUs, not ${name}`);
      }
      const pna = p["publicNetworkAccess"];
      if (pna !== undefined && pna !== "Enabled" && pna !== "Disabled") out.push(`publicNetworkAccess ${JSON.stringify(pna)}: only 'Enabled' or 'Disabled' can be set`);
      return out;
    },
  },
  {
    id: "azure-redis-enterprise-database",
    provider: "azure",
    types: [DATABASE],
    summary: "Azure Managed Redis has one database, named 'default'; a documented clustering policy; the port is 10000",
    source: `${AMR} (each instance has one database, named default, on port 10000); ${PULUMI_DB} (clusteringPolicy: EnterpriseCluster, OSSCluster or NoCluster)`,
    check(r) {
      const p = inputs(r);
      const out: string[] = [];
      const name = str(p["databaseName"]);
      if (p["databaseName"] !== undefined && name !== "default") out.push(`databaseName ${JSON.stringify(p["databaseName"])}: the one database of a cluster is named 'default'`);
      const policy = str(p["clusteringPolicy"]);
      if (policy !== undefined && !CLUSTERING.includes(policy)) out.push(`clusteringPolicy "${policy}": expected one of ${CLUSTERING.join(", ")}`);
      const port = num(p["port"]);
      if (port !== undefined && port !== 10000) out.push(`port ${port}: the database's endpoint is on port 10000`);
      return out;
    },
  },
];
