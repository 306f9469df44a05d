/**
 * Memorystore for Redis Cluster rules (the allocator's managed cluster on GCP): what clusters.create and the
 * provider refuse, in the REST reference's, the quota page's and the provider docs' words.
 */
import { arr, inputs, num, str, type ProviderRule } from "./rule.js";

const CLUSTER = "gcp:redis/cluster:Cluster";
const REST = "https://cloud.google.com/memorystore/docs/cluster/reference/rest/v1/projects.locations.clusters/create";
const PULUMI = "https://www.pulumi.com/registry/packages/gcp/api-docs/redis/cluster/";
const QUOTAS = "https://cloud.google.com/memorystore/docs/cluster/quotas";
const OVERVIEW = "https://cloud.google.com/memorystore/docs/cluster/overview";
const TRANSIT = "https://cloud.google.com/memorystore/docs/cluster/about-in-transit-encryption";
const IAM_AUTH = "https://cloud.google.com/memorystore/docs/cluster/about-iam-auth";
const PROJECT_MEMBER = "gcp:projects/iAMMember:IAMMember";

/** The node types @pulumi/gcp 9.37's redis.Cluster documents (`nodeType`: possible values). */
const NODE_TYPES = ["REDIS_SHARED_CORE_NANO", "REDIS_HIGHMEM_MEDIUM", "REDIS_HIGHCPU_MEDIUM", "REDIS_STANDARD_LARGE", "REDIS_HIGHMEM_XLARGE", "REDIS_HIGHMEM_2XLARGE", "REDIS_STANDARD_SMALL"];
const AUTH_MODES = ["AUTH_MODE_UNSPECIFIED", "AUTH_MODE_IAM_AUTH", "AUTH_MODE_DISABLED"];
const TRANSIT_MODES = ["TRANSIT_ENCRYPTION_MODE_UNSPECIFIED", "TRANSIT_ENCRYPTION_MODE_DISABLED", "TRANSIT_ENCRYPTION_MODE_SERVER_AUTHENTICATION"];
/** Usage units per cluster: shard_count × (1 + replica_count). */
const MAX_UNITS = 250;
const MAX_REPLICAS = 5;

export const gcpRedisClusterRules: ProviderRule[] = [
  {
    id: "gcp-redis-cluster-id",
    provider: "gcp",
    types: [CLUSTER],
    summary: "A cluster id has 1 to 63 lower-case letters, digits or hyphens, starts with a letter and ends with a letter or digit",
    source: `${REST} (clusterId: must contain only lowercase letters, numbers, and hyphens; must start with a letter; must be between 1-63 characters; must end with a number or a letter)`,
    check(r) {
      const id = str(inputs(r)["name"]);
      if (id === undefined) return [];
      const out: string[] = [];
      if (id.length < 1 || id.length > 63) out.push(`name "${id}": must be between 1-63 characters (has ${id.length})`);
      if (!/^[a-z0-9-]*$/.test(id)) out.push(`name "${id}": must contain only lowercase letters, numbers, and hyphens`);
      if (!/^[a-z]/.test(id)) out.push(`name "${id}": must start with a letter`);
      if (!/[a-z0-9]$/.test(id)) out.push(`name "${id}": must end with a number or a letter`);
      return out;
    },
  },
  {
    id: "gcp-redis-cluster-shape",
    provider: "gcp",
    types: [CLUSTER],
    summary: "A documented node type; at least one shard; 0 to 5 replicas per shard; at most 250 usage units (shards × (1 + replicas)) per cluster",
    source: `${PULUMI} (nodeType: possible values; shardCount: required); ${OVERVIEW} (each shard: a primary and up to five replicas); ${QUOTAS} (usage units per cluster: 250; units = shard_count × (1 + replica_count))`,
    check(r) {
      const p = inputs(r);
      const out: string[] = [];
      const type = str(p["nodeType"]);
      if (type !== undefined && !NODE_TYPES.includes(type)) out.push(`nodeType "${type}": expected one of ${NODE_TYPES.join(", ")}`);
      const shards = num(p["shardCount"]);
      if (shards !== undefined && (!Number.isInteger(shards) || shards < 1)) out.push(`shardCount ${shards}: a cluster has at least one shard`);
      const replicas = num(p["replicaCount"]) ?? 0;
      if (!Number.isInteger(replicas) || replicas < 0 || replicas > MAX_REPLICAS) out.push(`replicaCount ${replicas}: each shard has 0 to ${MAX_REPLICAS} replicas`);
      if (shards !== undefined && shards * (1 + replicas) > MAX_UNITS)
        out.push(`shardCount ${shards} × (1 + replicaCount ${replicas}) = ${shards * (1 + replicas)} usage units: a cluster has at most ${MAX_UNITS}`);
      return out;
    },
  },
  {
    id: "gcp-redis-cluster-access",
    provider: "gcp",
    types: [CLUSTER],
    summary: "Exactly one PSC config (a network); documented authorization and transit encryption modes; IAM authentication only with TLS",
    source: `${PULUMI} (pscConfigs: required, currently only one PscConfig is supported; authorizationMode and transitEncryptionMode: possible values); ${TRANSIT} (IAM authentication requires TLS so tokens are not exposed in transmission)`,
    check(r) {
      const p = inputs(r);
      const out: string[] = [];
      const psc = arr(p["pscConfigs"]);
      if (p["pscConfigs"] !== undefined && psc.length !== 1) out.push(`pscConfigs: currently only one PscConfig is supported (has ${psc.length})`);
      if (p["pscConfigs"] === undefined) out.push("pscConfigs: required (the consumer network the cluster's endpoints are in)");
      const auth = str(p["authorizationMode"]);
      if (auth !== undefined && !AUTH_MODES.includes(auth)) out.push(`authorizationMode "${auth}": expected one of ${AUTH_MODES.join(", ")}`);
      const transit = str(p["transitEncryptionMode"]);
      if (transit !== undefined && !TRANSIT_MODES.includes(transit)) out.push(`transitEncryptionMode "${transit}": expected one of ${TRANSIT_MODES.join(", ")}`);
      if (auth === "AUTH_MODE_IAM_AUTH" && transit !== "TRANSIT_ENCRYPTION_MODE_SERVER_AUTHENTICATION")
        out.push("authorizationMode AUTH_MODE_IAM_AUTH: IAM authentication requires in-transit encryption (transitEncryptionMode TRANSIT_ENCRYPTION_MODE_SERVER_AUTHENTICATION)");
      return out;
    },
  },
  {
    id: "gcp-redis-cluster-iam-principal",
    provider: "gcp",
    types: [PROJECT_MEMBER],
    summary: "roles/redis.dbConnectionUser (IAM authentication to a cluster) is granted to a user or a service account: other principal types cannot authenticate",
    source: `${IAM_AUTH} (principals: user accounts and service accounts; IAM authentication does not yet support other principal types such as Google groups, Google Workspace domains or Cloud Identity domains; the role roles/redis.dbConnectionUser carries redis.clusters.connect)`,
    check(r) {
      const p = inputs(r);
      if (p["role"] !== "roles/redis.dbConnectionUser") return [];
      const member = str(p["member"]);
      if (member === undefined || /^(user|serviceAccount):[^\s@]+@[^\s@]+$/.test(member)) return [];
      return [`member "${member}": Memorystore IAM authentication supports user accounts and service accounts only (user:EMAIL or serviceAccount:EMAIL)`];
    },
  },
];
