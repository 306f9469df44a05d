/** The prod plan, evaluated once however many test files ask for it (the harness's shared, read-only plan). */
import { sharedPlan, type Plan } from "../../harness.js";

export function prodPlan(): Promise<Plan> {
  return sharedPlan("prod");
}
