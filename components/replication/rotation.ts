/**
 * The login rotation of one writable copy that holds replication or monitor credentials: a publisher (a
 * writer's copy that feeds another cloud), or a writer's primary that publishes nowhere (its lag monitor's
 * login only: it has no replication login, and no other rotation lists it). A CronJob in
 * the publisher's region running `meridian replication rotate --config …` from the runtime image
 * (runtime/replication/rotate.ts: alternating users, resumable), then the lag monitor's login on the publisher and
 * each subscriber (runtime/replication/monitor-login.ts). Its ConfigMap names the publisher and every
 * subscriber of it by address, TLS settings and secret references only; the logins themselves are read from
 * the secret managers when the Job runs (credentials.ts). The rendered file is parsed with the command's own
 * schema, so a plan that renders a config the command would refuse fails here.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { NAMESPACES, type EstateSpec } from "../../model/estate.js";
import { workloadIdentity } from "./identity.js";
import { rotateConfigSchema } from "../../runtime/replication/index.js";
import type { Federation } from "../../runtime/replication/index.js";
import type { RegionCluster } from "../cluster/region-cluster.js";
import { copyUrl, DB_CA_CONFIGMAP, DB_CA_DIR } from "./ca.js";
import { DATABASE_NAME, type DatabaseCopy } from "./copy.js";
import { replicationSlotName, subscriptionName } from "./logical.js";

const CONFIG_DIR = "/etc/meridian/replication-rotate";
const CONFIG_FILE = "rotate.json";
const ROTATE_COMPONENT = "replication-rotate";

const dbUrl = copyUrl;

/**
 * The copies whose lag-monitor login the rotation also rotates: the publisher (unless it is a same-cloud
 * replica, whose role is its feeder's and read-only here) and each subscriber.
 */
const monitoredBy = (publisher: DatabaseCopy, subscribers: readonly DatabaseCopy[]) => [...(publisher.role === "replica" ? [] : [publisher]), ...subscribers];

/** The command's config, validated by its own schema (a plan that renders one it would refuse fails here). */
function validated(publisher: DatabaseCopy, config: object): string {
  const parsed = rotateConfigSchema.safeParse(config);
  if (!parsed.success) throw new Error(`rotate config for ${publisher.writer}@${publisher.region.id}: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return JSON.stringify(config, null, 2);
}

/** The rotate command's config for `publisher` and the copies subscribed to it (none: its monitor login only). */
function rotateConfig(publisher: DatabaseCopy, subscribers: readonly DatabaseCopy[], federation: pulumi.Output<Federation>): pulumi.Output<string> {
  const monitors = monitoredBy(publisher, subscribers).map((c) => pulumi.all([dbUrl(c), c.secrets.admin, c.secrets.monitor]).apply(([url, admin, login]) => ({ url, admin, login })));
  const fed = (f: Federation) => (Object.keys(f).length ? { federation: f } : {});
  if (subscribers.length === 0) {
    // A writer's primary that publishes to no other cloud: no replication login, but a monitor login to rotate.
    return pulumi.all([pulumi.all(monitors), federation]).apply(([monitors, federation]) => validated(publisher, { monitors, ...fed(federation) }));
  }
  if (!publisher.secrets.login) throw new Error(`${publisher.writer}@${publisher.region.id} publishes but has no replication login secret`);
  const subs = subscribers.map((s) =>
    pulumi.all([dbUrl(s), s.secrets.admin, publisher.host]).apply(([url, admin, host]) => ({
      url,
      admin,
      subscription: subscriptionName(s.writer, publisher.region.id),
      slot: replicationSlotName(s.writer, publisher.region.id, s.region.id),
      // As the subscription Job's conninfo (logical.ts), minus the login the rotation adds.
      source: `host='${host}' port=5432 dbname=${DATABASE_NAME} sslmode=require`,
    })),
  );
  return pulumi
    .all([dbUrl(publisher), publisher.secrets.admin, publisher.secrets.login, pulumi.all(subs), pulumi.all(monitors), federation])
    .apply(([url, admin, login, subscribers, monitors, federation]) =>
      validated(publisher, { publisher: { url, admin, replicationGrant: publisher.replicationGrant }, login, subscribers, monitors, ...fed(federation) }),
    );
}

export function loginRotation(spec: EstateSpec, publisher: DatabaseCopy, subscribers: readonly DatabaseCopy[], cluster: RegionCluster, opts: pulumi.CustomResourceOptions): k8s.batch.v1.CronJob {
  const settings = { image: spec.runtime.image, schedule: spec.replication.loginRotationSchedule };
  const name = `rotate-${publisher.writer}`;
  const child = { ...opts, provider: cluster.provider };
  const labels = { "app.kubernetes.io/part-of": "meridian", "app.kubernetes.io/component": ROTATE_COMPONENT, "meridian.dev/writer": publisher.writer };
  const metadata = { name, namespace: NAMESPACES.runtime, labels };
  // Its cloud identity (identity.ts): read and write the publisher's replication login and the monitor logins it
  // rotates, read the admins it logs in with — the subscribers' on their own clouds, through federation.
  const grants = [
    ...(subscribers.length > 0 ? [{ ref: publisher.secrets.login!, write: true }] : []),
    { ref: publisher.secrets.admin, write: false },
    ...subscribers.map((s) => ({ ref: s.secrets.admin, write: false })),
    ...monitoredBy(publisher, subscribers).map((c) => ({ ref: c.secrets.monitor, write: true })),
  ];
  const identity = workloadIdentity(spec, cluster, name, grants, opts);
  const config = new k8s.core.v1.ConfigMap(`${cluster.region.id}-${name}`, { metadata, data: { [CONFIG_FILE]: rotateConfig(publisher, subscribers, identity.federation) } }, child);
  const account = new k8s.core.v1.ServiceAccount(`${cluster.region.id}-${name}`, { metadata: { ...metadata, annotations: identity.annotations } }, child);
  return new k8s.batch.v1.CronJob(
    `${cluster.region.id}-${name}`,
    {
      metadata,
      spec: {
        schedule: settings.schedule,
        // Two rotations at once would race on the secret; the command also takes an advisory lock.
        concurrencyPolicy: "Forbid",
        startingDeadlineSeconds: 3600,
        jobTemplate: {
          spec: {
            // A failed run is finished by the next attempt (the rotation resumes from the secret).
            backoffLimit: 6,
            template: {
              metadata: { labels: { ...labels, ...identity.podLabels, "sidecar.istio.io/inject": "false" } },
              spec: {
                serviceAccountName: account.metadata.name,
                restartPolicy: "OnFailure",
                securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
                containers: [
                  {
                    name: "rotate",
                    image: settings.image,
                    args: ["replication", "rotate", "--config", `${CONFIG_DIR}/${CONFIG_FILE}`],
                    volumeMounts: [{ name: "config", mountPath: CONFIG_DIR, readOnly: true }, { name: "db-ca", mountPath: DB_CA_DIR, readOnly: true }, ...identity.mounts],
                    resources: { requests: { cpu: "50m", memory: "96Mi" }, limits: { memory: "256Mi" } },
                    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                  },
                ],
                volumes: [{ name: "config", configMap: { name: config.metadata.name } }, { name: "db-ca", configMap: { name: DB_CA_CONFIGMAP } }, ...identity.volumes],
              },
            },
          },
        },
      },
    },
    { ...child, dependsOn: [...(Array.isArray(opts.dependsOn) ? opts.dependsOn : []), config] },
  );
}
