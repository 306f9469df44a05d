/**
 * Anomaly detection on the service's request rates (`anomaly` in its config): every rule's hits, as the
 * stats sink counts them, go to adaptive/anomaly.ts, judged once per interval. What it finds is on
 * `/metrics` — `ratelimit_rate_anomaly_score{domain,key}` (deviations from the rule's baseline, last
 * interval) and `ratelimit_rate_anomalies_total{domain,key,direction}` (spike | drop), which the
 * blueprint's alerts read — in the log, and at `GET /v1/ratelimit/admin/anomalies` for operators.
 * Detection only reports; limits stay what the config says (an operator may block a key, admin.ts).
 */
import type { FastifyInstance } from "fastify";
import { Counter, Gauge, type Registry } from "prom-client";
import { z } from "zod";
import type { Clock } from "../../common/clock.js";
import { HttpError } from "../../kit/index.js";
import { RateAnomalyDetector, type Verdict } from "../adaptive/anomaly.js";
import type { StatName, StatsSink } from "./stats.js";

export const anomalyConfigSchema = z
  .object({
    /** One counting interval (ms). */
    intervalMs: z.number().int().min(100).max(3_600_000).default(10_000),
    /** Baseline memory, in intervals. */
    halfLifeIntervals: z.number().min(1).max(100_000).default(30),
    /** Deviations from the baseline that make an interval anomalous. */
    threshold: z.number().positive().max(1_000).default(6),
    /** Intervals a rule is only learnt before it is judged. */
    warmupIntervals: z.number().int().min(0).max(100_000).default(30),
    /** Rules (stats keys) judged at most; detailed_metric keys carry request values. */
    maxSeries: z.number().int().min(1).max(100_000).default(1_000),
  })
  .strict();
export type AnomalyConfig = z.output<typeof anomalyConfigSchema>;

const SEP = "\u0000";

interface Log {
  warn(obj: object, msg: string): void;
}

export class RateAnomalies implements StatsSink {
  private readonly detector: RateAnomalyDetector;
  private readonly last = new Map<string, Verdict>();
  private readonly score: Gauge<"domain" | "key">;
  private readonly found: Counter<"domain" | "key" | "direction">;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: AnomalyConfig,
    registry: Registry,
    private readonly clock: Clock,
    private readonly log: Log,
  ) {
    this.detector = new RateAnomalyDetector(config);
    this.score = new Gauge({ name: "ratelimit_rate_anomaly_score", help: "a rule's last interval, in deviations from its baseline", labelNames: ["domain", "key"], registers: [registry] });
    this.found = new Counter({
      name: "ratelimit_rate_anomalies_total",
      help: "intervals judged anomalous, by direction (spike, drop)",
      labelNames: ["domain", "key", "direction"],
      registers: [registry],
    });
  }

  add(domain: string, key: string, stat: StatName, n: number): void {
    if (stat === "total_hits") this.detector.record(`${domain}${SEP}${key}`, n);
  }

  /** Close the intervals that ended by now (the timer's work; tests call it with a manual clock). */
  tick(): Verdict[] {
    const verdicts = this.detector.roll(this.clock.now());
    for (const v of verdicts) {
      const [domain = "", key = ""] = v.series.split(SEP);
      this.last.set(v.series, v);
      this.score.set({ domain, key }, v.score);
      if (v.anomaly) {
        this.found.inc({ domain, key, direction: v.anomaly });
        this.log.warn({ domain, key, count: v.count, mean: Math.round(v.mean * 100) / 100, score: Math.round(v.score * 100) / 100 }, `request rate ${v.anomaly}`);
      }
    }
    // Series the detector dropped (decayed to nothing) leave the gauge too.
    for (const series of this.last.keys())
      if (!this.detector.has(series)) {
        const [domain = "", key = ""] = series.split(SEP);
        this.score.remove({ domain, key });
        this.last.delete(series);
      }
    return verdicts;
  }

  start(): void {
    this.tick();
    const next = () => {
      const wait = this.config.intervalMs - (this.clock.now() % this.config.intervalMs);
      this.timer = setTimeout(() => (this.tick(), next()), wait).unref();
    };
    next();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Each judged rule's last interval. */
  report() {
    return {
      intervalMs: this.config.intervalMs,
      threshold: this.config.threshold,
      untrackedHits: this.detector.untracked,
      rules: [...this.last.values()].map((v) => {
        const [domain, key] = v.series.split(SEP);
        return { domain, key, intervalStart: v.intervalStart, count: v.count, mean: v.mean, deviation: v.deviation, score: v.score, anomaly: v.anomaly };
      }),
    };
  }
}

export function installAnomalyRoutes(app: FastifyInstance, anomalies: RateAnomalies | undefined): void {
  app.get("/v1/ratelimit/admin/anomalies", { config: { auth: "operator" } }, async () => {
    if (!anomalies) throw new HttpError(404, "no anomaly detection is configured", "set anomaly in the service config");
    return anomalies.report();
  });
}

/** Hands every count to each sink. */
export function teeStats(...sinks: StatsSink[]): StatsSink {
  return { add: (domain, key, stat, n) => sinks.forEach((s) => s.add(domain, key, stat, n)) };
}
