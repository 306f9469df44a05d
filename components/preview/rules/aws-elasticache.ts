/**
 * ElastiCache replication group rules (the managed Redis and the allocator's cluster-mode Redis): what
 * CreateReplicationGroup and the provider refuse, in the API reference's and the provider docs' words.
 */
import { inputs, num, str, type ProviderRule } from "./rule.js";

const GROUP = "aws:elasticache/replicationGroup:ReplicationGroup";
const API = "https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html";
const PULUMI = "https://www.pulumi.com/registry/packages/aws/api-docs/elasticache/replicationgroup/";

/** Cluster mode as the group asks for it: `clusterMode`, or a parameter group with cluster-enabled (the `.cluster.on` defaults). */
function clusterModeOn(p: Record<string, unknown>): boolean {
  return str(p["clusterMode"]) === "enabled" || /\.cluster\.on$/.test(str(p["parameterGroupName"]) ?? "");
}

export const elasticacheRules: ProviderRule[] = [
  {
    id: "aws-elasticache-replication-group-id",
    provider: "aws",
    types: [GROUP],
    summary: "A replication group id has 1 to 40 alphanumerics or hyphens, a letter first, no trailing hyphen and no '--'",
    source: `${API} (ReplicationGroupId constraints)`,
    check(r) {
      const id = str(inputs(r)["replicationGroupId"]);
      if (id === undefined) return [];
      const out: string[] = [];
      if (id.length < 1 || id.length > 40 || !/^[0-9A-Za-z-]+$/.test(id)) out.push(`replicationGroupId "${id}": a name must contain from 1 to 40 alphanumeric characters or hyphens`);
      if (!/^[A-Za-z]/.test(id)) out.push(`replicationGroupId "${id}": the first character must be a letter`);
      if (/-$/.test(id) || /--/.test(id)) out.push(`replicationGroupId "${id}": a name cannot end with a hyphen or contain two consecutive hyphens`);
      return out;
    },
  },
  {
    id: "aws-elasticache-auth-token",
    provider: "aws",
    types: [GROUP],
    summary: "An AUTH token needs transit encryption and is 16 to 128 printable ASCII characters whose only specials are ! & # $ ^ < > -",
    source: `${API} (AuthToken: can be specified only on replication groups where TransitEncryptionEnabled is true; password constraints)`,
    check(r) {
      const p = inputs(r);
      if (p["authToken"] === undefined) return [];
      const out: string[] = [];
      if (p["transitEncryptionEnabled"] !== true) out.push("AuthToken can be specified only on replication groups where TransitEncryptionEnabled is true");
      const token = str(p["authToken"]);
      // A token the plan does not know yet (a generated password before it exists) passes, as in a real preview.
      if (token === undefined) return out;
      if (token.length < 16 || token.length > 128) out.push(`AuthToken must be at least 16 characters and no more than 128 characters in length (has ${token.length})`);
      const bad = [...new Set(token.replace(/[0-9A-Za-z!&#$^<>-]/g, ""))];
      if (bad.length) out.push(`AuthToken: the only permitted printable special characters are !, &, #, $, ^, <, >, and - (found ${bad.map((c) => JSON.stringify(c)).join(", ")})`);
      return out;
    },
  },
  {
    id: "aws-elasticache-cluster-mode",
    provider: "aws",
    types: [GROUP],
    summary:
      "Cluster mode needs automatic failover; several shards need cluster mode (a cluster-enabled parameter group); numCacheClusters conflicts with shards; 0–5 replicas per shard; Multi-AZ needs automatic failover",
    source: `${PULUMI} (automaticFailoverEnabled: must be enabled for Redis (cluster mode enabled) replication groups; multiAzEnabled: if true, automaticFailoverEnabled must also be enabled; parameterGroupName: use a parameter group with cluster-enabled for cluster mode; numCacheClusters conflicts with numNodeGroups); ${API} (ReplicasPerNodeGroup: valid values are 0 to 5)`,
    check(r) {
      const p = inputs(r);
      const out: string[] = [];
      const on = clusterModeOn(p);
      const groups = num(p["numNodeGroups"]);
      if (on && p["automaticFailoverEnabled"] !== true) out.push("automaticFailoverEnabled: must be enabled for Redis (cluster mode enabled) replication groups");
      if (groups !== undefined && groups > 1 && !on) out.push(`numNodeGroups ${groups}: several node groups (shards) need cluster mode (clusterMode enabled, a cluster-enabled parameter group)`);
      if (p["numCacheClusters"] !== undefined && (groups !== undefined || p["replicasPerNodeGroup"] !== undefined))
        out.push('"num_cache_clusters": conflicts with num_node_groups and replicas_per_node_group');
      if (p["multiAzEnabled"] === true && p["automaticFailoverEnabled"] !== true) out.push("multiAzEnabled: if true, automaticFailoverEnabled must also be enabled");
      const replicas = num(p["replicasPerNodeGroup"]);
      if (replicas !== undefined && (replicas < 0 || replicas > 5)) out.push(`replicasPerNodeGroup ${replicas}: valid values are 0 to 5`);
      return out;
    },
  },
];
