/**
 * PostgreSQL logical replication for links that cross clouds, as configuration resources: a
 * publication on the feeding database and a subscription on the receiving one, each applied by an
 * idempotent Kubernetes Job (SQL in a ConfigMap, run with `psql` from the postgres image) inside the
 * region's cluster, which reaches the databases' private endpoints. `@pulumi/postgresql` would model
 * these as resources, but it is not installed and its provider needs network reach from wherever
 * `pulumi up` runs — the in-cluster Job is what works with private endpoints only.
 * Each Job mounts the cluster's `meridian-db-ca` (ca.ts) and verifies every database with its own cloud's
 * CA bundle and sslmode. Logins are read from the clouds' secret managers when the pod starts: an init
 * container runs `meridian replication credentials` (runtime/replication/credentials.ts, the reader
 * `rotate` uses) from the runtime image, under the Job's own cloud identity (identity.ts), and writes
 * them into a memory-backed emptyDir the psql container reads — so a Job always dials with the login
 * that is current, and a rotation never breaks it. None is ever in config, state or a Kubernetes Secret.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { NAMESPACES, type EstateSpec } from "../../model/estate.js";
import { workloadIdentity } from "./identity.js";
import type { RegionCluster } from "../cluster/region-cluster.js";
import { HEARTBEAT_DDL, HEARTBEAT_TABLE } from "../../runtime/replication/index.js";
import { DATABASE_NAME, type DatabaseCopy } from "./copy.js";
import { credentialsConfigSchema } from "../../runtime/replication/index.js";
import type { Federation } from "../../runtime/replication/index.js";
import { caFile, copyUrl, DB_CA_CONFIGMAP, DB_CA_DIR } from "./ca.js";

/** Where the Jobs mount their ConfigMap, and what they run from it. */
export const SQL_DIR = "/sql";
export const PUBLICATION_COMMAND = ["/bin/sh", `${SQL_DIR}/publish.sh`];
/** Where the init container writes each login (`<dir>/username`, `<dir>/password`): memory, never disk. */
const LOGIN_DIR = "/run/meridian/login";
const CREDENTIALS_FILE = "credentials.json";

/**
 * The publication Job's shell: the publisher's admin login from the files the init container wrote, then
 * psql. A plain assignment takes its command substitution's status, so `set -e` stops at a missing file.
 */
export const PUBLISH_SCRIPT = `set -eu
PGUSER=$(cat "\${LOGIN_DIR:?}/admin/username")
PGPASSWORD=$(cat "$LOGIN_DIR/admin/password")
export PGUSER PGPASSWORD
exec psql -X -v ON_ERROR_STOP=1 -f "$(dirname "$0")/publication.sql"
`;
/**
 * The monitor-login Job's shell: after its init container made the lag monitor's role on the copy
 * (runtime/replication/monitor-login.ts), log in as that role and read the heartbeat table — the Job
 * completes only once the monitor's login works and can see what it measures.
 */
export const MONITOR_LOGIN_SCRIPT = `set -eu
PGUSER=$(cat "\${LOGIN_DIR:?}/monitor/username")
PGPASSWORD=$(cat "$LOGIN_DIR/monitor/password")
export PGUSER PGPASSWORD
exec psql -X -v ON_ERROR_STOP=1 -At -c "SELECT count(*) FROM ${HEARTBEAT_TABLE}"
`;
export const MONITOR_LOGIN_COMMAND = ["/bin/sh", `${SQL_DIR}/monitor-login.sh`];
export const SUBSCRIPTION_COMMAND = ["/bin/sh", `${SQL_DIR}/subscribe.sh`];
const sqlName = (s: string) => s.replaceAll("-", "_");

export function publicationName(writer: string): string {
  return `meridian_${sqlName(writer)}`;
}

export function subscriptionName(writer: string, feeder: string): string {
  return `meridian_${sqlName(writer)}_from_${sqlName(feeder)}`;
}

