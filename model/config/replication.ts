/**
 * Replication: which regions write (tier 1), how replicas are arranged, how much each writer produces
 * per month — the inputs of the egress cost model (§14.3) — and the private networks the managed
 * databases attach to (they never get a public endpoint).
 */
import { z } from "zod";
import { azureSubnetName, continents, nonNegative, positive, slug } from "./vocabulary.js";

export const topologies = ["full-mesh", "star", "regional", "hierarchical"] as const;
export type Topology = (typeof topologies)[number];

/** A BGP ASN a cloud accepts for its own side: private 16-bit (64512–65534) or 32-bit (4200000000–4294967294). */
const privateAsn = z
  .number()
  .int()
  .refine((n) => (n >= 64512 && n <= 65534) || (n >= 4_200_000_000 && n <= 4_294_967_294), "expected a private ASN: 64512–65534 or 4200000000–4294967294");
const ipv4Cidr = z.string().regex(/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/, "expected an IPv4 CIDR such as 10.240.0.0/16");

/**
 * Site-to-site VPNs between clouds (components/network): the private path a logical-replication subscriber
 * and its Job take to a feeder on another cloud. Built only for region pairs the topology links across clouds.
 */
const vpnSchema = z
  .object({
    /** Each cloud's side of the BGP sessions; the three must differ (eBGP). */
    asn: z
      .object({ aws: privateAsn.default(64512), gcp: privateAsn.default(64514), azure: privateAsn.default(65515) })
      .strict()
      .prefault({}),
    /** Per AWS region id: the VPC the databases and the cluster live in, and the route tables that learn the peers' routes (VPN and VPC peering). */
    aws: z
      .record(
        slug,
        z
          .object({
            vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, "expected a VPC id such as vpc-0123456789abcdef0"),
            routeTableIds: z.array(z.string().regex(/^rtb-[0-9a-f]{8,17}$/, "expected a route table id such as rtb-0123456789abcdef0")).min(1),
            /** The VPC's IPv4 CIDR: the routes a VPC peering adds (the allocator's managed cluster to its standbys, model/network/peering.ts). */
            cidr: ipv4Cidr.optional(),
          })
          .strict(),
      )
      .default({}),
    /**
     * GCP: the private-services-access range(s) Cloud SQL's addresses come from. Cloud SQL sits in a peered
     * service-producer VPC whose routes Cloud Router does not advertise by itself, so they are advertised explicitly.
     */
    gcpPrivateServicesRanges: z.array(ipv4Cidr).min(1).default(["10.240.0.0/16"]),
    /** The gateway sits in the subnet Azure requires to be named GatewaySubnet, in the region's VNet (network.azure). */
    azure: z
      .object({
        /** Zone-redundant VPN gateway SKU (active-active). */
        sku: z.enum(["VpnGw1AZ", "VpnGw2AZ", "VpnGw3AZ", "VpnGw4AZ", "VpnGw5AZ"]).default("VpnGw1AZ"),
      })
      .strict()
      .prefault({}),
  })
  .strict();

