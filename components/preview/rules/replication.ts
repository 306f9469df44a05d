/**
 * Logical-replication rules (components/replication): a storage-level replica — an Aurora Global Database
 * secondary cluster, a Cloud SQL read replica, an Azure flexible-server read replica — is a hot standby,
 * read-only. PostgreSQL refuses every write there (CREATE PUBLICATION, the roles the credentials step and the
 * rotation create and ALTER, the monitor's heartbeat stamps) with its read-only-transaction error, and the
 * managed services allow no logical slot on a replica; its roles are its primary's. So a replication Job or
 * CronJob (publication, subscription source, credentials, rotation) whose inputs came from a read-only copy
 * would fail at its first statement after `pulumi up`. The monitor's Deployment only reads, and may.
 */
import type { RecordedResource } from "../mock-runtime.js";
import { inputs, obj, str, type PlanView, type ProviderRule } from "./rule.js";

const AURORA = "aws:rds/cluster:Cluster";
const CLOUD_SQL = "gcp:sql/databaseInstance:DatabaseInstance";
const AZURE = "azure-native:dbforpostgresql:Server";
const WRITERS = ["kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob"];
const CONFIG_MAP = "kubernetes:core/v1:ConfigMap";

/** Whether a database resource is a read-only replica: a global secondary, a Cloud SQL or Azure read replica. */
function readOnly(r: RecordedResource): boolean {
  const p = inputs(r);
  if (r.type === AURORA) return p["globalClusterIdentifier"] !== undefined && p["masterUsername"] === undefined && p["snapshotIdentifier"] === undefined;
  if (r.type === CLOUD_SQL) return p["masterInstanceName"] !== undefined;
  if (r.type === AZURE) return p["createMode"] === "Replica";
  return false;
}

/** The writable copy a read-only one replicates (following cascades), or undefined when the plan does not hold it. */
function writableOf(r: RecordedResource, plan: PlanView, seen = new Set<string>()): RecordedResource | undefined {
  if (!readOnly(r)) return r;
  if (seen.has(r.urn)) return undefined;
  seen.add(r.urn);
  const p = inputs(r);
  let source: RecordedResource | undefined;
  if (r.type === AURORA) {
    const global = str(p["globalClusterIdentifier"]);
    source = plan.ofType(AURORA).find((c) => c !== r && !readOnly(c) && str(inputs(c)["globalClusterIdentifier"]) === global && global !== undefined);
  } else if (r.type === CLOUD_SQL) {
    const master = str(p["masterInstanceName"]);
    source = plan.ofType(CLOUD_SQL).find((i) => i !== r && master !== undefined && (str(inputs(i)["name"]) ?? i.name) === master);
  }
  // Otherwise (Azure's sourceServerResourceId, or an unknown value): the source the replica's inputs came from.
  source ??= r.dependencies.map((u) => plan.byUrn.get(u)).find((d): d is RecordedResource => d?.type === r.type);
  return source && writableOf(source, plan, seen);
}

/**
 * The databases a Job or CronJob connects to: those its own inputs (env) came from, and those of the config
 * ConfigMaps it mounts (`*.json`: the credentials step's and the rotation's). A ConfigMap of CA bundles only
 * (`*.pem`, which a Cloud SQL replica's server CA feeds) is no connection.
 */
function connectsTo(r: RecordedResource, plan: PlanView): RecordedResource[] {
  const direct = r.dependencies.map((u) => plan.byUrn.get(u)).filter((d): d is RecordedResource => d !== undefined);
  const viaConfig = direct
    .filter((d) => d.type === CONFIG_MAP && Object.keys(obj(inputs(d)["data"])).some((k) => k.endsWith(".json")))
    .flatMap((m) => m.dependencies.map((u) => plan.byUrn.get(u)).filter((d): d is RecordedResource => d !== undefined));
  return [...new Set([...direct, ...viaConfig])].filter((d) => [AURORA, CLOUD_SQL, AZURE].includes(d.type));
}

export const replicationRules: ProviderRule[] = [
  {
    id: "replication-writes-on-read-only-copy",
    provider: "estate",
    types: WRITERS,
    summary:
      "A replication Job or CronJob (publication, subscription source, credentials, rotation) writes to no read-only replica (Aurora global secondary, Cloud SQL or Azure read replica): publications, slots and role changes go to the writable primary",
    source:
      "https://github.com/postgres/postgres/blob/REL_16_STABLE/src/backend/tcop/utility.c (PreventCommandIfReadOnly); https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-global-database.html (secondary clusters are read-only); https://cloud.google.com/sql/docs/postgres/replication (read replicas are read-only); https://learn.microsoft.com/en-us/azure/postgresql/flexible-server/concepts-read-replicas (replicas are read-only)",
    check(r, plan) {
      const out: string[] = [];
      for (const db of connectsTo(r, plan)) {
        if (!readOnly(db)) continue;
        const primary = writableOf(db, plan);
        out.push(
          `${r.name} connects to ${db.name}, a read-only replica (${db.type}), to publish, stream from a slot or change roles: ` +
            `ERROR: cannot execute CREATE PUBLICATION (ALTER ROLE, CREATE ROLE) in a read-only transaction; ` +
            `connect it to the writable primary ${primary?.name ?? "(not in this plan)"}, whose roles and publications the replica only mirrors`,
        );
      }
      return out;
    },
  },
];
