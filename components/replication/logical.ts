/**
 * PostgreSQL logical replication for links that cross clouds, as configuration resources: a
 * publication on the feeding database and a subscription on the receiving one, each applied by an
 * idempotent Kubernetes Job (SQL in a ConfigMap, run with `psql` from the postgres image) inside the
 * region's cluster, which reaches the databases' private endpoints. `@pulumi/postgresql` would model
 * these as resources, but it is not installed and its provider needs network reach from wherever
 * `pulumi up` runs — the in-cluster Job is what works with private endpoints only.
 * Each Job mounts the cluster's `meridian-db-ca` (ca.ts) and verifies every database with its own cloud's
 * CA bundle and sslmode. Credentials come from the Secret `meridian-replication-<writer>` (keys `username`, `password`) that
 * operators create in the runtime namespace; none is ever in config or state.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { NAMESPACES } from "../../model/estate.js";
import type { RegionCluster } from "../cluster/region-cluster.js";
import { HEARTBEAT_DDL } from "../../runtime/replication/index.js";
import { DATABASE_NAME, type DatabaseCopy } from "./copy.js";
import { caFile, DB_CA_CONFIGMAP, DB_CA_DIR } from "./ca.js";

/** Where the Jobs mount their ConfigMap, and what they run from it. */
export const SQL_DIR = "/sql";
export const PUBLICATION_COMMAND = ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-f", `${SQL_DIR}/publication.sql`];
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
function replicationSlotName(writer: string, feeder: string, target: string): string {
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
 * Job retries, instead of a check that fails quietly inside `[ … ]`. psql and pg_dump read PGUSER,
 * PGPASSWORD, PGSSLMODE (verify-full unless set) and PGSSLROOTCERT from the environment; SOURCE_SSLMODE,
 * SOURCE_SSLROOTCERT, TARGET_SSLMODE and TARGET_SSLROOTCERT override them per side (the two databases
 * are on different clouds, each with its own CA); SOURCE_PORT and TARGET_PORT default to 5432.
 */
export function subscriptionScript(writer: string, feeder: string, target: string): string {
  const sub = subscriptionName(writer, feeder);
  return `set -eu
: "\${SOURCE_HOST:?}" "\${TARGET_HOST:?}" "\${PGUSER:?}" "\${PGPASSWORD:?}"
export PGSSLMODE="\${PGSSLMODE:-verify-full}"
WORK="\${TMPDIR:-/tmp}/subscribe.$$"
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT
# A libpq conninfo value: backslash-escape \\ and ', then single-quote.
q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/[\\\\']/\\\\\\\\&/g")"; }
SRC="host=$(q "$SOURCE_HOST") port=\${SOURCE_PORT:-5432} dbname=${DATABASE_NAME}"
DST="host=$(q "$TARGET_HOST") port=\${TARGET_PORT:-5432} dbname=${DATABASE_NAME}"
# Each side verified by its own cloud's CA and sslmode when given (SOURCE_/TARGET_SSLMODE, _SSLROOTCERT).
tls() { [ -z "$1" ] || printf ' sslmode=%s' "$1"; [ -z "$2" ] || printf ' sslrootcert=%s' "$(q "$2")"; }
SRC_TLS="$SRC$(tls "\${SOURCE_SSLMODE:-}" "\${SOURCE_SSLROOTCERT:-}")"
DST_TLS="$DST$(tls "\${TARGET_SSLMODE:-}" "\${TARGET_SSLROOTCERT:-}")"
n=$(psql -X -At -v ON_ERROR_STOP=1 -d "$DST_TLS" -c "SELECT count(*) FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid WHERE d.datname = current_database() AND s.subname = '${sub}'")
if [ "$n" = 0 ]; then
  pg_dump --schema-only --no-owner --no-publications --no-subscriptions -f "$WORK/schema.sql" -d "$SRC_TLS"
  psql -X -q -v ON_ERROR_STOP=1 -d "$DST_TLS" -f "$WORK/schema.sql"
  # The subscriber's own server dials the publisher, so the conninfo carries the login; psql quotes it.
  CONNINFO="$SRC user=$(q "$PGUSER") password=$(q "$PGPASSWORD") sslmode=\${SUBSCRIPTION_SSLMODE:-require}"
  psql -X -q -v ON_ERROR_STOP=1 -v conninfo="$CONNINFO" -d "$DST_TLS" -f - <<'SQL'
CREATE SUBSCRIPTION ${sub} CONNECTION :'conninfo' PUBLICATION ${publicationName(writer)} WITH (copy_data = true, streaming = on, binary = true, slot_name = '${replicationSlotName(writer, feeder, target)}');
SQL
fi
`;
}

const asList = (d: pulumi.CustomResourceOptions["dependsOn"]): pulumi.Input<pulumi.Resource>[] => (d === undefined ? [] : Array.isArray(d) ? d : [d as pulumi.Input<pulumi.Resource>]);

function job(
  name: string,
  image: string,
  cluster: RegionCluster,
  env: Record<string, pulumi.Input<string>>,
  writer: string,
  files: Record<string, string>,
  command: string[],
  opts: pulumi.CustomResourceOptions,
): k8s.batch.v1.Job {
  const child = { ...opts, provider: cluster.provider };
  const labels = { "app.kubernetes.io/part-of": "meridian", "app.kubernetes.io/component": "replication", "meridian.dev/writer": writer };
  const config = new k8s.core.v1.ConfigMap(`${cluster.region.id}-${name}`, { metadata: { name, namespace: NAMESPACES.runtime, labels }, data: files }, child);
  const secret = `meridian-replication-${writer}`;
  return new k8s.batch.v1.Job(
    `${cluster.region.id}-${name}`,
    {
      metadata: { name, namespace: NAMESPACES.runtime, labels },
      spec: {
        backoffLimit: 10,
        template: {
          // No sidecar: the Job only talks TLS to Postgres outside the mesh, and a sidecar would keep it from completing.
          metadata: { labels: { ...labels, "sidecar.istio.io/inject": "false" } },
          spec: {
            restartPolicy: "OnFailure",
            containers: [
              {
                name: "psql",
                image,
                command,
                env: [
                  ...Object.entries(env).map(([k, value]) => ({ name: k, value })),
                  { name: "PGUSER", valueFrom: { secretKeyRef: { name: secret, key: "username" } } },
                  { name: "PGPASSWORD", valueFrom: { secretKeyRef: { name: secret, key: "password" } } },
                ],
                // The root filesystem is read-only; the schema dump goes to /tmp.
                volumeMounts: [
                  { name: "sql", mountPath: SQL_DIR, readOnly: true },
                  { name: "db-ca", mountPath: DB_CA_DIR, readOnly: true },
                  { name: "tmp", mountPath: "/tmp" },
                ],
                // Pod Security `restricted`, as the runtime namespace enforces (model/security/posture.ts).
                securityContext: {
                  runAsNonRoot: true,
                  runAsUser: 70,
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ["ALL"] },
                  seccompProfile: { type: "RuntimeDefault" },
                },
              },
            ],
            volumes: [
              { name: "sql", configMap: { name: config.metadata.name } },
              { name: "db-ca", configMap: { name: DB_CA_CONFIGMAP } },
              { name: "tmp", emptyDir: {} },
            ],
          },
        },
      },
    },
    { ...child, dependsOn: [...asList(opts.dependsOn), config] },
  );
}

