/**
 * Per-rule statistics as envoyproxy/ratelimit counts them (src/limiter/base_limiter.go): total_hits,
 * over_limit, near_limit (hits past `nearLimitRatio` of the limit, default 0.8), within_limit,
 * shadow_mode (hits a shadow rule would have rejected), over_limit_with_local_cache. Hits are split
 * exactly as there when a hits_addend straddles a threshold. The sink is Prometheus (metrics.ts).
 */
export const STAT_NAMES = ["total_hits", "over_limit", "near_limit", "within_limit", "shadow_mode", "over_limit_with_local_cache"] as const;
export type StatName = (typeof STAT_NAMES)[number];

export interface StatsSink {
  add(domain: string, key: string, stat: StatName, n: number): void;
}

export const NO_STATS: StatsSink = { add: () => {} };

export interface Outcome {
  /** The rule's limit (requests_per_unit). */
  limit: number;
  hits: number;
  /** Counter value before and after this request's hits, as envoyproxy/ratelimit sees them. */
  before: number;
  after: number;
  over: boolean;
  shadow: boolean;
  fromLocalCache: boolean;
}

/** out[k] += n for n > 0. Module-level, not a closure per call: this runs for every level of every request. */
function bump(out: Partial<Record<StatName, number>>, k: StatName, n: number): void {
  if (n > 0) out[k] = (out[k] ?? 0) + n;
}

/** The counts one descriptor's outcome adds, by stat. */
export function countOutcome(o: Outcome, nearLimitRatio: number): Partial<Record<StatName, number>> {
  const out: Partial<Record<StatName, number>> = { total_hits: o.hits };
  const overThreshold = o.limit;
  const nearThreshold = Math.floor(Math.fround(overThreshold * nearLimitRatio));
  if (o.fromLocalCache) {
    bump(out, "over_limit", o.hits);
    bump(out, "over_limit_with_local_cache", o.hits);
    if (o.shadow) bump(out, "shadow_mode", o.hits);
    return out;
  }
  if (o.over) {
    if (o.before >= overThreshold) bump(out, "over_limit", o.hits);
    else {
      bump(out, "over_limit", o.after - overThreshold);
      bump(out, "near_limit", overThreshold - Math.max(nearThreshold, o.before));
    }
    if (o.shadow) bump(out, "shadow_mode", o.before >= overThreshold ? o.hits : o.after - overThreshold);
    return out;
  }
  if (o.after > nearThreshold) bump(out, "near_limit", o.before >= nearThreshold ? o.hits : o.after - nearThreshold);
  bump(out, "within_limit", o.hits);
  return out;
}