/**
 * The subscription's replication slot on the publisher. Slots are per publisher, and one publisher may feed
 * several subscribers (on different clouds) under the same subscription name, so the slot also names the
 * subscriber; by default it would be the subscription's name, and the second subscriber's CREATE SUBSCRIPTION
 * would fail with "replication slot … already exists".
 */
export function replicationSlotName(writer: string, feeder: string, target: string): string {
  return `${subscriptionName(writer, feeder)}_to_${sqlName(target)}`;
}

/** The heartbeat table comes first: FOR ALL TABLES then publishes it, and subscribers copy it with the schema. */
export function publicationSql(writer: string): string {
  const pub = publicationName(writer);
  return `${HEARTBEAT_DDL}DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = '${pub}') THEN
    CREATE PUBLICATION ${pub} FOR ALL TABLES;
  END IF;
END $$;
`;
}

/**
 * Shell run by the subscription Job: copy the schema once, then subscribe (both idempotent). POSIX sh
 * (busybox ash in the Job's image; dash where the tests run it) with no pipeline whose failure matters
 * (a dump goes to a file, not into a pipe: POSIX sh has no pipefail), so `set -eu` stops
 * at any failing command — a refused login, a missing database or an SQL error exits non-zero and the
 * Job retries, instead of a check that fails quietly inside `[ … ]`. Two logins, each read from the
 * files the init container wrote under LOGIN_DIR: `source/` (the publisher's current replication login:
 * the schema dump, and the conninfo the subscription dials with) and `target/` (the subscriber's admin).
 * PGSSLMODE defaults to verify-full, PGSSLROOTCERT applies to both sides; SOURCE_SSLMODE,
 * SOURCE_SSLROOTCERT, TARGET_SSLMODE and TARGET_SSLROOTCERT override them per side (the two databases
 * are on different clouds, each with its own CA); SOURCE_PORT and TARGET_PORT default to 5432.
 */
export function subscriptionScript(writer: string, feeder: string, target: string): string {
  const sub = subscriptionName(writer, feeder);
  return `set -eu
: "\${SOURCE_HOST:?}" "\${TARGET_HOST:?}" "\${LOGIN_DIR:?}"
SOURCE_USER=$(cat "$LOGIN_DIR/source/username")
SOURCE_PASSWORD=$(cat "$LOGIN_DIR/source/password")
TARGET_USER=$(cat "$LOGIN_DIR/target/username")
TARGET_PASSWORD=$(cat "$LOGIN_DIR/target/password")
export PGSSLMODE="\${PGSSLMODE:-verify-full}"
WORK="\${TMPDIR:-/tmp}/subscribe.$$"
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT
# A libpq conninfo value: backslash-escape \\ and ', then single-quote.
q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/[\\\\']/\\\\\\\\&/g")"; }
# Each side's client with its own login (a subshell: the login never leaks to the other side).
dst() ( PGUSER=$TARGET_USER PGPASSWORD=$TARGET_PASSWORD; export PGUSER PGPASSWORD; exec psql -X -v ON_ERROR_STOP=1 "$@" )
dump() ( PGUSER=$SOURCE_USER PGPASSWORD=$SOURCE_PASSWORD; export PGUSER PGPASSWORD; exec pg_dump "$@" )
SRC="host=$(q "$SOURCE_HOST") port=\${SOURCE_PORT:-5432} dbname=${DATABASE_NAME}"
DST="host=$(q "$TARGET_HOST") port=\${TARGET_PORT:-5432} dbname=${DATABASE_NAME}"
# Each side verified by its own cloud's CA and sslmode when given (SOURCE_/TARGET_SSLMODE, _SSLROOTCERT).
tls() { [ -z "$1" ] || printf ' sslmode=%s' "$1"; [ -z "$2" ] || printf ' sslrootcert=%s' "$(q "$2")"; }
SRC_TLS="$SRC$(tls "\${SOURCE_SSLMODE:-}" "\${SOURCE_SSLROOTCERT:-}")"
DST_TLS="$DST$(tls "\${TARGET_SSLMODE:-}" "\${TARGET_SSLROOTCERT:-}")"
n=$(dst -At -d "$DST_TLS" -c "SELECT count(*) FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid WHERE d.datname = current_database() AND s.subname = '${sub}'")
if [ "$n" = 0 ]; then
  dump --schema-only --no-owner --no-publications --no-subscriptions -f "$WORK/schema.sql" -d "$SRC_TLS"
  dst -q -d "$DST_TLS" -f "$WORK/schema.sql"
  # The subscriber's own server dials the publisher, so the conninfo carries the login; psql quotes it.
  CONNINFO="$SRC user=$(q "$SOURCE_USER") password=$(q "$SOURCE_PASSWORD") sslmode=\${SUBSCRIPTION_SSLMODE:-require}"
  dst -q -v conninfo="$CONNINFO" -d "$DST_TLS" -f - <<'SQL'
CREATE SUBSCRIPTION ${sub} CONNECTION :'conninfo' PUBLICATION ${publicationName(writer)} WITH (copy_data = true, streaming = on, binary = true, slot_name = '${replicationSlotName(writer, feeder, target)}');
SQL
fi
`;
}

