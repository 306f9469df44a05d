/**
 * AIMD throttling wired into the rate limit service (`aimd` in its config): an adaptive admission rate
 * in front of the limits. Each replica admits at most `limit` sheddable requests per second (a token
 * bucket holding one second's worth), and the limit moves by AIMD (adaptive/aimd.ts) on the signals the
 * service is given: outcomes of the protected service reported to `POST /v1/ratelimit/outcomes`
 * (`{good, bad, latenciesMs?, backpressure?}`, by the RLS callers or an operator) — an interval whose
 * error rate or latency percentile is over its threshold, or that carried backpressure, cuts the limit by
 * `decrease`; a healthy interval whose admissions reached `utilisation` of the limit raises it by
 * `increase`. A throttled request is answered OVER_LIMIT before any counter is charged; requests with
 * the `critical` descriptor entry, and requests of domains not listed in `domains`, are never throttled.
 * The limit is per replica: each replica adapts to the outcomes reported to it.
 */
import { z } from "zod";
import { AimdLimiter } from "../adaptive/aimd.js";
import type { RlsRequest } from "./types.js";

export const aimdConfigSchema = z
  .object({
    /** Requests per second this replica admits at start, and the range the limit moves in. */
    initial: z.number().positive(),
    min: z.number().positive(),
    max: z.number().positive(),
    /** Added per healthy interval whose admissions reached `utilisation` of the limit. */
    increase: z.number().positive(),
    /** Factor applied on congestion (0 < decrease < 1). */
    decrease: z.number().gt(0).lt(1),
    intervalMs: z.number().int().min(100).max(3_600_000).default(1000),
    /** Latency above this at `percentile` is congestion. */
    latencyTargetMs: z.number().positive(),
    percentile: z.number().gt(0).max(1).optional(),
    /** Error rate above this is congestion (default 0.05). */
    errorRateThreshold: z.number().min(0).max(1).optional(),
    utilisation: z.number().gt(0).max(1).optional(),
    /** Domains whose requests are throttled (default: every domain). */
    domains: z.array(z.string().min(1)).min(1).optional(),
    /** A request with a descriptor entry of this key (and value, when given) is never throttled. */
    critical: z
      .object({ key: z.string().min(1), value: z.string().optional() })
      .strict()
      .optional(),
  })
  .strict()
  .refine((c) => c.min <= c.initial && c.initial <= c.max, { message: "expected min ≤ initial ≤ max", path: ["initial"] });
export type AimdConfig = z.output<typeof aimdConfigSchema>;

export interface Outcomes {
  good: number;
  bad: number;
  latenciesMs?: readonly number[];
  backpressure?: boolean;
}

export class AimdThrottle {
  readonly aimd: AimdLimiter;
  private tokens: number;
  private last = -Infinity;
  throttled = 0;

  constructor(private readonly c: AimdConfig) {
    this.aimd = new AimdLimiter({
      initial: c.initial,
      min: c.min,
      max: c.max,
      increase: c.increase,
      decrease: c.decrease,
      intervalMs: c.intervalMs,
      latencyTargetMs: c.latencyTargetMs,
      percentile: c.percentile,
      errorRateThreshold: c.errorRateThreshold,
      utilisation: c.utilisation,
    });
    this.tokens = c.initial;
  }

  /** The current limit (requests per second), after closing the intervals that ended by `now`. */
  limit(now: number): number {
    this.aimd.roll(now);
    return this.aimd.limit;
  }

  record(o: Outcomes, now: number): void {
    this.aimd.record(o, now);
    if (o.backpressure) this.aimd.signalBackpressure(now);
  }

  /** True when this request is to be answered OVER_LIMIT without consulting the limits. */
  shouldShed(req: RlsRequest, now: number): boolean {
    if (this.c.domains && !this.c.domains.includes(req.domain)) return false;
    const critical = this.c.critical;
    if (critical && req.descriptors.some((d) => d.entries.some((e) => e.key === critical.key && (critical.value === undefined || e.value === critical.value)))) return false;
    const limit = this.limit(now);
    // A bucket of one second's worth at the current limit; time never runs backwards for it.
    if (now > this.last) {
      this.tokens = this.last === -Infinity ? limit : Math.min(limit, this.tokens + ((now - this.last) * limit) / 1000);
      this.last = now;
    } else this.tokens = Math.min(limit, this.tokens);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.aimd.admit(1, now);
      return false;
    }
    this.throttled++;
    return true;
  }
}
