/**
 * SLO burn-rate shedding wired into the rate limit service (`burnRate` in its config). Outcomes of the
 * protected service are reported to `POST /v1/ratelimit/outcomes` (by a trusted caller: the RLS callers or
 * an operator) and feed a BurnRateThrottle (adaptive/burn-rate.ts). While a window pair burns the error
 * budget too fast, sheddable requests are answered OVER_LIMIT with probability 1 − admitted fraction, before
 * any counter is charged; requests carrying the critical descriptor entry always go on to the limits.
 */
import { z } from "zod";
import { BurnRateThrottle } from "../adaptive/burn-rate.js";
import type { RlsRequest } from "./types.js";

export const burnRateConfigSchema = z
  .object({
    /** The SLO, e.g. 0.999: the error budget is 1 − objective. */
    objective: z.number().gt(0).lt(1),
    /** Window pairs; default the SRE workbook's (1 h & 5 min at 14.4×, 6 h & 30 min at 6×). */
    windows: z
      .array(z.object({ longMs: z.number().int().positive(), shortMs: z.number().int().positive(), burnRate: z.number().positive(), admit: z.number().min(0).max(1) }).strict())
      .min(1)
      .optional(),
    bucketMs: z.number().int().min(100).optional(),
    recoveryStep: z.number().gt(0).max(1).optional(),
    recoveryIntervalMs: z.number().int().positive().optional(),
    /** A request with a descriptor entry of this key (and value, when given) is never shed. */
    critical: z
      .object({ key: z.string().min(1), value: z.string().optional() })
      .strict()
      .optional(),
  })
  .strict()
  .refine((c) => (c.windows ?? []).every((w) => w.shortMs < w.longMs), { message: "each window's shortMs must be below its longMs", path: ["windows"] });
export type BurnRateConfig = z.output<typeof burnRateConfigSchema>;

export class LoadShedder {
  private readonly throttle: BurnRateThrottle;
  shed = 0;

  constructor(
    private readonly c: BurnRateConfig,
    private readonly random: () => number = Math.random,
  ) {
    this.throttle = new BurnRateThrottle({ objective: c.objective, windows: c.windows, bucketMs: c.bucketMs, recoveryStep: c.recoveryStep, recoveryIntervalMs: c.recoveryIntervalMs });
  }

  record(now: number, good: number, bad: number): void {
    this.throttle.record(now, good, bad);
  }

  admitFraction(now: number): number {
    return this.throttle.admitFraction(now);
  }

  /** True when this request is to be answered OVER_LIMIT without consulting the limits. */
  shouldShed(req: RlsRequest, now: number): boolean {
    const critical = this.c.critical;
    const isCritical = critical !== undefined && req.descriptors.some((d) => d.entries.some((e) => e.key === critical.key && (critical.value === undefined || e.value === critical.value)));
    if (this.throttle.shouldAdmit(now, isCritical, this.random)) return false;
    this.shed++;
    return true;
  }
}
