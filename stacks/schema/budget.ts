/** Budget: the monthly spend the policy pack holds the stack to. */
import { z } from "zod";
import { positive } from "./common.js";

export const budgetSchema = z
  .object({
    monthlyUSD: positive,
    /** Share of the budget at which the advisory warning fires. */
    warnAt: z.number().min(0).max(1).default(0.8),
  })
  .strict();

export type BudgetConfig = z.output<typeof budgetSchema>;