const networkSchema = z
  .object({
    aws: z
      .object({
        /** DB subnet group (private subnets) of the same name in every AWS region the estate uses. */
        dbSubnetGroupName: z.string().min(1).default("meridian-db"),
        vpcSecurityGroupIds: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .prefault({}),
    gcp: z
      .object({
        /** VPC with private services access, as Cloud SQL names it: projects/<project>/global/networks/<name>. */
        privateNetwork: z
          .string()
          .regex(/^projects\/[^/]+\/global\/networks\/[^/]+$/, "expected projects/<project>/global/networks/<name>")
          .default("projects/meridian/global/networks/meridian"),
      })
      .strict()
      .prefault({}),
    azure: z
      .object({
        /**
         * The subscription the Azure resources live in (`az account show --query id`); required when a region is on
         * Azure (model/config/index.ts). Every subnet id is composed from it (model/network/azure.ts):
         * /subscriptions/<id>/resourceGroups/<resourceGroupName>/providers/Microsoft.Network/virtualNetworks/<VNet>/subnets/<name>.
         */
        subscriptionId: z.guid("expected the Azure subscription's id, a GUID (az account show --query id)").optional(),
        resourceGroupName: z.string().min(1).default("meridian"),
        /** Each Azure region's VNet (in resourceGroupName); `{region}` is replaced by the Azure region code. */
        virtualNetworkNameTemplate: z.string().includes("{region}", { message: "expected a template containing {region}" }).default("meridian-{region}"),
        /**
         * Per Azure region id: its VNet's address prefixes. The allocator's managed Azure cluster peers the ledger
         * region's VNet with each Azure standby's (model/network/peering.ts), which Azure refuses when they overlap.
         */
        virtualNetworkAddressSpaces: z.record(slug, z.array(ipv4Cidr).min(1)).default({}),
        /**
         * The network security group of each VNet's private-endpoint subnet (in resourceGroupName); `{region}` is
         * replaced by the Azure region code. The allocator's managed cluster adds rules admitting its peered standbys.
         */
        privateEndpointSecurityGroupNameTemplate: z.string().includes("{region}", { message: "expected a template containing {region}" }).default("meridian-{region}-private-endpoints"),
        /** The VNet's subnet delegated to Microsoft.DBforPostgreSQL/flexibleServers. */
        delegatedSubnetName: azureSubnetName.default("postgres"),
        /**
         * The private DNS zone (in resourceGroupName, linked to every VNet that connects) a VNet-integrated flexible
         * server needs at creation; its id is composed like the subnets'. Azure requires the suffix.
         */
        privateDnsZoneName: z
          .string()
          .regex(
            /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+postgres\.database\.azure\.com$/,
            "expected a private DNS zone name ending in .postgres.database.azure.com (Azure requires it), such as meridian-prod.postgres.database.azure.com",
          )
          .default("meridian.postgres.database.azure.com"),
        /** The Key Vault (in resourceGroupName) holding the servers' admin and replication logins. */
        keyVaultName: z
          .string()
          .regex(/^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/, "a Key Vault name: 3-24 letters, digits and hyphens, starting with a letter")
          .default("meridian"),
      })
      .strict()
      .prefault({}),
    vpn: vpnSchema.prefault({}),
  })
  .strict();

/**
 * Where the replication workloads' cloud identities bind (components/replication/identity.ts): the
 * clusters are not created by this program, so what names them is stack input.
 */
const identitySchema = z
  .object({
    aws: z
      .object({
        /** The EKS cluster of each AWS region (Pod Identity associations name it); `{region}` is the region id. */
        clusterNameTemplate: z.string().includes("{region}", { message: "expected a template containing {region}" }).default("meridian-{region}"),
        /**
         * Each EKS cluster's OIDC issuer (`aws eks describe-cluster --query cluster.identity.oidc.issuer`), by
         * region id: what GCP pool providers and Entra federated credentials trust for its workloads' cross-cloud reads.
         */
        oidcIssuers: z
          .record(
            z.string().min(1),
            z
              .string()
              .regex(
                /^https:\/\/oidc\.eks\.[a-z0-9-]+\.amazonaws\.com\/id\/[0-9A-F]{32}$/,
                "the EKS cluster's OIDC issuer URL (https://oidc.eks.<region>.amazonaws.com/id/<32 hex>), from aws eks describe-cluster",
              ),
          )
          .default({}),
      })
      .strict()
      .prefault({}),
    gcp: z
      .object({
        /** The project whose workload pool (`<project>.svc.id.goog`) the GKE clusters use; default: the databases' VPC's project. */
        workloadPoolProject: z
          .string()
          .regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, "a GCP project id: 6-30 lower-case letters, digits and hyphens")
          .optional(),
        /** The GKE cluster of each GCP region (a regional cluster in the region); its OIDC issuer follows from it. */
        clusterNameTemplate: z.string().includes("{region}", { message: "expected a template containing {region}" }).default("meridian-{region}"),
      })
      .strict()
      .prefault({}),
    azure: z
      .object({
        /** Each AKS cluster's OIDC issuer (`az aks show --query oidcIssuerProfile.issuerUrl`), by region id: the federated credentials trust it. */
        oidcIssuers: z
          .record(z.string().min(1), z.url({ protocol: /^https$/, error: "the AKS cluster's OIDC issuer URL (https://…), from az aks show --query oidcIssuerProfile.issuerUrl" }))
          .default({}),
        /** The Entra tenant of the identities that pods on EKS and GKE federate to for Key Vault reads. */
        tenantId: z.guid({ error: "the Entra tenant id (az account show --query tenantId)" }).optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict();
export type IdentitySettings = z.output<typeof identitySchema>;

/** Provisioned storage sizes Azure Database for PostgreSQL flexible server accepts (GiB). */
const azurePostgresStorageSizes = [32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768] as const;

/**
 * Database sizes, read by the components and priced by the cost model (never hard-coded in either).
 * `storageGB` is each copy's provisioned storage: Cloud SQL's disk, the Azure server's storage, and the
 * size Aurora (which bills what it stores) is estimated at.
 */
const databasesSchema = z
  .object({
    storageGB: z
      .number()
      .int()
      .refine((n) => (azurePostgresStorageSizes as readonly number[]).includes(n), `expected one of ${azurePostgresStorageSizes.join(", ")} (the sizes Azure flexible servers accept)`)
      .default(256),
    aws: z
      .object({
        instanceClass: z
          .string()
          .regex(/^db\.[a-z0-9]+\.[a-z0-9]+$/, "expected an RDS instance class such as db.r6g.large")
          .default("db.r6g.large"),
        /** Aurora instances per cluster (a writer plus readers). */
        instancesPerCluster: z.number().int().min(1).max(16).default(1),
      })
      .strict()
      .prefault({}),
    gcp: z
      .object({
        tier: z
          .string()
          .regex(/^db-[a-z0-9-]+$/, "expected a Cloud SQL tier such as db-custom-4-16384")
          .default("db-custom-4-16384"),
        /** ENTERPRISE takes shared-core and db-custom-* tiers; ENTERPRISE_PLUS (PostgreSQL 16's default) only db-perf-optimized-N-*. */
        edition: z.enum(["ENTERPRISE", "ENTERPRISE_PLUS"]).default("ENTERPRISE"),
      })
      .strict()
      .prefault({}),
    azure: z
      .object({
        skuName: z
          .string()
          .regex(/^Standard_[A-Za-z0-9_]+$/, "expected a flexible-server SKU such as Standard_D4ds_v5")
          .default("Standard_D4ds_v5"),
        tier: z.enum(["Burstable", "GeneralPurpose", "MemoryOptimized"]).default("GeneralPurpose"),
      })
      .strict()
      .prefault({}),
  })
  .strict();

const placementSchema = z
  .object({
    /** Round-trip latency (ms) a user's reads must be served within. */
    slaMs: z.number().positive(),
    /** What read replicas may cost per month in total (USD). */
    monthlyBudgetUSD: nonNegative,
    /** Running cost of one read replica (USD/month), added to the egress that feeds it. */
    replicaMonthlyUSD: nonNegative.default(0),
    /** User demand: where readers are and how much they read (relative weight). */
    demand: z.array(z.object({ id: slug, lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180), weight: nonNegative }).strict()).min(1),
    /** Regions that may host a replica; default: every region that is not a writer. */
    candidates: z.array(slug).optional(),
    routeFactor: z.number().min(1).default(1.5),
    overheadMs: nonNegative.default(5),
    /** Measured RTTs (ms) that override the estimate, keyed `<demand id>→<region id>`. */
    latencyOverridesMs: z.record(z.string().regex(/^[a-z0-9-]+→[a-z0-9-]+$/, "expected <demand id>→<region id>"), positive).default({}),
  })
  .strict();

export const replicationSchema = z
  .object({
    topology: z.enum(topologies).default("hierarchical"),
    /** Tier-1 writer region ids; the first is the star topology's hub. */
    writers: z.array(slug).min(1),
    /** GB written per month per writer region (replicated by the topology); a writer without an entry writes 0. */
    writeGBPerMonth: z.record(slug, nonNegative),
    /**
     * Hierarchical topology: the relay region per continent (it receives each write once and fans it
     * out on its continent). Default: the continent's first writer, else its first region.
     */
    relays: z.partialRecord(z.enum(continents), slug).default({}),
    engine: z.literal("postgres").default("postgres"),
    /** A copy further behind its writer than this reads as stale: the lag monitor's `/readyz` bound and the ReplicationLagHigh threshold. */
    maxLagSeconds: z.number().positive().max(86_400).default(30),
    /**
     * When each publisher's replication login rotates (`meridian replication rotate`, a CronJob in its
     * region): a five-field cron schedule, UTC. Weekly by default.
     */
    loginRotationSchedule: z
      .string()
      .regex(/^\S+( \S+){4}$/, "a five-field cron schedule such as '17 4 * * 1'")
      .default("17 4 * * 1"),
    /** Forbid a full mesh above this many regions (policy pack). */
    maxFullMeshRegions: z.number().int().positive().default(4),
    network: networkSchema.prefault({}),
    identity: identitySchema.prefault({}),
    databases: databasesSchema.prefault({}),
    /** Read-replica placement under a latency SLA and a budget (model/placement). */
    placement: placementSchema.optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    const seen = new Set<string>();
    r.writers.forEach((w, i) => {
      if (seen.has(w)) ctx.addIssue({ code: "custom", path: ["writers", i], input: w, message: "duplicate writer" });
      seen.add(w);
    });
  });

export type ReplicationConfig = z.output<typeof replicationSchema>;
