// The rate limiter's anomaly settings: one stack value feeds both the service's config and its alerts.
import { describe, expect, it } from "vitest";
import { buildEstateSpec } from "../../../model/estate.js";
import { RUNTIME_SERVICES } from "../../../model/services.js";
import { workloadSpec } from "../../../model/workloads/spec.js";
import { parseEstateConfig, readStackConfigMap } from "../../../stacks/load.js";

const ratelimit = RUNTIME_SERVICES.find((s) => s.name === "ratelimit")!;
const withAnomaly = (anomaly: Record<string, unknown>) => {
  const config = readStackConfigMap("dev");
  const runtime = (config["meridian:runtime"] ?? {}) as Record<string, unknown>;
  const rl = (runtime["ratelimit"] ?? {}) as Record<string, unknown>;
  return { ...config, "meridian:runtime": { ...runtime, ratelimit: { ...rl, anomaly } } };
};
const spec = (anomaly: Record<string, unknown>) => buildEstateSpec("dev", parseEstateConfig(withAnomaly(anomaly), "dev"));

describe("rate-limit anomaly settings", () => {
  it("reach the service's config file and its alert thresholds", () => {
    const s = spec({ threshold: 8, intervalMs: 5_000, alertIntervals: 4, alertWindowMinutes: 2 });
    const w = workloadSpec(s, s.regions[0]!.id, ratelimit);
    expect(JSON.parse(w.config["ratelimit.json"]!).anomaly).toEqual({ intervalMs: 5_000, halfLifeIntervals: 30, threshold: 8, warmupIntervals: 30 });
    expect(w.alerts.map((a) => a.expr)).toEqual([
      'sum by (domain, key) (increase(ratelimit_rate_anomalies_total{direction="spike"}[2m])) >= 4',
      'sum by (domain, key) (increase(ratelimit_rate_anomalies_total{direction="drop"}[2m])) >= 4',
    ]);
  });

  it("are off entirely when disabled: no detector, no alerts", () => {
    const s = spec({ enabled: false });
    const w = workloadSpec(s, s.regions[0]!.id, ratelimit);
    expect(JSON.parse(w.config["ratelimit.json"]!).anomaly).toBeUndefined();
    expect(w.alerts).toEqual([]);
  });

  it("refuses an alert that could never fire, naming the field", () => {
    expect(() => spec({ intervalMs: 60_000, alertIntervals: 10, alertWindowMinutes: 5 })).toThrow(/alertIntervals/);
  });
});
