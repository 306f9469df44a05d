/**
 * Policy config: the thresholds rules read, with defaults, parsed with zod so a wrong policy config
 * fails naming the key. CrossGuard hands each policy its own config object; Meridian's rules share one
 * shape, and `meridian plan` fills budget and full-mesh limits from the stack when config leaves them out.
 */
import { z } from "zod";

export const packConfigSchema = z
  .object({
    /** Monthly budget (USD); defaults to the stack's `meridian:budget.monthlyUSD`. */
    monthlyUSD: z.number().positive().optional(),
    /** Share of the budget at which the advisory cost table warns. */
    warnAt: z.number().min(0).max(1).optional(),
    /** Forbid a full mesh above this many regions; defaults to `meridian:replication.maxFullMeshRegions`. */
    maxFullMeshRegions: z.number().int().positive().optional(),
    /** Per-resource ceilings (USD/month); default `meridian:budget.limits.*`. */
    databaseMonthlyUSD: z.number().positive().optional(),
    cacheMonthlyUSD: z.number().positive().optional(),
    /** Largest share a full mesh may cost above a star; defaults to `meridian:budget.maxFullMeshPremiumOverStar`. */
    maxFullMeshPremiumOverStar: z.number().min(0).optional(),
    /** Deny any single replication link above this monthly cost (USD). */
    maxLinkMonthlyUSD: z.number().positive().default(5000),
    /** Longest TTL (s) a failover / health-checked record may carry: clients wait this long after failover. */
    maxFailoverTtlSeconds: z.number().int().positive().default(60),
    /** Longest time (s) a health check may take to declare an endpoint down (interval × threshold). */
    maxDetectionSeconds: z.number().int().positive().default(120),
    certificate: z
      .object({
        minDurationHours: z.number().positive().default(1),
        maxDurationHours: z.number().positive().default(2160),
        /** renewBefore as a share of duration: too small risks expiry on a failed renewal, too large churns. */
        minRenewBeforeRatio: z.number().min(0).max(1).default(0.1),
        maxRenewBeforeRatio: z.number().min(0).max(1).default(0.5),
        /** CA certificates (`spec.isCA`) live longer and renew earlier in absolute terms: their own bounds. */
        ca: z
          .object({
            maxDurationHours: z.number().positive().default(87600),
            minRenewBeforeRatio: z.number().min(0).max(1).default(0.05),
            maxRenewBeforeRatio: z.number().min(0).max(1).default(0.5),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
  })
  .loose();

export type PackConfig = z.output<typeof packConfigSchema>;

export function parsePackConfig(raw: unknown): PackConfig {
  const parsed = packConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new Error(`policy config: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  }
  return parsed.data;
}