const asList = (d: pulumi.CustomResourceOptions["dependsOn"]): pulumi.Input<pulumi.Resource>[] => (d === undefined ? [] : Array.isArray(d) ? d : [d as pulumi.Input<pulumi.Resource>]);

/** What a Job's init container reads: each login into `LOGIN_DIR/<dir>`, and on a publisher the roles to ensure. */
interface JobLogins {
  logins: Record<string, pulumi.Output<string>>;
  roles?: { url: pulumi.Output<string>; admin: pulumi.Output<string>; login: pulumi.Output<string>; replicationGrant: DatabaseCopy["replicationGrant"] };
  /** The lag monitor's role to ensure on the copy (`writes` on a writer's primary). */
  monitor?: { url: pulumi.Output<string>; admin: pulumi.Output<string>; login: pulumi.Output<string>; writes: boolean };
}

/** A replication Job and the Kubernetes service account its pods run as (the cloud identity binds to it). */
export interface ReplicationJob {
  job: k8s.batch.v1.Job;
  serviceAccount: string;
  /** Secret references its pods read (the identity grants exactly these, read-only). */
  reads: pulumi.Output<string>[];
}

/** The init container's config, parsed with the command's own schema (a plan never renders what it would refuse). */
function credentialsConfig(l: JobLogins, federation: pulumi.Output<Federation>): pulumi.Output<string> {
  const logins = Object.entries(l.logins).map(([dir, secret]) => secret.apply((s) => ({ secret: s, dir: `${LOGIN_DIR}/${dir}` })));
  const roles = l.roles ? pulumi.all([l.roles.url, l.roles.admin, l.roles.login]).apply(([url, admin, login]) => ({ url, admin, login, replicationGrant: l.roles!.replicationGrant })) : undefined;
  const monitor = l.monitor ? pulumi.all([l.monitor.url, l.monitor.admin, l.monitor.login]).apply(([url, admin, login]) => ({ url, admin, login, writes: l.monitor!.writes })) : undefined;
  return pulumi.all([pulumi.all(logins), roles, monitor, federation]).apply(([logins, roles, monitor, federation]) => {
    const config = { logins, ...(roles ? { roles } : {}), ...(monitor ? { monitor } : {}), ...(Object.keys(federation).length ? { federation } : {}) };
    const parsed = credentialsConfigSchema.safeParse(config);
    if (!parsed.success) throw new Error(`credentials config: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    return JSON.stringify(config, null, 2);
  });
}

const restricted = (uid: number) => ({
  // Pod Security `restricted`, as the runtime namespace enforces (model/security/posture.ts).
  runAsNonRoot: true,
  runAsUser: uid,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" as const },
});

function job(
  spec: EstateSpec,
  name: string,
  images: { psql: string; runtime: string },
  cluster: RegionCluster,
  env: Record<string, pulumi.Input<string>>,
  writer: string,
  files: Record<string, string>,
  logins: JobLogins,
  command: string[],
  opts: pulumi.CustomResourceOptions,
): ReplicationJob {
  const child = { ...opts, provider: cluster.provider };
  const labels = { "app.kubernetes.io/part-of": "meridian", "app.kubernetes.io/component": "replication", "meridian.dev/writer": writer };
  const metadata = { name, namespace: NAMESPACES.runtime, labels };
  const reads = [...Object.values(logins.logins), ...(logins.roles ? [logins.roles.admin, logins.roles.login] : []), ...(logins.monitor ? [logins.monitor.admin, logins.monitor.login] : [])];
  // Its own account, bound to a cloud identity that may read this Job's secrets and nothing else (identity.ts);
  // secrets on another cloud through federation, with the projected tokens the init container exchanges.
  const identity = workloadIdentity(
    spec,
    cluster,
    name,
    reads.map((ref) => ({ ref, write: false })),
    opts,
  );
  const config = new k8s.core.v1.ConfigMap(`${cluster.region.id}-${name}`, { metadata, data: { ...files, [CREDENTIALS_FILE]: credentialsConfig(logins, identity.federation) } }, child);
  const account = new k8s.core.v1.ServiceAccount(`${cluster.region.id}-${name}`, { metadata: { ...metadata, annotations: identity.annotations } }, child);
  // Both containers run as the psql image's postgres user (70), so the 0400 login files are readable by psql only.
  const uid = 70;
  const mounts = [
    { name: "sql", mountPath: SQL_DIR, readOnly: true },
    { name: "db-ca", mountPath: DB_CA_DIR, readOnly: true },
  ];
  const created = new k8s.batch.v1.Job(
    `${cluster.region.id}-${name}`,
    {
      metadata,
      spec: {
        backoffLimit: 10,
        template: {
          // No sidecar: the Job only talks TLS to Postgres outside the mesh, and a sidecar would keep it from completing.
          metadata: { labels: { ...labels, ...identity.podLabels, "sidecar.istio.io/inject": "false" } },
          spec: {
            serviceAccountName: account.metadata.name,
            restartPolicy: "OnFailure",
            initContainers: [
              {
                name: "credentials",
                image: images.runtime,
                args: ["replication", "credentials", "--config", `${SQL_DIR}/${CREDENTIALS_FILE}`],
                volumeMounts: [...mounts, { name: "login", mountPath: LOGIN_DIR }, ...identity.mounts],
                resources: { requests: { cpu: "20m", memory: "64Mi" }, limits: { memory: "160Mi" } },
                securityContext: restricted(uid),
              },
            ],
            containers: [
              {
                name: "psql",
                image: images.psql,
                command,
                env: [...Object.entries(env).map(([k, value]) => ({ name: k, value })), { name: "LOGIN_DIR", value: LOGIN_DIR }],
                // The root filesystem is read-only; the schema dump goes to /tmp.
                volumeMounts: [...mounts, { name: "login", mountPath: LOGIN_DIR, readOnly: true }, { name: "tmp", mountPath: "/tmp" }],
                securityContext: restricted(uid),
              },
            ],
            volumes: [
              { name: "sql", configMap: { name: config.metadata.name } },
              { name: "db-ca", configMap: { name: DB_CA_CONFIGMAP } },
              // The logins live in memory only, for the pod's life.
              { name: "login", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } },
              { name: "tmp", emptyDir: {} },
              ...identity.volumes,
            ],
          },
        },
      },
    },
    { ...child, dependsOn: [...asList(opts.dependsOn), config, account] },
  );
  return { job: created, serviceAccount: name, reads };
}

/** The publication on `source` (once per writer and source region); its init container also creates the replication roles. */
/** `images.psql`: PSQL_IMAGE (model/images/charts.ts) pinned by the stack's digest; `images.runtime`: the runtime image. */
export function publication(spec: EstateSpec, source: DatabaseCopy, cluster: RegionCluster, images: { psql: string; runtime: string }, opts: pulumi.CustomResourceOptions): ReplicationJob {
  const name = `pub-${source.writer}`;
  if (!source.secrets.login) throw new Error(`${source.writer}@${source.region.id} publishes but has no replication login secret`);
  return job(
    spec,
    name,
    images,
    cluster,
    { PGHOST: source.host, PGDATABASE: DATABASE_NAME, PGSSLMODE: source.tls.sslmode, PGSSLROOTCERT: caFile(source.tls) },
    source.writer,
    { "publish.sh": PUBLISH_SCRIPT, "publication.sql": publicationSql(source.writer) },
    { logins: { admin: source.secrets.admin }, roles: { url: copyUrl(source), admin: source.secrets.admin, login: source.secrets.login, replicationGrant: source.replicationGrant } },
    PUBLICATION_COMMAND,
    opts,
  );
}

/** The subscription on `target` to `source`'s publication. */
export function subscription(
  spec: EstateSpec,
  source: DatabaseCopy,
  target: DatabaseCopy,
  cluster: RegionCluster,
  images: { psql: string; runtime: string },
  dependsOn: pulumi.Resource[],
  opts: pulumi.CustomResourceOptions,
): ReplicationJob {
  const name = `sub-${source.writer}-from-${source.region.id}`;
  if (!source.secrets.login) throw new Error(`${source.writer}@${source.region.id} publishes but has no replication login secret`);
  const tls = { SOURCE_SSLMODE: source.tls.sslmode, SOURCE_SSLROOTCERT: caFile(source.tls), TARGET_SSLMODE: target.tls.sslmode, TARGET_SSLROOTCERT: caFile(target.tls) };
  return job(
    spec,
    name,
    images,
    cluster,
    { SOURCE_HOST: source.host, TARGET_HOST: target.host, ...tls },
    source.writer,
    { "subscribe.sh": subscriptionScript(source.writer, source.region.id, target.region.id) },
    { logins: { source: source.secrets.login, target: target.secrets.admin } },
    SUBSCRIPTION_COMMAND,
    { ...opts, dependsOn },
  );
}

/**
 * The lag monitor's own login on `copy` (a writer's primary or a subscriber; a same-cloud replica has its
 * feeder's roles): its init container creates the role under the admin login — on a primary with the
 * heartbeat table and the right to stamp it — and its psql container checks the login reads the table.
 * On a subscriber `dependsOn` is its subscription Job, which copies the table with the schema first.
 */
export function monitorLogin(
  spec: EstateSpec,
  copy: DatabaseCopy,
  cluster: RegionCluster,
  images: { psql: string; runtime: string },
  dependsOn: pulumi.Resource[],
  opts: pulumi.CustomResourceOptions,
): ReplicationJob {
  if (copy.role === "replica") throw new Error(`${copy.writer}@${copy.region.id} is a replica: its monitor login is its feeder's`);
  return job(
    spec,
    `mon-${copy.writer}`,
    images,
    cluster,
    { PGHOST: copy.host, PGDATABASE: DATABASE_NAME, PGSSLMODE: copy.tls.sslmode, PGSSLROOTCERT: caFile(copy.tls) },
    copy.writer,
    { "monitor-login.sh": MONITOR_LOGIN_SCRIPT },
    { logins: { monitor: copy.secrets.monitor }, monitor: { url: copyUrl(copy), admin: copy.secrets.admin, login: copy.secrets.monitor, writes: copy.role === "primary" } },
    MONITOR_LOGIN_COMMAND,
    { ...opts, dependsOn: [...asList(opts.dependsOn), ...dependsOn] },
  );
}