/** The publication on `source` (once per writer and source region). */
/** `image`: PSQL_IMAGE (model/images/charts.ts) pinned by the stack's digest. */
export function publication(source: DatabaseCopy, cluster: RegionCluster, image: string, opts: pulumi.CustomResourceOptions): k8s.batch.v1.Job {
  const name = `pub-${source.writer}`;
  return job(
    name,
    image,
    cluster,
    { PGHOST: source.host, PGDATABASE: DATABASE_NAME, PGSSLMODE: source.tls.sslmode, PGSSLROOTCERT: caFile(source.tls) },
    source.writer,
    { "publication.sql": publicationSql(source.writer) },
    PUBLICATION_COMMAND,
    opts,
  );
}

/** The subscription on `target` to `source`'s publication. */
export function subscription(source: DatabaseCopy, target: DatabaseCopy, cluster: RegionCluster, image: string, dependsOn: pulumi.Resource[], opts: pulumi.CustomResourceOptions): k8s.batch.v1.Job {
  const name = `sub-${source.writer}-from-${source.region.id}`;
  const tls = { SOURCE_SSLMODE: source.tls.sslmode, SOURCE_SSLROOTCERT: caFile(source.tls), TARGET_SSLMODE: target.tls.sslmode, TARGET_SSLROOTCERT: caFile(target.tls) };
  return job(
    name,
    image,
    cluster,
    { SOURCE_HOST: source.host, TARGET_HOST: target.host, ...tls },
    source.writer,
    { "subscribe.sh": subscriptionScript(source.writer, source.region.id, target.region.id) },
    SUBSCRIPTION_COMMAND,
    { ...opts, dependsOn },
  );
}
