/**
 * CA bundles for the managed databases, so every client that connects with TLS verification (the lag
 * monitor, the logical-replication Jobs) trusts exactly the CA that signs that database's server
 * certificate, per the provider's documentation:
 *   - Aurora (RDS): the region's RDS CA bundle, `https://truststore.pki.rds.amazonaws.com/<region>/<region>-bundle.pem`,
 *     fetched when `pulumi up` renders it (unknown in a preview); `verify-full` against the cluster endpoint.
 *   - Cloud SQL: the instance's own server CA (`serverCaCerts`, per-instance CA). Its server certificate
 *     names the instance, not its private IP, so `verify-ca`: with a CA dedicated to the one instance,
 *     a valid chain identifies that instance.
 *   - Azure flexible server: the documented roots (azure-roots.ts); `verify-full` against its FQDN.
 * Each cluster gets the ConfigMap `meridian-db-ca` holding every bundle its pods may need, one key per CA.
 */
import { X509Certificate } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks.js";
import { NAMESPACES } from "../../model/estate.js";
import type { RegionCluster } from "../cluster/region-cluster.js";
import { AZURE_POSTGRES_ROOTS } from "./azure-roots.js";
import { DATABASE_NAME, type DatabaseCopy, type DatabaseTls } from "./copy.js";

export const DB_CA_CONFIGMAP = "meridian-db-ca";
/** Where pods mount `meridian-db-ca`. */
export const DB_CA_DIR = "/etc/meridian/db-ca";

export function caFile(tls: DatabaseTls): string {
  return `${DB_CA_DIR}/${tls.caKey}`;
}

/** A client's URL for `copy`: no login (that comes from a secret); libpq's sslmode semantics (uselibpqcompat) with its cloud's CA bundle. */
export function copyUrl(copy: DatabaseCopy): pulumi.Output<string> {
  return pulumi.interpolate`postgres://${copy.host}:5432/${DATABASE_NAME}?sslmode=${copy.tls.sslmode}&sslrootcert=${caFile(copy.tls)}&uselibpqcompat=true`;
}

const RDS_CA_DOCS = "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.SSL.html";
const CLOUD_SQL_CA_DOCS = "https://cloud.google.com/sql/docs/postgres/authorize-ssl (per-instance CA: GOOGLE_MANAGED_INTERNAL_CA)";
const AZURE_CA_DOCS = "https://learn.microsoft.com/en-us/azure/postgresql/flexible-server/concepts-networking-ssl-tls";

export function rdsBundleUrl(awsRegion: string): string {
  return `https://truststore.pki.rds.amazonaws.com/${awsRegion}/${awsRegion}-bundle.pem`;
}

/** The certificates of a PEM bundle; throws naming the source unless it holds at least one valid certificate. */
export function parseBundle(pem: string, source: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error(`${source}: not a PEM CA bundle (no certificate)`);
  return blocks.map((b, i) => {
    try {
      const cert = new X509Certificate(b);
      if (!cert.ca) throw new Error("not a CA certificate");
      return cert;
    } catch (err) {
      throw new Error(`${source}: certificate ${i + 1}: ${(err as Error).message}`, { cause: err });
    }
  });
}

/** Downloads a CA bundle over HTTPS (verified against Node's roots) and checks it before it is rendered. */
export async function fetchBundle(url: string, get: (url: string) => Promise<Response> = fetch): Promise<string> {
  const res = await get(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  const text = await res.text();
  parseBundle(text, url);
  return text;
}

const underMocks = () => pulumi.runtime.getMonitor() instanceof MockMonitor;
/** One download per bundle however many copies a region holds. */
const fetched = new Map<string, Promise<string>>();

export function auroraTls(awsRegion: string): DatabaseTls {
  const url = rdsBundleUrl(awsRegion);
  // A preview or the offline plan never reaches the network: the bundle is known at `pulumi up`.
  const ca = pulumi.runtime.isDryRun() || underMocks() ? (pulumi.output(pulumi.unknown) as pulumi.Output<string>) : pulumi.output(fetched.get(url) ?? fetched.set(url, fetchBundle(url)).get(url)!);
  return { sslmode: "verify-full", caKey: `rds-${awsRegion}.pem`, ca, source: url };
}

export function cloudSqlTls(instanceName: string, serverCaCerts: pulumi.Output<{ cert: string }[] | undefined>): DatabaseTls {
  return { sslmode: "verify-ca", caKey: `cloudsql-${instanceName}.pem`, ca: serverCaCerts.apply((certs) => (certs ?? []).map((c) => c.cert.trim()).join("\n") + "\n"), source: CLOUD_SQL_CA_DOCS };
}

export function azureTls(): DatabaseTls {
  return { sslmode: "verify-full", caKey: "azure-postgres-roots.pem", ca: pulumi.output(AZURE_POSTGRES_ROOTS), source: AZURE_CA_DOCS };
}

/** The bundles of the given copies, one entry per CA. */
export function caBundles(copies: readonly DatabaseCopy[]): Record<string, pulumi.Output<string>> {
  return Object.fromEntries(copies.map((c) => [c.tls.caKey, c.tls.ca]));
}

/** The ConfigMap `meridian-db-ca` in one cluster's runtime namespace. */
export function caConfigMap(cluster: RegionCluster, data: Record<string, pulumi.Output<string>>, opts: pulumi.CustomResourceOptions): k8s.core.v1.ConfigMap {
  return new k8s.core.v1.ConfigMap(
    `${cluster.region.id}-${DB_CA_CONFIGMAP}`,
    {
      metadata: {
        name: DB_CA_CONFIGMAP,
        namespace: NAMESPACES.runtime,
        labels: { "app.kubernetes.io/part-of": "meridian", "app.kubernetes.io/component": "replication" },
        annotations: { "meridian.dev/ca-sources": JSON.stringify({ aws: RDS_CA_DOCS, gcp: CLOUD_SQL_CA_DOCS, azure: AZURE_CA_DOCS }) },
      },
      data,
    },
    { ...opts, provider: cluster.provider },
  );
}
