/** Budget: the monthly spend the policy pack holds the stack to. */
import { z } from "zod";
import { positive } from "./vocabulary.js";

/** Per-resource cost ceilings (USD/month): a database or cache priced above its limit is denied. */
const resourceLimitsSchema = z
  .object({
    databaseMonthlyUSD: positive.optional(),
    cacheMonthlyUSD: positive.optional(),
  })
  .strict();

export const budgetSchema = z
  .object({
    monthlyUSD: positive,
    /** Share of the budget at which the advisory warning fires. */
    warnAt: z.number().min(0).max(1).default(0.8),
    limits: resourceLimitsSchema.prefault({}),
    /** A full mesh may cost at most this share more than a star of the same writers (0.25 = 25%). */
    maxFullMeshPremiumOverStar: z.number().min(0).default(0.25),
  })
  .strict();

export type BudgetConfig = z.output<typeof budgetSchema>;
