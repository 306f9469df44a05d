/**
 * Runtime services deployed onto every regional cluster: escrow, rate limiting, proof log and clock.
 * Each service issue owns its block.
 */
import { z } from "zod";
import { fraction, port, positive } from "./common.js";

const units = z.number().int().positive();
const sku = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "expected a SKU: letters, digits, '.', '_' or '-', at most 64");

/** Escrowed inventory (issue 9): what is sold, how it is split over regions, and how a flash sale admits buyers. */
const escrowSchema = z
  .object({
    /** SKU → units for sale. */
    inventory: z.record(sku, units).default({}),
    reservationTtlSeconds: positive.default(300),
    /** Regions hold escrow under a lease; tokens of a region that stops renewing return to the pool after this. */
    leaseTtlSeconds: positive.default(10),
    /** Hybrid rebalancing: push surplus and top up every this many seconds (pull happens on exhaustion). */
    rebalanceIntervalSeconds: positive.default(1),
    allocation: z
      .object({
        coefficients: z
          .object({ historical: z.number().min(0).default(0.5), load: z.number().min(0).default(0.3), geographic: z.number().min(0).default(0.2) })
          .strict()
          .refine((c) => c.historical + c.load + c.geographic > 0, "expected at least one positive coefficient")
          .prefault({}),
        globalReserveFraction: fraction.refine((f) => f < 1, "expected < 1").default(0.1),
      })
      .strict()
      .prefault({}),
    admission: z
      .object({
        /** Units one user may hold in reservations and purchases of one SKU. */
        perUserLimit: units.default(4),
        /** Per-user reservation attempts per second (GCRA) and burst. */
        userRatePerSecond: positive.default(2),
        userBurst: z.number().int().min(0).default(4),
        /** Open checkouts (live reservations) per region before buyers queue. */
        maxConcurrentCheckouts: units.default(1000),
        queuePolicy: z.enum(["fifo", "lottery", "weighted"]).default("fifo"),
        /** Progressive admission: buyers let in from the queue per batch. */
        batchSize: units.default(100),
        /** Warn when available inventory falls to this share of the total. */
        lowInventoryFraction: fraction.default(0.1),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

/** Managed Redis per region (ElastiCache / Memorystore / Azure Cache for Redis), always on private networking. */
const redisSchema = z
  .object({
    aws: z
      .object({
        nodeType: z.string().min(1).default("cache.r7g.large"),
        replicasPerNodeGroup: z.number().int().min(0).max(5).default(1),
        /** ElastiCache subnet group (private subnets) of this name in every AWS region the estate uses. */
        subnetGroupName: z.string().min(1).default("meridian-cache"),
        securityGroupIds: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .prefault({}),
    gcp: z.object({ tier: z.enum(["BASIC", "STANDARD_HA"]).default("STANDARD_HA"), memorySizeGb: z.number().int().min(1).default(5) }).strict().prefault({}),
    azure: z
      .object({
        family: z.enum(["C", "P"]).default("P"),
        capacity: z.number().int().min(0).max(6).default(1),
        /** Subnet for the cache's private endpoint; `{region}` is replaced by the Azure region code. */
        privateEndpointSubnetIdTemplate: z
          .string()
          .includes("{region}", { message: "expected a template containing {region}" })
          .default("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/meridian/providers/Microsoft.Network/virtualNetworks/meridian-{region}/subnets/private-endpoints"),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

/** A C2SP tlog-witness the log asks to cosign: its base URL and cosignature/v1 verifier key (named `name`). */
const witnessSchema = z
  .object({
    name: z.string().min(1),
    url: z.string().regex(/^https?:\/\//, "expected an http(s) URL"),
    vkey: z.string().regex(/^[^+\s]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+$/, "expected a note verifier key <name>+<hash>+<base64>"),
  })
  .strict()
  .refine((w) => w.vkey.startsWith(`${w.name}+`), { message: "the verifier key's name must be the witness name", path: ["vkey"] });

export const runtimeSchema = z
  .object({
    image: z.string().min(1).default("ghcr.io/meridian/runtime:latest"),
    replicas: z.number().int().min(1).default(2),
    escrow: escrowSchema,
    ratelimit: z
      .object({
        domain: z.string().default("meridian"),
        /** The estate-wide limit; each region enforces its capacity-weighted share (model/workloads). */
        requestsPerSecond: positive.default(1000),
        /** The managed Redis each region's rate-limit counters live in (issue 10, workloads). */
        redis: redisSchema,
      })
      .strict()
      .prefault({}),
    prooflog: z
      .object({
        origin: z.string().min(1).default("meridian.example/log"),
        /** Witness names, or witnesses the log asks to cosign every checkpoint: `{ name, url, vkey }`. */
        witnesses: z.array(z.union([z.string().min(1), witnessSchema])).default([]),
      })
      .strict()
      .prefault({}),
    /** Ports used by `meridian local` on loopback. */
    local: z.object({ basePort: port.default(7100), dnsPort: port.default(8053), dashboardPort: port.default(7000) }).strict().prefault({}),
  })
  .strict();

export type RuntimeConfig = z.output<typeof runtimeSchema>;
