/**
 * The policy pack's vocabulary, independent of @pulumi/policy so rules are plain functions tests call
 * with fabricated resources: a resource rule checks one resource's properties; a stack rule checks all
 * resources together with the cost model. `policies/index.ts` adapts these to CrossGuard; `meridian plan`
 * runs them directly over the mocked program.
 */
import type { CostReport } from "../model/cost/report.js";
import type { TopologyCost } from "../model/cost/egress.js";
import type { EstateSpec } from "../model/estate.js";
import type { PlannedResource } from "../model/resources.js";
import type { PackConfig } from "./config.js";

export { isUnknown, num, present, prop } from "../model/resources.js";

export type EnforcementLevel = "mandatory" | "advisory";

/** What a rule sees of a resource: CrossGuard's `{type, name, urn, props}`, unknowns as UNKNOWN. */
export type ResourceLike = PlannedResource;

/** The cost model as the stack rules read it: the spec, its priced report and every topology's cost. */
export interface ModelView {
  spec: EstateSpec;
  report: CostReport;
  topologies: TopologyCost[];
}

export interface StackContext {
  config: PackConfig;
  /** Null when the stack carries no Meridian model (the rule is then not applicable). */
  model: ModelView | null;
}

export interface Finding {
  message: string;
  /** The resource the finding is about (its URN attributes the violation to it); none for the stack. */
  resource?: { type: string; name: string; urn?: string };
}

interface RuleBase {
  name: string;
  description: string;
  enforcementLevel: EnforcementLevel;
}

export interface ResourceRule extends RuleBase {
  kind: "resource";
  /** Messages for one resource; empty when it passes or the rule does not apply to its type. */
  check(resource: ResourceLike, config: PackConfig): string[];
}

export interface StackRule extends RuleBase {
  kind: "stack";
  /** Reads the cost model; not applicable to a stack that carries none. */
  needsModel?: boolean;
  check(resources: ResourceLike[], ctx: StackContext): Finding[];
}

export type Rule = ResourceRule | StackRule;
