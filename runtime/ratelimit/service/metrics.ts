/**
 * Prometheus metrics for the rate limit service, named as envoyproxy/ratelimit's statsd exporter mapping
 * names them: `ratelimit_service_rate_limit_<stat>_total{domain, key}` per rule (total_hits, over_limit,
 * near_limit, within_limit, shadow_mode, over_limit_with_local_cache), plus config loads, store calls
 * and the local cache. `key` is the rule's stats key; detailed_metric keys carry request values, so the
 * number of series per domain is capped (`maxSeries`), beyond which hits count under `key="_overflow"`.
 */
import { Counter, Gauge, Registry } from "prom-client";
import { STAT_NAMES, type StatName, type StatsSink } from "./stats.js";

export class RateLimitMetrics implements StatsSink {
  readonly registry: Registry;
  private readonly rules: Record<StatName, Counter<"domain" | "key">>;
  private readonly series = new Set<string>();
  readonly configLoads: Counter<"result">;
  readonly storeErrors: Counter;
  readonly requests: Counter<"code">;

  /** `registry`: the kit's (served on /metrics with `service="ratelimit"`), or a private one. */
  constructor(registry?: Registry, private readonly maxSeries = 10_000) {
    this.registry = registry ?? new Registry();
    const reg = [this.registry];
    this.rules = Object.fromEntries(
      STAT_NAMES.map((s) => [s, new Counter({ name: `ratelimit_service_rate_limit_${s}`, help: `envoyproxy/ratelimit ${s} per rule (hits)`, labelNames: ["domain", "key"], registers: reg })]),
    ) as Record<StatName, Counter<"domain" | "key">>;
    this.configLoads = new Counter({ name: "ratelimit_service_config_load", help: "config loads by result (success, error)", labelNames: ["result"], registers: reg });
    this.storeErrors = new Counter({ name: "ratelimit_service_store_errors", help: "requests the store could not decide", registers: reg });
    this.requests = new Counter({ name: "ratelimit_service_should_rate_limit", help: "ShouldRateLimit answers by overall code", labelNames: ["code"], registers: reg });
  }

  add(domain: string, key: string, stat: StatName, n: number): void {
    const id = `${domain}\u0000${key}`;
    if (!this.series.has(id)) {
      if (this.series.size >= this.maxSeries) key = "_overflow";
      else this.series.add(id);
    }
    this.rules[stat].inc({ domain, key }, n);
  }

  /** Gauges read at scrape time (local cache size, store degradation). */
  gauge(name: string, help: string, read: () => number): void {
    new Gauge({ name, help, registers: [this.registry], collect() {
      this.set(read());
    } });
  }

  /** One counter's value (tests and the admin API). */
  async value(stat: StatName, domain: string, key: string): Promise<number> {
    const m = await this.rules[stat].get();
    return m.values.find((v) => v.labels.domain === domain && v.labels.key === key)?.value ?? 0;
  }
}
