/**
 * Running the rules without CrossGuard: over a list of resources plus the cost model, returning every
 * violation with its rule, level and resource. `meridian plan` and the tests use this; `index.ts` gives
 * the same rules to CrossGuard.
 */
import { compareTopologies } from "../model/cost/egress.js";
import { buildCostReport, replicationInput, type CostReportOptions } from "../model/cost/report.js";
import type { EstateSpec } from "../model/estate.js";
import { parsePackConfig } from "./config.js";
import { rules as allRules } from "./rules/index.js";
import type { EnforcementLevel, ModelView, ResourceLike, Rule } from "./rule.js";

export interface Violation {
  policy: string;
  enforcementLevel: EnforcementLevel;
  message: string;
  resource?: { type: string; name: string; urn?: string };
}

/** The cost model over a stack's spec and the plan's resources (the pack and `meridian plan` price the same way). */
export function modelView(spec: EstateSpec, options: CostReportOptions = {}): ModelView {
  return { spec, report: buildCostReport(spec, { generatedAt: new Date().toISOString(), ...options }), topologies: compareTopologies(replicationInput(spec)) };
}

export function evaluatePolicies(resources: ResourceLike[], model: ModelView | null, rawConfig: unknown = {}, rules: Rule[] = allRules): Violation[] {
  const config = parsePackConfig(rawConfig);
  const out: Violation[] = [];
  for (const rule of rules) {
    if (rule.kind === "resource") {
      for (const r of resources) {
        for (const message of rule.check(r, config)) {
          out.push({ policy: rule.name, enforcementLevel: rule.enforcementLevel, message, resource: { type: r.type, name: r.name, urn: r.urn } });
        }
      }
    } else {
      for (const f of rule.check(resources, { config, model })) {
        out.push({
          policy: rule.name,
          enforcementLevel: rule.enforcementLevel,
          message: f.message,
          ...(f.resource ? { resource: { type: f.resource.type, name: f.resource.name, urn: f.resource.urn } } : {}),
        });
      }
    }
  }
  return out;
}
