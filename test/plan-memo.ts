/**
 * components/preview/plan.js with planStack evaluated once per identical input in the files that ask for it in one
 * worker (vitest.config.ts's shared project runs several in one process): the same stack name, stack file path and
 * file contents, and options. A prod plan is seconds of CPU, and a file that runs several
 * commands over the same unchanged stack (`cost` as JSON and as a table, `plan` as text and as JSON) would evaluate
 * the same deterministic program again for each; every command still runs whole over the plan it gets. A changed
 * stack file (MERIDIAN_STACKS_DIR, edited contents) is a different input and is planned afresh. The plan is frozen
 * all through, so a command that changed it in place would fail here rather than pass on a stale copy. In a test file:
 *
 *   vi.mock("../../components/preview/plan.js", async (original) => (await import("../plan-memo.js")).memoizePlans(await original()));
 */
import type * as PlanModule from "../components/preview/plan.js";
import { readFileSync } from "node:fs";
import { stackFile } from "../stacks/load.js";

type Module = typeof PlanModule;

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** On the worker's global object: each test file evaluates this module afresh, the plans stay valid across them. */
const plans = ((globalThis as { meridianPlanMemo?: Map<string, ReturnType<Module["planStack"]>> }).meridianPlanMemo ??= new Map());

export function memoizePlans(original: Module): Module {
  const planStack: Module["planStack"] = (stack, options = {}) => {
    let contents: string;
    try {
      contents = readFileSync(stackFile(stack), "utf8");
    } catch {
      return original.planStack(stack, options); // no such stack: the original names the mistake
    }
    const key = JSON.stringify([stack, stackFile(stack), contents, options]);
    let plan = plans.get(key);
    if (!plan) {
      plan = original.planStack(stack, options).then(deepFreeze);
      plans.set(key, plan);
      plan.catch(() => plans.delete(key)); // a refusal is evaluated again, as it would be
    }
    return plan;
  };
  return { ...original, planStack };
}
