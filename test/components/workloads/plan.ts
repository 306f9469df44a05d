/** The prod plan, evaluated once per test file that asks for it. */
import { evaluateStack, type Plan } from "../../harness.js";

let prod: Promise<Plan> | undefined;
export function prodPlan(): Promise<Plan> {
  prod ??= evaluateStack("prod");
  return prod;
}
