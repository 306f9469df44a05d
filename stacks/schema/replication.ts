/**
 * Replication: which regions write (tier 1), how replicas are arranged, and how much each writer
 * produces per month — the inputs of the egress cost model. The replication issue (§14.3) owns the details.
 */
import { z } from "zod";
import { nonNegative, slug } from "./common.js";

export const topologies = ["full-mesh", "star", "regional", "hierarchical"] as const;
export type Topology = (typeof topologies)[number];

export const replicationSchema = z
  .object({
    topology: z.enum(topologies).default("hierarchical"),
    /** Tier-1 writer region ids. */
    writers: z.array(slug).min(1),
    /** GB written per month per writer region (replicated to every other region by the topology). */
    writeGBPerMonth: z.record(slug, nonNegative),
    engine: z.literal("postgres").default("postgres"),
    /** Forbid a full mesh above this many regions (policy pack). */
    maxFullMeshRegions: z.number().int().positive().default(4),
  })
  .strict();

export type ReplicationConfig = z.output<typeof replicationSchema>;
