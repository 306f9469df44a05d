/**
 * The test harness every component test uses: evaluate the real program for a stack file under the
 * recording mock runtime, then query what it registered.
 */
import { planStack, type Plan, type PlanOptions } from "../components/preview/plan.js";
import type { RecordedResource } from "../components/preview/mock-runtime.js";

export { COMPUTED } from "../components/preview/mock-runtime.js";
export type { Plan, RecordedResource };

/** Evaluate a stack; `cloudValues: "fake"` by default so values flow between resources in tests. */
export function evaluateStack(stack: string, options: PlanOptions = {}): Promise<Plan> {
  return planStack(stack, { cloudValues: "fake", ...options });
}

const shared = new Map<string, Promise<Plan>>();

/** Freeze a plan all through, so a test that would change a shared plan in place fails where it does. */
function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * A stack's plan with its own config, evaluated once however many tests, describe blocks and test files read
 * it: this module's state lives as long as the worker, and the files of vitest.config.ts's shared project run
 * one after another in the same worker. Frozen (read-only): a test that needs a variation evaluates its own.
 */
export function sharedPlan(stack: string): Promise<Plan> {
  let plan = shared.get(stack);
  if (!plan) shared.set(stack, (plan = evaluateStack(stack).then(deepFreeze)));
  return plan;
}

export function ofType(plan: Plan, type: string): RecordedResource[] {
  return plan.resources.filter((r) => r.type === type);
}

export function byName(plan: Plan, type: string, name: string): RecordedResource {
  const found = plan.resources.find((r) => r.type === type && r.name === name);
  if (!found)
    throw new Error(
      `no ${type} named ${name}; have ${
        ofType(plan, type)
          .map((r) => r.name)
          .join(", ") || "none"
      }`,
    );
  return found;
}

/** Resources whose parent chain includes the component of the given type and name. */
export function under(plan: Plan, componentType: string, componentName: string): RecordedResource[] {
  const root = byName(plan, componentType, componentName);
  const byUrn = new Map(plan.resources.map((r) => [r.urn, r]));
  return plan.resources.filter((r) => {
    for (let p = r.parent; p; p = byUrn.get(p)?.parent ?? null) if (p === root.urn) return true;
    return false;
  });
}
