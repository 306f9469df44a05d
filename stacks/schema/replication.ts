/**
 * Replication: which regions write (tier 1), how replicas are arranged, how much each writer produces
 * per month — the inputs of the egress cost model (§14.3) — and the private networks the managed
 * databases attach to (they never get a public endpoint).
 */
import { z } from "zod";
import { nonNegative, slug } from "./common.js";

export const topologies = ["full-mesh", "star", "regional", "hierarchical"] as const;
export type Topology = (typeof topologies)[number];

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
        resourceGroupName: z.string().min(1).default("meridian"),
        /** Delegated subnet id per server; `{region}` is replaced by the Azure region code. */
        delegatedSubnetIdTemplate: z
          .string()
          .includes("{region}", { message: "expected a template containing {region}" })
          .default("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/meridian/providers/Microsoft.Network/virtualNetworks/meridian-{region}/subnets/postgres"),
        privateDnsZoneArmResourceId: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export const replicationSchema = z
  .object({
    topology: z.enum(topologies).default("hierarchical"),
    /** Tier-1 writer region ids; the first is the star topology's hub. */
    writers: z.array(slug).min(1),
    /** GB written per month per writer region (replicated by the topology); a writer without an entry writes 0. */
    writeGBPerMonth: z.record(slug, nonNegative),
    engine: z.literal("postgres").default("postgres"),
    /** Forbid a full mesh above this many regions (policy pack). */
    maxFullMeshRegions: z.number().int().positive().default(4),
    network: networkSchema.prefault({}),
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
