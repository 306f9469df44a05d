/**
 * The Meridian CrossGuard policy pack: `pulumi preview --policy-pack policies`. The only file that calls
 * `new PolicyPack` (it starts the analyzer's gRPC server). Each plain rule becomes a CrossGuard policy;
 * stack rules read the cost model from the estate's ConfigMap (see model-source.ts). Policy config
 * (`--policy-pack-config`) may set, per policy, `monthlyUSD`, `maxFullMeshRegions`, `maxLinkMonthlyUSD`, ….
 */
import { PolicyPack, type ReportViolation, type ResourceValidationArgs, type ResourceValidationPolicy, type StackValidationArgs, type StackValidationPolicy } from "@pulumi/policy";
import { parsePackConfig } from "./config.js";
import { planned } from "./crossguard.js";
import { modelFromResources } from "./model-source.js";
import { rules } from "./rules/index.js";
import type { Rule } from "./rule.js";

const configSchema = {
  properties: {
    monthlyUSD: { type: "number" as const },
    warnAt: { type: "number" as const },
    maxFullMeshRegions: { type: "integer" as const },
    maxLinkMonthlyUSD: { type: "number" as const },
    databaseMonthlyUSD: { type: "number" as const },
    cacheMonthlyUSD: { type: "number" as const },
    maxFullMeshPremiumOverStar: { type: "number" as const },
    maxFailoverTtlSeconds: { type: "integer" as const },
    maxDetectionSeconds: { type: "integer" as const },
    certificate: { type: "object" as const },
  },
};

function toPolicy(rule: Rule): ResourceValidationPolicy | StackValidationPolicy {
  const base = { name: rule.name, description: rule.description, enforcementLevel: rule.enforcementLevel, configSchema };
  if (rule.kind === "resource") {
    return {
      ...base,
      validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
        const config = parsePackConfig(args.getConfig<object>());
        for (const message of rule.check(planned(args), config)) report(message);
      },
    };
  }
  return {
    ...base,
    validateStack: (args: StackValidationArgs, report: ReportViolation) => {
      const resources = args.resources.map(planned);
      const model = modelFromResources(resources);
      if (rule.needsModel && !model) args.notApplicable("the stack carries no meridian-replication ConfigMap (estate.json)");
      const findings = rule.check(resources, { config: parsePackConfig(args.getConfig<object>()), model });
      for (const f of findings) report(f.message, f.resource?.urn);
    },
  };
}

new PolicyPack("meridian", {
  description: "Meridian cost and safety policies: budget, per-resource cost limits, egress topology, health checks, failover TTLs, mTLS, certificates, private databases.",
  policies: rules.map(toPolicy),
});
