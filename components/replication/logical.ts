/**
 * PostgreSQL logical replication for links that cross clouds, as configuration resources: a
 * publication on the feeding database and a subscription on the receiving one, each applied by an
 * idempotent Kubernetes Job (SQL in a ConfigMap, run with `psql` from the postgres image) inside the
 * region's cluster, which reaches the databases' private endpoints. `@pulumi/postgresql` would model
 * these as resources, but it is not installed and its provider needs network reach from wherever
 * `pulumi up` runs — the in-cluster Job is what works with private endpoints only.
 * Credentials come from the Secret `meridian-replication-<writer>` (keys `username`, `password`) that
 * operators create in the runtime namespace; none is ever in config or state.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { NAMESPACES } from "../../model/estate.js";
import type { RegionCluster } from "../cluster/region-cluster.js";
import { DATABASE_NAME, POSTGRES_MAJOR, type DatabaseCopy } from "./copy.js";

const IMAGE = `postgres:${POSTGRES_MAJOR}-alpine`;
const sqlName = (s: string) => s.replaceAll("-", "_");

export function publicationName(writer: string): string {
  return `meridian_${sqlName(writer)}`;
}

export function subscriptionName(writer: string, feeder: string): string {
  return `meridian_${sqlName(writer)}_from_${sqlName(feeder)}`;
}

export function publicationSql(writer: string): string {
  const pub = publicationName(writer);
  return `DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = '${pub}') THEN
    CREATE PUBLICATION ${pub} FOR ALL TABLES;
  END IF;
END $$;
`;
}

/** Shell run by the subscription Job: copy the schema once, then subscribe (both idempotent). */
export function subscriptionScript(writer: string, feeder: string): string {
  const sub = subscriptionName(writer, feeder);
  return `set -eu
SRC="host=$SOURCE_HOST dbname=${DATABASE_NAME} user=$PGUSER password=$PGPASSWORD sslmode=verify-full"
DST="host=$TARGET_HOST dbname=${DATABASE_NAME} user=$PGUSER password=$PGPASSWORD sslmode=verify-full"
if [ "$(psql "$DST" -Atc "SELECT count(*) FROM pg_subscription WHERE subname = '${sub}'")" = "0" ]; then
  pg_dump --schema-only --no-owner --no-publications --no-subscriptions "$SRC" | psql -v ON_ERROR_STOP=1 "$DST"
  psql -v ON_ERROR_STOP=1 "$DST" -c "CREATE SUBSCRIPTION ${sub} CONNECTION '$SRC' PUBLICATION ${publicationName(writer)} WITH (copy_data = true, streaming = on, binary = true)"
fi
`;
}

function job(name: string, cluster: RegionCluster, env: Record<string, pulumi.Input<string>>, writer: string, files: Record<string, string>, command: string[], opts: pulumi.CustomResourceOptions): k8s.batch.v1.Job {
  const child = { ...opts, provider: cluster.provider };
  const labels = { "app.kubernetes.io/part-of": "meridian", "app.kubernetes.io/component": "replication", "meridian.dev/writer": writer };
  const config = new k8s.core.v1.ConfigMap(`${cluster.region.id}-${name}`, { metadata: { name, namespace: NAMESPACES.runtime, labels }, data: files }, child);
  const secret = `meridian-replication-${writer}`;
  return new k8s.batch.v1.Job(`${cluster.region.id}-${name}`, {
    metadata: { name, namespace: NAMESPACES.runtime, labels },
    spec: {
      backoffLimit: 10,
      template: {
        // No sidecar: the Job only talks TLS to Postgres outside the mesh, and a sidecar would keep it from completing.
        metadata: { labels: { ...labels, "sidecar.istio.io/inject": "false" } },
        spec: {
          restartPolicy: "OnFailure",
          containers: [{
            name: "psql",
            image: IMAGE,
            command,
            env: [
              ...Object.entries(env).map(([k, value]) => ({ name: k, value })),
              { name: "PGUSER", valueFrom: { secretKeyRef: { name: secret, key: "username" } } },
              { name: "PGPASSWORD", valueFrom: { secretKeyRef: { name: secret, key: "password" } } },
            ],
            volumeMounts: [{ name: "sql", mountPath: "/sql", readOnly: true }],
            // Pod Security `restricted`, as the runtime namespace enforces (model/security/posture.ts).
            securityContext: { runAsNonRoot: true, runAsUser: 70, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } },
          }],
          volumes: [{ name: "sql", configMap: { name: config.metadata.name } }],
        },
      },
    },
  }, { ...child, dependsOn: [config] });
}

/** The publication on `source` (once per writer and source region). */
export function publication(source: DatabaseCopy, cluster: RegionCluster, opts: pulumi.CustomResourceOptions): k8s.batch.v1.Job {
  const name = `pub-${source.writer}`;
  return job(name, cluster, { PGHOST: source.host, PGDATABASE: DATABASE_NAME, PGSSLMODE: "verify-full" }, source.writer, { "publication.sql": publicationSql(source.writer) }, ["psql", "-v", "ON_ERROR_STOP=1", "-f", "/sql/publication.sql"], opts);
}

/** The subscription on `target` to `source`'s publication. */
export function subscription(source: DatabaseCopy, target: DatabaseCopy, cluster: RegionCluster, dependsOn: pulumi.Resource[], opts: pulumi.CustomResourceOptions): k8s.batch.v1.Job {
  const name = `sub-${source.writer}-from-${source.region.id}`;
  return job(name, cluster, { SOURCE_HOST: source.host, TARGET_HOST: target.host }, source.writer, { "subscribe.sh": subscriptionScript(source.writer, source.region.id) }, ["/bin/sh", "/sql/subscribe.sh"], { ...opts, dependsOn });
}
