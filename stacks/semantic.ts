/**
 * Checks that need the parsed spec and a model's rules, run at load time so their mistakes are reported
 * like every other config problem (file, key, value, expectation) before the program registers anything:
 * the DNS-01 solver settings the zone's provider needs, a time hierarchy every region can satisfy, and
 * health checks aimed at what the regional gateway serves.
 */
import { buildEstateSpec, GATEWAY } from "../model/estate.js";
import { PkiConfigError, dns01Solver } from "../model/rotation/issuers.js";
import { TimeHierarchyError, timeHierarchy } from "../model/time/hierarchy.js";
import type { ConfigProblem } from "../model/config/errors.js";
import type { EstateConfig } from "../model/config/index.js";

export function semanticProblems(config: EstateConfig): ConfigProblem[] {
  const spec = buildEstateSpec("(validation)", config);
  const problems: ConfigProblem[] = [];
  try {
    dns01Solver(spec);
  } catch (err) {
    if (!(err instanceof PkiConfigError)) throw err;
    problems.push({ keyPath: err.keyPath, value: "(missing)", expected: err.expected });
  }
  try {
    timeHierarchy(spec);
  } catch (err) {
    if (!(err instanceof TimeHierarchyError)) throw err;
    for (const line of err.message.split("\n")) problems.push({ keyPath: "meridian:time", value: JSON.stringify({ leapSmear: config.time.leapSmear, grandmaster: config.time.grandmaster.enabled, references: config.time.references.map((r) => r.server) }), expected: line });
  }
  problems.push(...healthCheckProblems(config));
  return problems;
}

/**
 * The DNS providers' checks reach each region through its gateway, which serves HTTPS on GATEWAY.port only
 * (components/workloads/gateway-manifests.ts). A check on another port or over plain HTTP fails in every
 * region, and the providers then fail open: no failover. `meridian local` serves its own checks.
 */
function healthCheckProblems(config: EstateConfig): ConfigProblem[] {
  const hc = config.dns.healthCheck;
  if (config.environment === "local" || (hc.port === GATEWAY.port && hc.protocol !== "HTTP")) return [];
  return [{
    keyPath: "meridian:dns.healthCheck",
    value: JSON.stringify({ protocol: hc.protocol, port: hc.port }),
    expected: `HTTPS (or TCP) on port ${GATEWAY.port}: the regional gateway serves only HTTPS there, so this check would fail in every region and every provider would fail open`,
  }];
}
