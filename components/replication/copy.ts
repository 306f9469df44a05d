/**
 * A copy of one writer's data (a "partition") in one region, as the provider files build it: the
 * writer's primary, a managed replica fed by the same cloud, or a standalone subscriber fed by logical
 * replication across clouds. Provider files return this so the topology can chain copies.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { Region } from "../../model/estate.js";
import type { CopySecrets } from "./credentials.js";

export type CopyRole = "primary" | "replica" | "subscriber";

export interface DatabaseCopy {
  writer: string;
  region: Region;
  role: CopyRole;
  /** Private address logical replication connects to (cluster endpoint, private IP or private FQDN). */
  host: pulumi.Output<string>;
  /** Provider handle the same cloud's replicas attach to (global cluster id, instance name, server id). */
  replicationSource: pulumi.Output<string>;
  /** Resources a same-cloud replica of this copy must wait for (e.g. the Aurora primary's instance). */
  ready: pulumi.Resource[];
  /**
   * Where its logins live (credentials.ts): references into its cloud's secret manager, read at run time.
   * Logical replication needs passwords — a subscription's walreceiver reconnects with the conninfo stored
   * in pg_subscription, which a 15-minute IAM token would outlive — so these are rotated instead
   * (`meridian replication rotate`). Same-cloud replicas share their feeder's.
   */
  secrets: CopySecrets;
  /** How a role gets the right to stream from it: the REPLICATION attribute, or RDS's `rds_replication` role. */
  replicationGrant: "attribute" | "rds_replication";
  /** How clients verify its server certificate (ca.ts). */
  tls: DatabaseTls;
}

/** TLS verification of one copy: the libpq sslmode and the CA bundle that vouches for its server certificate. */
export interface DatabaseTls {
  sslmode: "verify-full" | "verify-ca";
  /** Key of the bundle in the ConfigMap `meridian-db-ca`, one per CA (copies it vouches for share it). */
  caKey: string;
  /** The PEM bundle. */
  ca: pulumi.Output<string>;
  /** Where the bundle comes from: the provider's documented source. */
  source: string;
}

export interface CopyRequest {
  writer: string;
  region: Region;
  role: CopyRole;
  /** The same-cloud copy this replica is fed from (role "replica" only). */
  feeder?: DatabaseCopy;
  /** True when this copy publishes to a subscriber on another cloud (needs logical decoding on, and a replication login). */
  publishes: boolean;
  environment: string;
}

export const DATABASE_NAME = "meridian";
export const POSTGRES_MAJOR = "16";

/** Provider-safe identifier for a partition copy: `meridian-prod-aws-use1-at-gcp-usc1`. */
export function copyIdentifier(environment: string, writer: string, region: string): string {
  return writer === region ? `meridian-${environment}-${writer}` : `meridian-${environment}-${writer}-at-${region}`;
}
