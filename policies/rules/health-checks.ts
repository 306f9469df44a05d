/**
 * Health-check sanity: intervals the provider accepts, a timeout shorter than the interval, failure
 * thresholds in range, and a detection time (≈ interval × threshold) short enough for failover to
 * matter. One rule over Route 53, Cloud Monitoring/Compute, Traffic Manager and Cloudflare monitors.
 */
import { isUnknown, num, prop, type ResourceRule } from "../rule.js";

/** Inputs the checks below read; one computed from another resource cannot be judged in preview. */
const DECISIVE = [
  "requestInterval",
  "failureThreshold",
  "checkIntervalSec",
  "timeoutSec",
  "unhealthyThreshold",
  "monitorConfig.intervalInSeconds",
  "monitorConfig.timeoutInSeconds",
  "monitorConfig.toleratedNumberOfFailures",
  "interval",
  "timeout",
  "retries",
  "consecutiveDown",
];

export const healthCheckSanity: ResourceRule = {
  kind: "resource",
  name: "meridian-health-check-sanity",
  description: "Health checks use valid intervals, timeout < interval, sane thresholds and bounded detection time.",
  enforcementLevel: "mandatory",
  check(r, config) {
    const out: string[] = [];
    const detection = (seconds: number, how: string) => {
      if (seconds > config.maxDetectionSeconds) out.push(`detects failure after ~${seconds}s (${how}); the limit is ${config.maxDetectionSeconds}s`);
    };
    const p = r.props;
    if (DECISIVE.some((k) => isUnknown(prop(p, k)))) return [];
    switch (r.type) {
      case "aws:route53/healthCheck:HealthCheck": {
        if (prop(p, "type") === "CALCULATED") break;
        const interval = num(p, "requestInterval") ?? 30;
        const threshold = num(p, "failureThreshold") ?? 3;
        if (interval !== 10 && interval !== 30) out.push(`requestInterval ${interval}: Route 53 accepts 10 or 30`);
        if (threshold < 1 || threshold > 10) out.push(`failureThreshold ${threshold}: expected 1-10`);
        detection(interval * threshold, `requestInterval ${interval} × failureThreshold ${threshold}`);
        break;
      }
      case "gcp:compute/healthCheck:HealthCheck": {
        const interval = num(p, "checkIntervalSec") ?? 5;
        const timeout = num(p, "timeoutSec") ?? 5;
        const unhealthy = num(p, "unhealthyThreshold") ?? 2;
        if (timeout > interval) out.push(`timeoutSec ${timeout} exceeds checkIntervalSec ${interval}`);
        if (unhealthy < 1 || unhealthy > 10) out.push(`unhealthyThreshold ${unhealthy}: expected 1-10`);
        detection(interval * unhealthy, `checkIntervalSec ${interval} × unhealthyThreshold ${unhealthy}`);
        break;
      }
      case "azure-native:trafficmanager:Profile": {
        const m = prop(p, "monitorConfig");
        if (m === undefined) break;
        const interval = num(m, "intervalInSeconds") ?? 30;
        const timeout = num(m, "timeoutInSeconds") ?? 10;
        const tolerated = num(m, "toleratedNumberOfFailures") ?? 3;
        if (interval !== 10 && interval !== 30) out.push(`monitorConfig.intervalInSeconds ${interval}: Traffic Manager accepts 10 or 30`);
        if (timeout >= interval) out.push(`monitorConfig.timeoutInSeconds ${timeout} must be shorter than the interval ${interval}`);
        if (tolerated < 0 || tolerated > 9) out.push(`monitorConfig.toleratedNumberOfFailures ${tolerated}: expected 0-9`);
        detection(interval * (tolerated + 1), `interval ${interval} × (tolerated ${tolerated} + 1)`);
        break;
      }
      case "cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor": {
        const interval = num(p, "interval") ?? 60;
        const timeout = num(p, "timeout") ?? 5;
        const retries = num(p, "retries") ?? 2;
        if (timeout >= interval) out.push(`timeout ${timeout} must be shorter than the interval ${interval}`);
        if (retries < 0 || retries > 5) out.push(`retries ${retries}: expected 0-5`);
        const down = num(p, "consecutiveDown") ?? 1;
        detection(interval * down, `interval ${interval} × consecutiveDown ${down}`);
        break;
      }
    }
    return out;
  },
};
