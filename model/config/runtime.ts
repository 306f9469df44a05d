/**
 * Runtime services deployed onto every regional cluster: escrow, rate limiting, proof log and clock.
 * Each service issue owns its block.
 */
import { z } from "zod";
import { port, positive } from "./vocabulary.js";
import { escrowSchema } from "./escrow.js";

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
