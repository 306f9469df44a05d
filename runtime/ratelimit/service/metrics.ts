/**
 * Prometheus metrics for the rate limit service, named as envoyproxy/ratelimit's statsd exporter mapping
 * names them: `ratelimit_service_rate_limit_<stat>_total{domain, key}` per rule (total_hits, over_limit,
 * near_limit, within_limit, shadow_mode, over_limit_with_local_cache), plus config loads, store calls
 * and the local cache. `key` is the rule's stats key; detailed_metric keys carry request values, so the
 * number of series per domain is capped (`maxSeries`), beyond which hits count under `key="_overflow"`.
 */
import { Counter, Gauge, Registry } from "prom-client";
import { STAT_NAMES, type StatName, type StatsSink } from "./stats.js";

const STAT_INDEX = Object.fromEntries(STAT_NAMES.map((s, i) => [s, i])) as Record<StatName, number>;

export class RateLimitMetrics implements StatsSink {
  readonly registry: Registry;
  private readonly rules: Record<StatName, Counter<"domain" | "key">>;
  /** Per series (domain, key): hits not yet handed to prom-client, by STAT_NAMES index. */
  private readonly pending = new Map<string, { domain: string; key: string; counts: number[] }>();
  readonly configLoads: Counter<"result">;
  readonly storeErrors: Counter;
  readonly requests: Counter<"code">;

  /** `registry`: the kit's (served on /metrics with `service="ratelimit"`), or a private one. */
  constructor(
    registry?: Registry,
    private readonly maxSeries = 10_000,
  ) {
    this.registry = registry ?? new Registry();
    const reg = [this.registry];
    const pending = this.pending;
    this.rules = Object.fromEntries(
      STAT_NAMES.map((s, i) => [
        s,
        new Counter({
          name: `ratelimit_service_rate_limit_${s}`,
          help: `envoyproxy/ratelimit ${s} per rule (hits)`,
          labelNames: ["domain", "key"],
          registers: reg,
          // Hits accumulate per series in plain numbers and reach prom-client when it is read (a scrape,
          // value()): its inc(labels) hashes the labels, once per series per read instead of per request.
          collect() {
            for (const p of pending.values())
              if (p.counts[i]! > 0) {
                this.inc({ domain: p.domain, key: p.key }, p.counts[i]!);
                p.counts[i] = 0;
              }
          },
        }),
      ]),
    ) as Record<StatName, Counter<"domain" | "key">>;
    this.configLoads = new Counter({ name: "ratelimit_service_config_load", help: "config loads by result (success, error)", labelNames: ["result"], registers: reg });
    this.storeErrors = new Counter({ name: "ratelimit_service_store_errors", help: "requests the store could not decide", registers: reg });
    this.requests = new Counter({ name: "ratelimit_service_should_rate_limit", help: "ShouldRateLimit answers by overall code", labelNames: ["code"], registers: reg });
  }

  /** The series the last add() went to: a request's outcomes come in runs for one rule. */
  private last: { domain: string; key: string; counts: number[] } | undefined;

  add(domain: string, key: string, stat: StatName, n: number): void {
    const last = this.last;
    if (last !== undefined && last.key === key && last.domain === domain) {
      const i = STAT_INDEX[stat];
      last.counts[i] = last.counts[i]! + n;
      return;
    }
    let id = `${domain}\u0000${key}`;
    let p = this.pending.get(id);
    if (p === undefined) {
      if (this.pending.size >= this.maxSeries) {
        key = "_overflow";
        id = `${domain}\u0000${key}`;
        p = this.pending.get(id);
      }
      if (p === undefined) this.pending.set(id, (p = { domain, key, counts: new Array<number>(STAT_NAMES.length).fill(0) }));
    }
    // Series are never dropped, so the remembered one stays the map's. An overflowed key is not remembered:
    // its (domain, key) is not the series' own.
    if (p.key === key) this.last = p;
    const i = STAT_INDEX[stat];
    p.counts[i] = p.counts[i]! + n;
  }

  /** Gauges read at scrape time (local cache size, store degradation). */
  gauge(name: string, help: string, read: () => number): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }

  /** Counters kept elsewhere (global limits' allocator calls), read at scrape time. */
  counter(name: string, help: string, read: () => number): void {
    new Counter({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  }

  /** One counter's value (tests and the admin API). */
  async value(stat: StatName, domain: string, key: string): Promise<number> {
    const m = await this.rules[stat].get();
    return m.values.find((v) => v.labels.domain === domain && v.labels.key === key)?.value ?? 0;
  }
}
